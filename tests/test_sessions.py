"""Sessions (OWASP ASVS V7): logout and password change make a copied cookie useless, idle and
absolute lifetimes are enforced on the server, htmx gets HX-Redirect, cookie flags, login
throttling per account and per address, and what the log says (never a password)."""
import logging
import time
from datetime import timedelta

import pytest

from portal import create_app
from tests.conftest import PASSWORD


@pytest.fixture
def user(make_user):
    return make_user("sekretaris", full_name="Dewi Lestari")


def log_in(client, username="sekretaris", password=PASSWORD, address="10.0.0.1"):
    return client.post("/masuk", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def replay(app, cookie):
    other = app.test_client()
    other.set_cookie("portal_session", cookie)
    return other


def shift_session(client, **seconds_ago):
    """Pretend the session's recorded times lie ``seconds_ago`` in the past."""
    with client.session_transaction() as sess:
        for key, ago in seconds_ago.items():
            sess[key] = int(time.time()) - ago


def test_logout_makes_a_copied_cookie_useless(app, client, user):
    assert log_in(client).status_code == 302
    cookie = client.get_cookie("portal_session").value
    assert replay(app, cookie).get("/").status_code == 200  # the copy works while logged in
    client.post("/keluar")
    r = replay(app, cookie).get("/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/masuk")


def test_a_fresh_login_after_logout_works(client, user):
    log_in(client)
    client.post("/keluar")
    assert log_in(client).status_code == 302
    assert client.get("/").status_code == 200


def test_idle_session_ends_with_a_message(app, client, user):
    log_in(client)
    idle = int(app.config["SESSION_IDLE_TIMEOUT"].total_seconds())
    shift_session(client, seen_at=idle - 120)
    assert client.get("/").status_code == 200  # still inside the idle window
    shift_session(client, seen_at=idle + 5)
    r = client.get("/kampung/")
    assert r.status_code == 302 and r.headers["Location"] == "/masuk?next=/kampung/"
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Sesi Anda berakhir karena tidak aktif terlalu lama" in page
    assert client.get("/").status_code == 302  # logged out for good, not just this request


def test_activity_keeps_the_session_alive(app, client, user):
    log_in(client)
    idle = int(app.config["SESSION_IDLE_TIMEOUT"].total_seconds())
    shift_session(client, seen_at=idle - 30)
    assert client.get("/").status_code == 200
    with client.session_transaction() as sess:
        assert int(time.time()) - sess["seen_at"] < 5  # refreshed by that request


def test_absolute_lifetime_ends_an_active_session(app, client, user):
    log_in(client)
    absolute = int(app.config["SESSION_ABSOLUTE_TIMEOUT"].total_seconds())
    shift_session(client, login_at=absolute + 5, seen_at=10)  # busy a moment ago, but too old
    r = client.get("/")
    assert r.status_code == 302
    assert "Sesi Anda berakhir karena sudah terlalu lama" in client.get(r.headers["Location"]).get_data(as_text=True)


def test_lifetimes_can_be_set_in_seconds_from_the_environment(monkeypatch):
    monkeypatch.setenv("PORTAL_SESSION_IDLE_TIMEOUT", "900")
    monkeypatch.setenv("PORTAL_SESSION_ABSOLUTE_TIMEOUT", "3600")
    app = create_app({"TESTING": True})
    assert app.permanent_session_lifetime == timedelta(hours=1)
    client = app.test_client()
    with app.app_context():
        from portal.extensions import db
        db.create_all()
        from portal.models import User
        user = User(username="sekretaris", full_name="Dewi")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        log_in(client)
        shift_session(client, seen_at=800)
        assert client.get("/").status_code == 200
        shift_session(client, seen_at=1000)
        assert client.get("/").status_code == 302


def test_lifetimes_are_sane(app):
    assert timedelta(minutes=15) <= app.config["SESSION_IDLE_TIMEOUT"] <= timedelta(hours=2)
    assert app.config["SESSION_ABSOLUTE_TIMEOUT"] <= timedelta(hours=12)
    assert app.config["PERMANENT_SESSION_LIFETIME"] <= app.config["SESSION_ABSOLUTE_TIMEOUT"]


def test_expired_session_in_htmx_gets_hx_redirect_not_a_login_form(app, client, user):
    log_in(client)
    shift_session(client, seen_at=int(app.config["SESSION_IDLE_TIMEOUT"].total_seconds()) + 5)
    r = client.get("/kampung/", headers={"HX-Request": "true"})
    assert r.status_code == 401
    assert r.headers["HX-Redirect"] == "/masuk?next=/kampung/"
    assert r.get_data() == b""


def test_session_cookie_flags(client, user):
    r = log_in(client)
    cookies = [c for c in r.headers.getlist("Set-Cookie") if c.startswith("portal_session=")]
    assert cookies and "HttpOnly" in cookies[0] and "SameSite=Lax" in cookies[0]
    assert "Secure" not in cookies[0]  # plain http on 127.0.0.1 in development
    assert not any(c.startswith("remember_token=") for c in r.headers.getlist("Set-Cookie"))


def test_production_cookies_are_secure(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    app = create_app("production")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["REMEMBER_COOKIE_DURATION"] == timedelta(0)  # remember-me is off


# -- throttling -------------------------------------------------------------------------------

def failures_allowed(app, name):
    return int(app.config[name].split(" per ")[0])


def test_account_is_throttled_after_failed_logins(app, client, user):
    allowed = failures_allowed(app, "LOGIN_ACCOUNT_LIMIT")
    for n in range(allowed):  # from changing addresses: the account limit still applies
        assert log_in(client, password="salah", address=f"10.0.1.{n}").status_code == 422
    r = log_in(client, address="10.0.2.1")  # even the right password waits now
    assert r.status_code == 429
    body = r.get_data(as_text=True)
    assert "Terlalu banyak percobaan masuk yang gagal" in body
    assert 'value="sekretaris"' in body  # the username is kept
    with client.session_transaction() as sess:
        assert "_user_id" not in sess


def test_account_throttle_does_not_lock_out_other_accounts(app, client, user, make_user):
    make_user("ketua")
    for _ in range(failures_allowed(app, "LOGIN_ACCOUNT_LIMIT")):
        log_in(client, password="salah")
    assert log_in(client, username="ketua").status_code == 302


def test_successful_logins_do_not_count(app, client, user):
    for _ in range(failures_allowed(app, "LOGIN_ACCOUNT_LIMIT") + 2):
        assert log_in(client).status_code == 302
        client.post("/keluar")


def test_address_is_throttled_across_accounts(app, client, user, make_user):
    app.config["LOGIN_ADDRESS_LIMIT"] = "4 per 15 minutes"
    make_user("ketua")
    for n in range(4):  # a different made-up account each time: the account limit never trips
        assert log_in(client, username=f"tebakan{n}", password="salah", address="10.9.9.9").status_code == 422
    assert log_in(client, username="ketua", address="10.9.9.9").status_code == 429
    assert log_in(client, username="ketua", address="10.9.9.10").status_code == 302


def test_failed_login_is_logged_without_the_password(app, client, user, caplog):
    with caplog.at_level(logging.WARNING):
        log_in(client, password="Rahasia-Sekali-99")
        for _ in range(failures_allowed(app, "LOGIN_ACCOUNT_LIMIT")):
            log_in(client, password="Rahasia-Sekali-99")
    text = caplog.text
    assert "login failed for 'sekretaris' from 10.0.0.1" in text
    assert "login throttled" in text
    assert "Rahasia-Sekali-99" not in text


def test_refused_action_is_logged(client, user, caplog):
    log_in(client)
    with caplog.at_level(logging.WARNING):
        assert client.get("/akun/").status_code == 403
    assert "refused 403" in caplog.text and "/akun/" in caplog.text


def test_forwarded_address_is_trusted_only_behind_a_configured_proxy():
    seen = []
    for hops in (0, 1):
        app = create_app({"TESTING": True, "TRUSTED_PROXIES": hops})

        @app.get("/_alamat")
        def _address():
            from flask import request
            return request.remote_addr

        seen.append(app.test_client().get("/_alamat", headers={"X-Forwarded-For": "203.0.113.9"},
                                          environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_data(as_text=True))
    assert seen == ["127.0.0.1", "203.0.113.9"]

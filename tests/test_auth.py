"""Login, logout, sessions and own-profile screens."""
import pytest

from tests.conftest import PASSWORD


@pytest.fixture
def user(make_user):
    return make_user("sekretaris", full_name="Dewi Lestari")


def test_login_and_logout(client, user):
    r = client.post("/masuk", data={"username": "Sekretaris ", "password": PASSWORD})
    assert r.status_code == 302 and r.headers["Location"] == "/"
    assert "Dewi Lestari" in client.get("/").get_data(as_text=True)
    r = client.post("/keluar", follow_redirects=True)
    assert "Anda telah keluar." in r.get_data(as_text=True)
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("username,password", [("sekretaris", "salah-sandi"), ("tidak.ada", PASSWORD)])
def test_wrong_credentials_give_one_clear_message(client, user, username, password):
    r = client.post("/masuk", data={"username": username, "password": password})
    body = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "Nama pengguna atau kata sandi salah" in body
    assert f'value="{username}"' in body  # the username typed is kept


def test_inactive_account_cannot_log_in(client, make_user):
    make_user("nonaktif", active=False)
    r = client.post("/masuk", data={"username": "nonaktif", "password": PASSWORD})
    assert r.status_code == 422


def test_empty_form_explains_each_field(client):
    body = client.post("/masuk", data={}).get_data(as_text=True)
    assert body.count("Wajib diisi.") == 2


@pytest.mark.parametrize("target,expected", [
    ("/kampung/", "/kampung/"),
    ("https://evil.example/", "/"),
    ("//evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
    ("http:/evil.example", "/"),
])
def test_next_only_redirects_to_local_paths(client, user, target, expected):
    r = client.post("/masuk", query_string={"next": target}, data={"username": "sekretaris", "password": PASSWORD})
    assert r.headers["Location"] == expected


def test_login_starts_a_new_session(client, user):
    with client.session_transaction() as sess:
        sess["planted"] = "by-attacker"
    client.post("/masuk", data={"username": "sekretaris", "password": PASSWORD})
    with client.session_transaction() as sess:
        assert "planted" not in sess


def test_password_change_ends_other_sessions(app, client, user):
    other = app.test_client()
    other.post("/masuk", data={"username": "sekretaris", "password": PASSWORD})
    client.post("/masuk", data={"username": "sekretaris", "password": PASSWORD})
    r = client.post("/profil/kata-sandi", data={"current": PASSWORD, "new": "sandi-baru-456", "confirm": "sandi-baru-456"})
    assert r.status_code == 302
    assert client.get("/").status_code == 200  # this session continues
    assert other.get("/").status_code == 302  # the other device is logged out
    client.post("/keluar")
    assert client.post("/masuk", data={"username": "sekretaris", "password": "sandi-baru-456"}).status_code == 302


def test_logged_out_cookie_cannot_be_replayed(app, client, user):
    client.post("/masuk", data={"username": "sekretaris", "password": PASSWORD})
    cookie = client.get_cookie("portal_session").value
    client.post("/profil/kata-sandi", data={"current": PASSWORD, "new": "sandi-baru-456", "confirm": "sandi-baru-456"})
    replay = app.test_client()
    replay.set_cookie("portal_session", cookie)
    assert replay.get("/").status_code == 302


def test_password_change_errors(client, user):
    client.post("/masuk", data={"username": "sekretaris", "password": PASSWORD})
    r = client.post("/profil/kata-sandi", data={"current": "keliru", "new": "pendek", "confirm": "lain"})
    body = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "Kata sandi minimal 8 karakter." in body
    assert "Tidak sama dengan kata sandi baru." in body
    r = client.post("/profil/kata-sandi", data={"current": "keliru", "new": "cukup-panjang", "confirm": "cukup-panjang"})
    assert "Kata sandi saat ini salah." in r.get_data(as_text=True)


def test_temporary_password_must_be_changed_first(client, make_user):
    make_user("baru", must_change_password=True)
    client.post("/masuk", data={"username": "baru", "password": PASSWORD})
    r = client.get("/")
    assert r.status_code == 302 and r.headers["Location"] == "/profil/kata-sandi"
    client.post("/profil/kata-sandi", data={"current": PASSWORD, "new": "sandi-baru-456", "confirm": "sandi-baru-456"})
    assert client.get("/").status_code == 200


def test_profile_update(client, user, db):
    client.post("/masuk", data={"username": "sekretaris", "password": PASSWORD})
    r = client.post("/profil", data={"full_name": "Dewi L.", "phone": "0812 3456 7890"})
    assert r.status_code == 302
    db.session.refresh(user)
    assert (user.full_name, user.phone) == ("Dewi L.", "0812 3456 7890")
    r = client.post("/profil", data={"full_name": "", "phone": "0812"})
    assert r.status_code == 422 and "Wajib diisi." in r.get_data(as_text=True)


def test_passwords_are_argon2id(user):
    assert user.password_hash.startswith("$argon2id$")


def test_htmx_request_without_session_gets_hx_redirect(client):
    r = client.get("/kampung/1/pokja/", headers={"HX-Request": "true"})
    assert r.status_code == 401
    assert r.headers["HX-Redirect"] == "/masuk?next=/kampung/1/pokja/"
    assert r.get_data() == b""

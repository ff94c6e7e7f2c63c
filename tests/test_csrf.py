"""CSRF: every state-changing route refuses a request without a valid token."""
import re
import time

import pytest

from tests.conftest import PASSWORD

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def csrf_app(app):
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def _state_changing_rules(app):
    return [r for r in app.url_map.iter_rules() if r.methods & STATE_CHANGING]


def test_every_state_changing_route_refuses_missing_token(csrf_app, pokja):
    client = csrf_app.test_client()
    rules = _state_changing_rules(csrf_app)
    assert len(rules) >= 8  # login, logout, profile, password, kampung, pokja, accounts
    for rule in rules:
        url = rule.rule
        for arg in rule.arguments:
            url = url.replace(f"<int:{arg}>", "1").replace(f"<{arg}>", "1")
        for method in sorted(rule.methods & STATE_CHANGING):
            r = client.open(url, method=method, data={"username": "sekretaris", "password": PASSWORD})
            # Refused by the CSRF handler (back to a safe page with a message), not by a later
            # check such as login_required, which would redirect to /masuk instead.
            assert (r.status_code, r.headers.get("Location")) == (302, "/"), (url, method, r.status_code)
            with client.session_transaction() as sess:
                assert "kedaluwarsa" in sess["_flashes"][-1][1]
            with client.session_transaction() as sess:
                assert "_user_id" not in sess, f"{url} logged in without a CSRF token"


def test_token_in_form_and_htmx_header_is_accepted(csrf_app, pokja):
    client = csrf_app.test_client()
    page = client.get("/masuk").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/masuk", data={"username": "sekretaris", "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302
    home = client.get("/").get_data(as_text=True)
    header_token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', home).group(1)
    kampung = pokja["kampung"]
    r = client.post(f"/kampung/{kampung.id}/pokja/jabatan", headers={"HX-Request": "true", "X-CSRFToken": header_token},
                    data={"group": "anggota", "role": "anggota", "person_name": "Lewat htmx", "started_on": "2025-02-01"})
    assert r.status_code == 200
    r = client.post(f"/kampung/{kampung.id}/pokja/jabatan", headers={"HX-Request": "true"},
                    data={"group": "anggota", "role": "anggota", "person_name": "Tanpa token", "started_on": "2025-02-01"})
    assert r.status_code == 400 and r.headers["HX-Redirect"]
    names = {p.person_name for p in kampung.positions}
    assert "Lewat htmx" in names and "Tanpa token" not in names


def test_expired_form_recovers_with_message(csrf_app, pokja):
    client = csrf_app.test_client()
    r = client.post("/masuk", data={"username": "sekretaris", "password": PASSWORD, "csrf_token": "basi"},
                    headers={"Referer": "http://localhost/masuk"}, follow_redirects=True)
    assert "Sesi formulir sudah kedaluwarsa" in r.get_data(as_text=True)


def test_token_past_its_lifetime_recovers_with_message(csrf_app, pokja):
    """A form left open longer than WTF_CSRF_TIME_LIMIT: the post is refused, the user is sent
    back to a fresh copy of the page with the reason, and nothing was stored."""
    csrf_app.config["WTF_CSRF_TIME_LIMIT"] = 1
    client = csrf_app.test_client()
    page = client.get("/masuk").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    time.sleep(2.1)
    r = client.post("/masuk", data={"username": "sekretaris", "password": PASSWORD, "csrf_token": token},
                    headers={"Referer": "http://localhost/masuk"})
    assert (r.status_code, r.headers["Location"]) == (302, "/masuk")
    assert "Sesi formulir sudah kedaluwarsa" in client.get("/masuk").get_data(as_text=True)
    with client.session_transaction() as sess:
        assert "_user_id" not in sess
    # The same inside htmx: HX-Redirect to the page, never a silent failure in a table cell.
    r = client.post("/masuk", data={"csrf_token": token}, headers={"HX-Request": "true",
                                                                   "Referer": "http://localhost/kampung/"})
    assert (r.status_code, r.headers["HX-Redirect"]) == (400, "/kampung/")

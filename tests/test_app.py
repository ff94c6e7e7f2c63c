"""The app factory, configuration layers and the headers every response carries."""
import pytest

from portal import create_app


def test_testing_config(app, suite_database):
    assert app.testing
    assert app.config["SQLALCHEMY_DATABASE_URI"] == suite_database
    assert suite_database == "sqlite://" or "@127.0.0.1:" in suite_database


def test_default_config_uses_instance_sqlite_and_generates_secret_once(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("PORTAL_ENV", raising=False)
    monkeypatch.setattr("flask.Flask.auto_find_instance_path", lambda self: str(tmp_path / "instance"))
    first = create_app()
    second = create_app()
    assert first.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'instance' / 'portal.db'}"
    assert len(first.config["SECRET_KEY"]) == 64
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert (tmp_path / "instance" / "secret_key").stat().st_mode & 0o077 == 0


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@127.0.0.1:5432/portal")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("PORTAL_MIN_PASSWORD_LENGTH", "12")
    monkeypatch.setenv("PORTAL_ENV", "production")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@127.0.0.1:5432/portal"
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["MIN_PASSWORD_LENGTH"] == 12
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_healthz_and_security_headers(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json == {"status": "ok"}
    csp = r.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "same-origin"


def test_production_sends_hsts(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x")
    app = create_app({"TESTING": True, "PORTAL_ENV": "production"})
    assert "max-age" in app.test_client().get("/healthz").headers["Strict-Transport-Security"]


def test_pages_are_indonesian_and_served_without_cdn(client):
    body = client.get("/masuk").get_data(as_text=True)
    assert '<html lang="id">' in body
    assert "/static/vendor/htmx.min.js" in body
    assert "http://" not in body and "https://" not in body


@pytest.mark.parametrize("code,text", [(404, "Tidak ditemukan"), (405, "Metode tidak diizinkan")])
def test_error_pages_in_indonesian(client, code, text):
    url = "/tidak-ada" if code == 404 else "/keluar"
    r = client.get(url)
    assert r.status_code == code
    assert text in r.get_data(as_text=True)

"""Browser tests: a real server on 127.0.0.1 with a throwaway database, driven by Debian Chromium.

The server is started the way an operator would (``flask db upgrade``, ``flask seed demo``,
``flask run``), with DATABASE_URL and SECRET_KEY pointing into a temp dir so instance/portal.db
is never touched. In the PostgreSQL run of the suite (PORTAL_TEST_DATABASE=postgresql) each
server gets a fresh database in the run's own PostgreSQL cluster instead of a SQLite file. CSRF is on (the default config), exactly as in production.

Playwright's own browser downloads are never used: Chromium comes from the Debian package.
"""
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
VIEWPORT = {"width": 360, "height": 740}
SERVER_WAIT_SECONDS = 20
DEMO_PASSWORD = "kampungkb"
RESULTS_DIR = ROOT / "test-results"
# The PostgreSQL run's cluster (None on SQLite), and each running server's database URL.
_CLUSTER = {}
DATABASES = {}


@pytest.fixture(scope="session", autouse=True)
def _servers_cluster(pg_server):
    _CLUSTER["pg"] = pg_server


def _flask(*args):
    """The venv's Flask CLI for this app (same interpreter as pytest)."""
    return [sys.executable, "-m", "flask", "--app", "wsgi", *args]


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url(tmp):
    cluster = _CLUSTER.get("pg")
    if cluster is None:
        return f"sqlite:///{tmp / 'portal.db'}"
    name = f"browser_{uuid.uuid4().hex[:12]}"
    cluster.admin(f"CREATE DATABASE {name}")
    return cluster.url(name)


def _server_env(tmp):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "PORTAL_"))}
    env.update(
        DATABASE_URL=_database_url(tmp),
        SECRET_KEY="browser-test-secret-key",
        PORTAL_ENV="development",
        PYTHONUNBUFFERED="1",
    )
    return env


def _run(cmd, env):
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@contextmanager
def demo_server(tmp, **extra_env):
    """Migrate and seed a SQLite database in ``tmp``, serve it with ``flask run`` on a free
    local port, and yield the base URL; the server is stopped afterwards. ``extra_env`` adds
    settings (e.g. PORTAL_UPLOAD_FOLDER)."""
    env = {**_server_env(tmp), **extra_env}
    _run(_flask("db", "upgrade"), env)
    _run(_flask("seed", "demo"), env)

    port = _free_port()
    log_path = tmp / "server.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        _flask("run", "--host", "127.0.0.1", "--port", str(port), "--no-reload", "--no-debugger"),
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    DATABASES[base_url] = env["DATABASE_URL"]
    try:
        deadline = time.monotonic() + SERVER_WAIT_SECONDS
        while True:
            if proc.poll() is not None:
                pytest.fail(f"Server exited with {proc.returncode}:\n{log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"Server did not answer /healthz within {SERVER_WAIT_SECONDS} s:\n"
                            f"{log_path.read_text()}")
            time.sleep(0.2)
        yield base_url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """Base URL of the app, migrated and seeded with the demo data, on a free local port. A
    module that changes the demo data starts its own with ``demo_server``."""
    with demo_server(tmp_path_factory.mktemp("browser-server")) as base_url:
        yield base_url


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM} (Debian package 'chromium')"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def requested_urls():
    """Every URL any page asked for during the browser session (to prove nothing leaves the host)."""
    return []


@pytest.fixture
def page_errors():
    """JavaScript errors and console errors (CSP violations land here) seen by the current page."""
    return []


@pytest.fixture
def page(browser, live_server, requested_urls, page_errors, request):
    context = browser.new_context(viewport=VIEWPORT, base_url=live_server, locale="id-ID",
                                  timezone_id="Asia/Jakarta")
    context.set_default_timeout(10_000)
    context.on("request", lambda request: requested_urls.append(request.url))
    page = context.new_page()
    page.on("pageerror", lambda exc: page_errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: msg.type == "error" and page_errors.append(f"console: {msg.text}"))
    yield page
    _keep_last_screen(page, request.node.name)
    context.close()


def _keep_last_screen(page, test_name):
    """Every journey's last screen, kept as a CI artifact in test-results/last-screen/ (gitignored)."""
    folder = RESULTS_DIR / "last-screen"
    folder.mkdir(parents=True, exist_ok=True)
    name = "".join(c if c.isalnum() or c in "-_" else "-" for c in test_name)[:120]
    try:
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True, timeout=10_000)
    except Exception as exc:  # a closed page or crashed browser: the test's own result says why
        print(f"no last screen for {test_name}: {exc}")


@pytest.fixture(scope="session")
def results_dir():
    RESULTS_DIR.mkdir(exist_ok=True)
    return RESULTS_DIR


@pytest.fixture
def log_in(page):
    """``log_in(username)``: log in through the real form, then be on Beranda."""
    def do_log_in(username, password=DEMO_PASSWORD):
        page.goto("/masuk")
        page.get_by_label("Nama pengguna").fill(username)
        page.get_by_label("Kata sandi").fill(password)
        with page.expect_navigation():
            page.get_by_role("button", name="Masuk").click()
        path = urlsplit(page.url).path
        # A section head lands on their seksi page; everyone else on Beranda.
        landed = path == "/" or (path.startswith("/kampung/") and "/seksi/" in path)
        assert landed, f"login as {username} failed, ended on {page.url}"
        if path != "/":
            page.goto("/")
    return do_log_in


@pytest.fixture
def open_struktur(page):
    """``open_struktur()``: from Beranda, follow the demo Kampung KB's "Struktur Pokja" link."""
    def do_open():
        page.goto("/")
        with page.expect_navigation():
            page.get_by_role("link", name="Struktur Pokja").first.click()
        page.get_by_role("heading", level=1, name="Struktur Pokja").wait_for()
    return do_open


@pytest.fixture
def sekretaris_on_struktur(page, log_in, open_struktur):
    """The demo Sekretaris, logged in, looking at Struktur Pokja of Kampung KB Kel. Pgs Dua."""
    log_in("sekretaris")
    open_struktur()
    return page

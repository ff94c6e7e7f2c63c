#!/usr/bin/env python3
"""Load test: many simulated Pokja members using a throwaway demo portal at once.

    .venv/bin/python tools/loadtest.py --users 50 --duration 60
    .venv/bin/python tools/loadtest.py --users 5 --duration 10          # a quick smoke run

What it does, in order:

1. Makes a temporary directory, points ``DATABASE_URL`` at a SQLite file there (or at
   ``--database-url``) and ``SECRET_KEY`` at a random key, and runs ``flask db upgrade`` and
   ``flask seed demo`` exactly as an operator would (``PORTAL_ENV=development``: the demo seed is
   refused in production). ``instance/`` is never touched.
2. Starts gunicorn with ``--workers`` (2) workers of ``--worker-class`` (sync), bound to
   127.0.0.1 on a free port, and waits for ``/healthz``. Its output goes to a log file that is
   copied to ``test-results/loadtest-server.log`` at the end (tracebacks of any 5xx are there).
3. Finds its way around as a user would (not measured): logs in as the demo accounts and reads
   the ids of the Kampung KB, the approved plan in force, its activities, each section head's own
   activities ("Kegiatan saya"), and the operator's Rekap, kecamatan and Kampung KB dashboards.
4. Runs ``--users`` simulated users for ``--duration`` seconds (started evenly over
   ``--ramp-up`` seconds). The users take the demo accounts in turn (several users share an
   account, each with its own session). Each user logs in once through the real form (GET /masuk
   for the CSRF token, POST username/password/csrf_token, follow the redirect), then loops:

   * readers (ketua, sekretaris, lurah, anggota): Beranda ``/``, the plan page
     ``/rencana/<id>``, the Kampung KB dashboard ``/kampung/<id>/dasbor`` and an activity page
     ``/rencana/<id>/kegiatan/<row>``;
   * section heads (seksi.data, seksi.perilaku, seksi.layanan, seksi.lingkungan): the same reads
     plus their seksi page, and with probability ``--write-ratio`` a progress update of one of
     their own seksi's activities on the approved plan: GET the activity page (current
     ``version`` and CSRF token), POST ``/rencana/<id>/kegiatan/<row>/status`` with
     status/percent/reason/version and the ``X-CSRFToken`` header (as htmx sends it), then follow
     the redirect back to the activity page, as a browser does;
   * the operator: Beranda, the kabupaten Rekap ``/wilayah/<id>/rekap``, a kecamatan Rekap, and
     a Barito Timur Kampung KB's dashboard, plan and activity pages.

   Every user waits for each response before sending the next request (a closed loop), so at most
   ``--users`` requests are ever in flight, each bounded by ``--timeout``; ``--think`` adds a pause
   between requests (default none: 50 users means 50 requests in flight, a stress test).
   The client is the standard library only: one thread and one ``http.client`` connection per
   user, with keep-alive when the server offers it, and a cookie jar of its own.
5. Prints a table (requests, conflicts, errors, requests/s and p50/p95/p99/max latency per kind
   of request and overall), writes ``test-results/loadtest.json``, stops gunicorn and removes the
   temporary directory, also on Ctrl-C or SIGTERM.

Counting:

* **conflicts**: 409 answers to a status update. Two users saved the same activity from the same
  version; the second one is told so. That is the optimistic locking working, not an error.
* **errors**: transport failures (refused, reset, timeout), any 5xx, and any status the flow does
  not expect (e.g. a page answering 404, a login answering 422/429, a redirect to /masuk meaning the
  session was lost). A keep-alive connection the server had already closed is re-opened and the
  request sent once more; that is counted as a reconnect, not an error.
* **lost updates**: after the run, each activity that was written is read again. Its stored
  version should have grown by exactly the number of status updates that were answered as saved;
  if it grew by less, some saves silently overwrote another save made from the same version
  (the version check did not see the other writer). Reported, not counted as errors.

Why sync workers: this is what the app runs with in production. README.md and docs/operations.md
serve it with ``gunicorn -w 2 -b 127.0.0.1:8000 wsgi:app``, whose worker class is gunicorn's
default, ``sync``, behind a TLS-terminating nginx. nginx buffers slow phone connections and keeps
the client keep-alives, so a sync worker only ever sees a fast local client; the work is
CPU-bound (Jinja rendering, SVG charts, argon2id at login) on a 2-core server, where threads
inside one process gain little under the GIL; and SQLite serialises writers anyway. A sync worker
closes the connection after each response (no keep-alive), so with it every request here opens
a new local TCP connection, as nginx does towards gunicorn. ``--worker-class gthread`` (with
``--threads``) is there to compare.

Only 127.0.0.1 is used: gunicorn binds to it and the client connects to it.

Exit status: 0 when there were no errors, 1 when there were errors, 2 when the set-up failed
(migrate, seed, server start, discovery), 130 when interrupted.
"""
import argparse
import http.client
import json
import math
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone
from html import unescape
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "test-results"
HOST = "127.0.0.1"
PASSWORD = "kampungkb"
USER_AGENT = "portal-loadtest/1 (python http.client)"

# Who the simulated users are, in the order they are handed out (so that a small run still has
# section heads writing, readers and the operator).
WRITERS = {"seksi.data": "data", "seksi.perilaku": "perilaku", "seksi.layanan": "layanan",
           "seksi.lingkungan": "lingkungan"}
ACCOUNTS = ["seksi.data", "seksi.lingkungan", "operator", "ketua", "seksi.perilaku", "lurah",
            "seksi.layanan", "sekretaris", "anggota"]

# Kinds of request, in the order of the table.
KINDS = ["login_form", "login", "beranda", "seksi", "plan", "dashboard", "activity", "rekap_kab",
         "rekap_kec", "status_update"]
KIND_HELP = {
    "login_form": "GET /masuk (login form, CSRF token)",
    "login": "POST /masuk (argon2id check), 302",
    "beranda": "GET /",
    "seksi": "GET /kampung/<id>/seksi/<seksi> (section head's landing page)",
    "plan": "GET /rencana/<id> (the whole plan)",
    "dashboard": "GET /kampung/<id>/dasbor",
    "activity": "GET /rencana/<id>/kegiatan/<row>",
    "rekap_kab": "GET /wilayah/<kabupaten>/rekap (operator)",
    "rekap_kec": "GET /wilayah/<kecamatan>/rekap (operator)",
    "status_update": "POST /rencana/<id>/kegiatan/<row>/status: 302 saved or 409 conflict",
}

# What a simulated user reads on each loop (relative weights).
READER_MIX = {"beranda": 2, "plan": 2, "dashboard": 2, "activity": 4}
HEAD_MIX = {"beranda": 1, "seksi": 2, "plan": 1, "dashboard": 2, "activity": 4}
OPERATOR_MIX = {"beranda": 1, "rekap_kab": 3, "rekap_kec": 3, "dashboard": 2, "plan": 1, "activity": 2}

# Error classes whose meaning is "the server closed a kept-alive connection before our request".
STALE_CONNECTION = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                    ConnectionAbortedError, http.client.BadStatusLine)


class SetupError(Exception):
    """Migration, seeding, server start or discovery failed (exit 2)."""


class Interrupted(Exception):
    """Ctrl-C or SIGTERM."""


# -- the HTTP client -------------------------------------------------------------------------------

class Response:
    __slots__ = ("status", "headers", "body", "elapsed")

    def __init__(self, status, headers, body, elapsed):
        self.status, self.headers, self.body, self.elapsed = status, headers, body, elapsed

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    @property
    def location(self):
        """The redirect target as a path (Flask sends absolute or relative URLs)."""
        value = self.headers.get("Location") or ""
        parts = urlsplit(value)
        return parts.path + (f"?{parts.query}" if parts.query else "")


class TransportError(Exception):
    def __init__(self, reason, elapsed):
        super().__init__(reason)
        self.reason, self.elapsed = reason, elapsed


class Browser:
    """One user's connection and cookies: what a phone's browser keeps between requests."""

    def __init__(self, port, timeout):
        self.port, self.timeout = port, timeout
        self.conn = None
        self.cookies = {}
        self.reconnects = 0

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _headers(self, extra):
        headers = {"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml",
                   "Accept-Encoding": "identity", "Connection": "keep-alive"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers.update(extra or {})
        return headers

    def _store_cookies(self, message):
        for raw in message.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            try:
                jar.load(raw)
            except CookieError:
                continue
            for name, morsel in jar.items():
                expired = morsel["max-age"] == "0" or "1970" in (morsel["expires"] or "")
                if expired or morsel.value == "":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def request(self, method, path, form=None, headers=None):
        """Send one request and read the whole answer. Raises TransportError."""
        body = urlencode(form).encode() if form is not None else None
        extra = dict(headers or {})
        if body is not None:
            extra["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
            reused = self.conn.sock is not None
            try:
                self.conn.request(method, path, body=body, headers=self._headers(extra))
                response = self.conn.getresponse()
                data = response.read()
            except STALE_CONNECTION as exc:
                self.close()
                if reused and attempt == 1:
                    # The server had closed the idle kept-alive connection: open a new one.
                    self.reconnects += 1
                    continue
                raise TransportError(type(exc).__name__, time.perf_counter() - started) from exc
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                reason = "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
                raise TransportError(reason, time.perf_counter() - started) from exc
            elapsed = time.perf_counter() - started
            self._store_cookies(response.msg)
            if response.will_close:
                self.close()
            return Response(response.status, response.msg, data, elapsed)
        raise AssertionError("unreachable")


# -- reading pages ---------------------------------------------------------------------------------

def _attr(tag, name):
    match = re.search(rf'\b{name}="([^"]*)"', tag)
    return unescape(match.group(1)) if match else None


def hidden_value(html, name):
    """The value of the first ``<input name=...>`` in the page."""
    for tag in re.findall(r"<input\b[^>]*>", html):
        if _attr(tag, "name") == name:
            return _attr(tag, "value")
    return None


def csrf_header_token(html):
    """The token htmx sends: ``<body hx-headers='{"X-CSRFToken": "..."}'>``."""
    match = re.search(r'"X-CSRFToken":\s*"([^"]+)"', html)
    return match.group(1) if match else None


def links(html, pattern):
    """Every distinct ``href`` (HTML-unescaped) matching ``pattern``, in page order."""
    seen = []
    for href in re.findall(r'href="([^"]*)"', html):
        href = unescape(href)
        if re.fullmatch(pattern, href) and href not in seen:
            seen.append(href)
    return seen


# -- measurements -----------------------------------------------------------------------------------

class Stats:
    """Every request's kind, outcome and latency, shared by all user threads."""

    MAX_ERROR_SAMPLES = 50

    def __init__(self):
        self.lock = threading.Lock()
        self.samples = []            # (kind, outcome, status, latency_seconds, t_since_start)
        self.status_counts = defaultdict(Counter)
        self.error_reasons = Counter()
        self.error_samples = []
        self.saved = Counter()       # activity path -> status updates answered "saved"
        self.t0 = time.perf_counter()

    def add(self, kind, outcome, status, latency, path, reason=None):
        now = time.perf_counter() - self.t0
        with self.lock:
            self.samples.append((kind, outcome, status, latency, now))
            self.status_counts[kind][str(status)] += 1
            if outcome == "error":
                self.error_reasons[f"{kind}: {reason}"] += 1
                if len(self.error_samples) < self.MAX_ERROR_SAMPLES:
                    self.error_samples.append({"t": round(now, 3), "kind": kind, "path": path,
                                               "status": status, "reason": reason,
                                               "latency_ms": round(latency * 1000, 1)})

    def counts(self):
        with self.lock:
            outcomes = Counter(s[1] for s in self.samples)
        return len(self.samples), outcomes["error"], outcomes["conflict"]


def percentile(sorted_values, q):
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summarise(samples, wall):
    latencies = sorted(s[3] for s in samples)
    outcomes = Counter(s[1] for s in samples)
    ms = lambda v: None if v is None else round(v * 1000, 1)  # noqa: E731
    return {
        "requests": len(samples), "ok": outcomes["ok"], "conflicts": outcomes["conflict"],
        "errors": outcomes["error"],
        "throughput_rps": round(len(samples) / wall, 2) if wall > 0 else None,
        "p50_ms": ms(percentile(latencies, 50)), "p95_ms": ms(percentile(latencies, 95)),
        "p99_ms": ms(percentile(latencies, 99)), "max_ms": ms(latencies[-1] if latencies else None),
        "mean_ms": ms(sum(latencies) / len(latencies)) if latencies else None,
    }


# -- one simulated user -----------------------------------------------------------------------------

class User(threading.Thread):
    def __init__(self, index, username, site, args, port, stats, stop, deadline, start_at):
        super().__init__(name=f"user-{index}-{username}", daemon=True)
        self.username, self.site, self.args, self.stats = username, site, args, stats
        self.stop, self.deadline, self.start_at = stop, deadline, start_at
        self.browser = Browser(port, args.timeout)
        self.rng = random.Random(args.seed * 1000 + index if args.seed is not None else None)
        self.token = None
        self.logged_in = False
        if username == "operator":
            self.mix = OPERATOR_MIX
        elif username in WRITERS:
            self.mix = HEAD_MIX
        else:
            self.mix = READER_MIX

    # one measured request; returns the Response or None after a transport error
    def call(self, kind, method, path, expect, form=None, headers=None):
        try:
            response = self.browser.request(method, path, form=form, headers=headers)
        except TransportError as exc:
            self.stats.add(kind, "error", "transport", exc.elapsed, path, exc.reason)
            return None
        status = response.status
        if 300 <= status < 400 and response.location.startswith("/masuk") and kind not in ("login_form", "login"):
            self.stats.add(kind, "error", status, response.elapsed, path, "redirected to /masuk (session lost)")
            self.logged_in = False
        elif status in expect:
            outcome = "conflict" if (kind == "status_update" and status == 409) else "ok"
            self.stats.add(kind, outcome, status, response.elapsed, path)
        else:
            reason = f"HTTP {status}" + (" (server error)" if status >= 500 else " (unexpected)")
            self.stats.add(kind, "error", status, response.elapsed, path, reason)
        if 200 <= status < 300 or status == 409:
            token = csrf_header_token(response.text)
            if token:
                self.token = token
        return response

    def get(self, kind, path):
        return self.call(kind, "GET", path, expect={200})

    def running(self):
        return not self.stop.is_set() and time.monotonic() < self.deadline

    def think(self):
        low, high = self.args.think
        if high > 0:
            self.stop.wait(self.rng.uniform(low, high))

    def run(self):
        try:
            if self.stop.wait(max(0.0, self.start_at - time.monotonic())):
                return
            while self.running():
                if not self.logged_in:
                    self.log_in()
                    self.think()
                    continue
                if self.username in WRITERS and self.rng.random() < self.args.write_ratio:
                    self.update_status()
                else:
                    self.read(self.pick(self.mix))
                self.think()
        finally:
            self.browser.close()

    def pick(self, mix):
        return self.rng.choices(list(mix), weights=list(mix.values()))[0]

    def log_in(self):
        page = self.get("login_form", "/masuk")
        if page is None or page.status != 200 or not self.running():
            self.stop.wait(1)  # do not hammer a failing login page
            return
        token = hidden_value(page.text, "csrf_token")
        response = self.call("login", "POST", "/masuk", expect={302},
                             form={"csrf_token": token or "", "username": self.username, "password": PASSWORD})
        if response is None or response.status != 302:
            self.stop.wait(1)
            return
        self.logged_in = True
        landing = response.location
        self.get("seksi" if "/seksi/" in landing else "beranda", landing)

    def read(self, kind):
        site = self.site
        if self.username == "operator":
            op = site["operator"]
            path = {
                "beranda": lambda: "/",
                "rekap_kab": lambda: op["rekap_kab"],
                "rekap_kec": lambda: self.rng.choice(op["rekap_kec"]),
                "dashboard": lambda: self.rng.choice(op["dashboards"]),
                "plan": lambda: self.rng.choice(op["plans"]),
                "activity": lambda: self.rng.choice(op["activities"]),
            }[kind]()
        else:
            path = {
                "beranda": lambda: "/",
                "seksi": lambda: site["seksi_pages"][WRITERS[self.username]],
                "plan": lambda: site["plan"],
                "dashboard": lambda: site["dashboard"],
                "activity": lambda: self.rng.choice(site["activities"]),
            }[kind]()
        self.get(kind, path)

    def update_status(self):
        """Open one of my activities, save a new status from the version shown, and land back on
        the activity page (as the browser follows the redirect)."""
        activity = self.rng.choice(self.site["own_rows"][self.username])
        page = self.get("activity", activity)
        if page is None or page.status != 200 or not self.running():
            return
        version = hidden_value(page.text, "version")
        if version is None:
            self.stats.add("status_update", "error", "no-form", 0.0, activity,
                           "activity page has no status form for a section head of this seksi")
            return
        roll = self.rng.random()
        if roll < 0.1:
            form = {"status": "tertunda", "percent": "", "reason": "Uji beban: menunggu dana cair"}
        elif roll < 0.2:
            form = {"status": "selesai", "percent": "100", "reason": ""}
        else:
            form = {"status": "berjalan", "percent": str(self.rng.randint(1, 99)), "reason": ""}
        form["version"] = version
        headers = {"X-CSRFToken": self.token or "", "Referer": f"http://{HOST}:{self.browser.port}{activity}"}
        response = self.call("status_update", "POST", f"{activity}/status", expect={302, 409},
                             form=form, headers=headers)
        if response is not None and response.status == 302 and not response.location.startswith("/masuk"):
            with self.stats.lock:
                self.stats.saved[activity] += 1
            if self.running():
                self.get("activity", response.location)


# -- the server -------------------------------------------------------------------------------------

def venv_python():
    candidate = ROOT / ".venv" / "bin" / "python"
    return str(candidate) if candidate.exists() else sys.executable


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def server_env(tmp, database_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "PORTAL_"))}
    env.update(DATABASE_URL=database_url, SECRET_KEY=secrets.token_hex(32), PORTAL_ENV="development",
               PORTAL_UPLOAD_FOLDER=str(tmp / "uploads"), PYTHONUNBUFFERED="1")
    return env


def redact_url(url):
    """A database URL without its password, for printing."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


def run_step(cmd, env, label, log):
    print(f"  {label} …", flush=True)
    started = time.monotonic()
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    log.write(f"$ {' '.join(cmd)}\n{result.stdout}{result.stderr}\n")
    if result.returncode != 0:
        raise SetupError(f"{label} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    print(f"  {label}: {time.monotonic() - started:.1f} s", flush=True)


class Server:
    def __init__(self, args, tmp, env):
        self.args, self.tmp, self.env = args, tmp, env
        self.proc = None
        self.port = None
        self.log_path = tmp / "gunicorn.log"
        self.log = None
        self.version = None

    def command(self):
        python = venv_python()
        cmd = [python, "-m", "gunicorn", "--workers", str(self.args.workers),
               "--worker-class", self.args.worker_class, "--bind", f"{HOST}:{self.port}",
               "--timeout", str(self.args.worker_timeout), "--graceful-timeout", "5",
               "--error-logfile", "-", "--log-level", "info"]
        if self.args.worker_class == "gthread":
            cmd += ["--threads", str(self.args.threads)]
        if self.args.access_log:
            cmd += ["--access-logfile", str(self.tmp / "access.log")]
        help_text = subprocess.run([python, "-m", "gunicorn", "--help"], cwd=ROOT, env=self.env,
                                   capture_output=True, text=True).stdout
        if "--no-control-socket" in help_text:
            # gunicorn ≥ 24 opens a control socket in ~/.gunicorn by default; several servers
            # on one machine would fight over it, and the test does not need it.
            cmd.append("--no-control-socket")
        cmd.append("wsgi:app")
        return cmd

    def start(self):
        self.port = free_port()
        self.version = subprocess.run([venv_python(), "-m", "gunicorn", "--version"], cwd=ROOT, env=self.env,
                                      capture_output=True, text=True).stdout.strip()
        self.log = self.log_path.open("w")
        self.proc = subprocess.Popen(self.command(), cwd=ROOT, env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + self.args.start_timeout
        while True:
            if self.proc.poll() is not None:
                raise SetupError(f"gunicorn exited with {self.proc.returncode}:\n{self.log_text()}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
                conn.request("GET", "/healthz")
                response = conn.getresponse()
                response.read()
                conn.close()
                if response.status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SetupError(f"gunicorn did not answer /healthz within {self.args.start_timeout} s:\n"
                                 f"{self.log_text()}")
            time.sleep(0.2)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        if self.log is not None:
            self.log.close()
            self.log = None

    def log_text(self):
        if self.log is not None:
            self.log.flush()
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def server_findings(log_text):
    """What the server log says went wrong: each traceback's last line, worker timeouts, and
    other error lines, counted."""
    findings = Counter()
    lines = log_text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Traceback (most recent call last)"):
            j = i + 1
            while j < len(lines) and (lines[j].startswith((" ", "\t")) or not lines[j].strip()):
                j += 1
            if j < len(lines):
                findings[f"exception: {lines[j].strip()[:300]}"] += 1
        elif "WORKER TIMEOUT" in line:
            findings["gunicorn: WORKER TIMEOUT"] += 1
        elif re.search(r"\[(ERROR|CRITICAL)\]", line) and "Exception on" not in line:
            findings[re.sub(r"^\[[^\]]*\] \[\d+\] ", "", line)[:300]] += 1
        elif "Exception on " in line:
            findings[f"request failed: {re.sub(r'^.*Exception on ', '', line)[:200]}"] += 1
    return findings


# -- finding our way around (not measured) ---------------------------------------------------------

def log_in_quietly(port, username, timeout):
    browser = Browser(port, timeout)
    page = browser.request("GET", "/masuk")
    token = hidden_value(page.text, "csrf_token")
    response = browser.request("POST", "/masuk", form={"csrf_token": token or "", "username": username,
                                                       "password": PASSWORD})
    if response.status != 302:
        raise SetupError(f"demo login as {username} failed: HTTP {response.status}")
    return browser, response.location


def fetch(browser, path):
    response = browser.request("GET", path)
    if response.status != 200:
        raise SetupError(f"GET {path} as set-up answered HTTP {response.status}")
    return response.text


def discover(port, timeout):
    """Ids a user would click their way to: the demo Kampung KB (Kel. Pgs Dua), its approved plan
    in force and its activities, each section head's own activities, and the operator's pages."""
    site = {}
    sek, _ = log_in_quietly(port, "sekretaris", timeout)
    home = fetch(sek, "/")
    dashboards = links(home, r"/kampung/\d+/dasbor")
    if not dashboards:
        raise SetupError("the Sekretaris's Beranda links no Kampung KB dashboard")
    site["dashboard"] = dashboards[0]
    kampung_id = int(re.search(r"\d+", dashboards[0]).group())
    plans = links(fetch(sek, site["dashboard"]), r"/rencana/\d+")
    if not plans:
        raise SetupError("the dashboard links no approved plan in force (was the demo seeded?)")
    site["plan"] = plans[0]
    site["activities"] = links(fetch(sek, site["plan"]), rf"{site['plan']}/kegiatan/\d+")
    if not site["activities"]:
        raise SetupError(f"{site['plan']} links no activity pages")
    site["seksi_pages"] = {seksi: f"/kampung/{kampung_id}/seksi/{seksi}" for seksi in WRITERS.values()}
    site["own_rows"] = {}
    for username in WRITERS:
        browser, _ = log_in_quietly(port, username, timeout)
        mine = fetch(browser, f"/kampung/{kampung_id}/kegiatan-saya")
        rows = [p for p in links(mine, rf"{site['plan']}/kegiatan/\d+")]
        if not rows:
            raise SetupError(f"{username} has no activity of the approved plan to update")
        site["own_rows"][username] = rows
        browser.close()
    site["initial_versions"] = read_versions(sek, [r for rows in site["own_rows"].values() for r in rows])
    sek.close()

    op, _ = log_in_quietly(port, "operator", timeout)
    home = fetch(op, "/")
    rekap = links(home, r"/wilayah/\d+/rekap")
    if not rekap:
        raise SetupError("the operator's Beranda has no Rekap link")
    operator = {"rekap_kab": rekap[0], "dashboards": links(home, r"/kampung/\d+/dasbor"), "rekap_kec": [],
                "plans": [], "activities": []}
    for data_page in links(home, r"/wilayah/\d+/data"):
        html = fetch(op, data_page)
        # The desa's Rumah Data page names its kecamatan first: <a href="/wilayah/3/data…">Kecamatan …</a>
        for wid, label in re.findall(r'<a href="/wilayah/(\d+)/data[^"]*">(Kecamatan [^<]*)</a>', html):
            path = f"/wilayah/{wid}/rekap"
            if path not in operator["rekap_kec"]:
                operator["rekap_kec"].append(path)
    operator["rekap_kec"] = [p for p in operator["rekap_kec"] if op.request("GET", p).status == 200]
    if not operator["rekap_kec"]:
        raise SetupError("no kecamatan Rekap found for the operator")
    for dashboard in operator["dashboards"]:
        for plan in links(fetch(op, dashboard), r"/rencana/\d+")[:1]:
            operator["plans"].append(plan)
            operator["activities"] += links(fetch(op, plan), rf"{plan}/kegiatan/\d+")
    if not (operator["dashboards"] and operator["plans"] and operator["activities"]):
        raise SetupError("the operator's Kampung KB dashboards, plans or activities were not found")
    op.close()
    site["operator"] = operator
    return site


def read_versions(browser, activities):
    versions = {}
    for path in activities:
        value = hidden_value(fetch(browser, path), "version")
        versions[path] = int(value) if value not in (None, "") else None
    return versions


# -- the run ----------------------------------------------------------------------------------------

def parse_think(text):
    try:
        parts = [float(p) for p in text.split(":")]
    except ValueError:
        raise argparse.ArgumentTypeError("use SECONDS or MIN:MAX, e.g. 0.5:2") from None
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or parts[0] < 0 or parts[1] < parts[0]:
        raise argparse.ArgumentTypeError("use SECONDS or MIN:MAX with 0 <= MIN <= MAX")
    return tuple(parts)


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="tools/loadtest.py",
        description=__doc__.split("\n\n", 1)[0] + " Migrates and seeds a throwaway demo database, "
        "serves it with gunicorn on 127.0.0.1, runs simulated users (log in through the form, read "
        "pages, update progress with the CSRF header and the row version), prints a table and "
        "writes test-results/loadtest.json. Exit status: 0 no errors, 1 errors, 2 set-up failed, "
        "130 interrupted. The module docstring (head -80 tools/loadtest.py) explains the flow, "
        "what counts as an error or a conflict, and why sync workers.",
        epilog="Kinds of request in the table: " + "; ".join(f"{k} = {v}" for k, v in KIND_HELP.items())
        + ". Errors are transport failures, 5xx and unexpected status codes; conflicts (409 on a "
        "status update) are correct behaviour and counted apart; 'lost updates' are saves that "
        "silently overwrote another save of the same version (checked after the run).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--users", type=positive_int, default=50,
                        help="simulated users running at once (each one log-in, then a closed loop)")
    parser.add_argument("--duration", type=float, default=60.0,
                        help="seconds the users run (log-ins included), measured from the first user's start")
    parser.add_argument("--ramp-up", type=float, default=5.0,
                        help="seconds over which the users are started, evenly (0: all at once)")
    parser.add_argument("--think", type=parse_think, default="0", metavar="SECONDS|MIN:MAX",
                        help="pause between one user's requests (uniform in MIN..MAX); 0 keeps every "
                        "user's next request in flight at once")
    parser.add_argument("--write-ratio", type=float, default=0.3,
                        help="probability that a section head's next step is a status update "
                        "(open the activity, save, follow the redirect) rather than a page read")
    parser.add_argument("--workers", type=positive_int, default=2, help="gunicorn workers")
    parser.add_argument("--worker-class", choices=["sync", "gthread"], default="sync",
                        help="gunicorn worker class; sync is what production runs (see the docstring)")
    parser.add_argument("--threads", type=positive_int, default=4,
                        help="threads per worker with --worker-class gthread")
    parser.add_argument("--worker-timeout", type=int, default=30,
                        help="gunicorn --timeout: a worker silent this long is killed and restarted")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="client timeout per request in seconds (a timeout counts as an error)")
    parser.add_argument("--database-url", metavar="URL",
                        help="use this database instead of a SQLite file in the temp dir, e.g. "
                        "postgresql://user:pass@127.0.0.1/portal_load; it is MIGRATED, SEEDED WITH THE "
                        "DEMO DATA and written to: never point it at real data")
    parser.add_argument("--seed", type=int, default=None,
                        help="random seed for the users' choices (None: different every run)")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "loadtest.json",
                        help="where to write the JSON results")
    parser.add_argument("--access-log", action="store_true",
                        help="also have gunicorn write an access log (kept with --keep)")
    parser.add_argument("--start-timeout", type=float, default=60.0,
                        help="seconds to wait for gunicorn to answer /healthz")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temp dir (database, gunicorn log) and print where it is")
    args = parser.parse_args(argv)
    if not 0 <= args.write_ratio <= 1:
        parser.error("--write-ratio must be between 0 and 1")
    if args.duration <= 0:
        parser.error("--duration must be positive")
    if args.ramp_up < 0:
        parser.error("--ramp-up must not be negative")
    return args


def run_users(args, port, site, server):
    stats = Stats()
    stop = threading.Event()
    start = time.monotonic()
    stats.t0 = time.perf_counter()
    deadline = start + args.duration
    accounts = [ACCOUNTS[i % len(ACCOUNTS)] for i in range(args.users)]
    users = [User(i, name, site, args, port, stats, stop, deadline,
                  start + (args.ramp_up * i / args.users if args.users > 1 else 0))
             for i, name in enumerate(accounts)]
    for user in users:
        user.start()
    interrupted = False
    try:
        next_report = start + 10
        while time.monotonic() < deadline:
            time.sleep(0.25)
            if not server.alive():
                print("  gunicorn exited during the run!", file=sys.stderr, flush=True)
                break
            if time.monotonic() >= next_report:
                total, errors, conflicts = stats.counts()
                elapsed = time.monotonic() - start
                print(f"  t={elapsed:4.0f} s  requests={total}  ({total / elapsed:.1f}/s)  "
                      f"errors={errors}  conflicts={conflicts}", flush=True)
                next_report += 10
    except Interrupted:
        interrupted = True
        print("\n  interrupted: stopping the users …", file=sys.stderr, flush=True)
    finally:
        stop.set()
        # In-flight requests finish (each bounded by --timeout).
        for user in users:
            user.join(timeout=args.timeout + 5)
    wall = time.monotonic() - start
    with stats.lock:
        reconnects = sum(u.browser.reconnects for u in users)
    return stats, wall, Counter(accounts), reconnects, interrupted


def check_lost_updates(port, site, stats, timeout):
    """Re-read the stored version of every activity that was written."""
    browser, _ = log_in_quietly(port, "sekretaris", timeout)
    written = sorted(stats.saved)
    final = read_versions(browser, written)
    browser.close()
    rows = []
    lost_total = 0
    for path in written:
        before = site["initial_versions"].get(path) or 0
        expected = before + stats.saved[path]
        after = final[path] or 0
        lost = max(0, expected - after)
        lost_total += lost
        rows.append({"activity": path, "version_before": before, "saves_answered_saved": stats.saved[path],
                     "version_after": after, "lost_updates": lost})
    return lost_total, rows


def fmt(value, width, digits=0):
    if value is None:
        return "–".rjust(width)
    return f"{value:,.{digits}f}".rjust(width)


def print_table(result):
    print()
    print(result["title"])
    header = (f"{'kind':<14}{'requests':>9}{'ok':>8}{'conflicts':>10}{'errors':>8}{'req/s':>8}"
              f"{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    print(header)
    print("-" * len(header))
    rows = [(k, v) for k, v in result["per_kind"].items()] + [("ALL", result["overall"])]
    for kind, s in rows:
        if kind == "ALL":
            print("-" * len(header))
        print(f"{kind:<14}{s['requests']:>9,}{s['ok']:>8,}{s['conflicts']:>10,}{s['errors']:>8,}"
              f"{fmt(s['throughput_rps'], 8, 1)}{fmt(s['p50_ms'], 9)}{fmt(s['p95_ms'], 9)}"
              f"{fmt(s['p99_ms'], 9)}{fmt(s['max_ms'], 9)}")
    o = result["overall"]
    lost = result["lost_updates"]["total"] if result["lost_updates"]["checked"] else "not checked"
    print()
    print(f"throughput: {o['throughput_rps']} requests/s over {result['wall_seconds']} s "
          f"({result['users']} users, {result['server']['workers']} × {result['server']['worker_class']} "
          f"workers, {result['database']})")
    print(f"errors: {o['errors']}   conflicts (409, expected): {o['conflicts']}   "
          f"lost updates: {lost}   reconnects: {result['reconnects']}")
    if result["errors"]["by_reason"]:
        print("errors by reason:")
        for reason, count in result["errors"]["by_reason"].items():
            print(f"  {count:>6}  {reason}")
    if result["server_log"]["findings"]:
        print(f"server log ({result['server_log']['copy']}):")
        for line, count in result["server_log"]["findings"].items():
            print(f"  {count:>6}  {line}")
    if result["lost_updates"]["total"]:
        print("lost updates (saved answers whose change is not in the stored version):")
        for row in result["lost_updates"]["rows"]:
            if row["lost_updates"]:
                print(f"  {row['activity']}: version {row['version_before']} + {row['saves_answered_saved']} saves "
                      f"→ {row['version_after']} ({row['lost_updates']} lost)")


def main(argv=None):
    args = parse_args(argv)

    def on_signal(signum, _frame):
        raise Interrupted(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    tmp = Path(tempfile.mkdtemp(prefix="portal-loadtest-"))
    database_url = args.database_url or f"sqlite:///{tmp / 'portal.db'}"
    env = server_env(tmp, database_url)
    server = Server(args, tmp, env)
    RESULTS_DIR.mkdir(exist_ok=True)
    server_log_copy = RESULTS_DIR / "loadtest-server.log"
    exit_code = 2
    try:
        print(f"Portal load test: {args.users} users × {args.duration:g} s; temp dir {tmp}")
        with (tmp / "setup.log").open("w") as setup_log:
            flask = [venv_python(), "-m", "flask", "--app", "wsgi"]
            run_step([*flask, "db", "upgrade"], env, "flask db upgrade", setup_log)
            run_step([*flask, "seed", "demo"], env, "flask seed demo", setup_log)
        print(f"  starting gunicorn ({args.workers} × {args.worker_class}) on {HOST} …", flush=True)
        server.start()
        print(f"  {server.version} listening on http://{HOST}:{server.port}; finding the demo pages …", flush=True)
        site = discover(server.port, args.timeout)
        print(f"  plan {site['plan']} with {len(site['activities'])} activities; section heads' own rows: "
              + ", ".join(f"{u} {len(r)}" for u, r in site["own_rows"].items())
              + f"; operator: {site['operator']['rekap_kab']}, {len(site['operator']['rekap_kec'])} kecamatan, "
              f"{len(site['operator']['dashboards'])} Kampung KB", flush=True)
        load_before = os.getloadavg()
        started_at = datetime.now(timezone.utc)
        print(f"  running {args.users} users for {args.duration:g} s (ramp-up {args.ramp_up:g} s) …", flush=True)
        stats, wall, accounts, reconnects, interrupted = run_users(args, server.port, site, server)
        load_after = os.getloadavg()
        lost_total, lost_rows, checked = 0, [], False
        if server.alive() and not interrupted:
            lost_total, lost_rows = check_lost_updates(server.port, site, stats, args.timeout)
            checked = True

        server.stop()
        log_text = server.log_text()
        server_log_copy.write_text(log_text)
        findings = server_findings(log_text)

        by_kind = defaultdict(list)
        for sample in stats.samples:
            by_kind[sample[0]].append(sample)
        db_kind = "SQLite (temp file)" if not args.database_url else urlsplit(args.database_url).scheme
        result = {
            "title": f"Portal Kampung KB load test — {started_at:%Y-%m-%d %H:%M} UTC"
                     + (" (INTERRUPTED, partial)" if interrupted else ""),
            "started_at": started_at.isoformat(timespec="seconds"),
            "interrupted": interrupted,
            "users": args.users,
            "duration_seconds": args.duration,
            "wall_seconds": round(wall, 2),
            "ramp_up_seconds": args.ramp_up,
            "think_seconds": list(args.think),
            "write_ratio": args.write_ratio,
            "accounts": dict(accounts),
            "database": db_kind if not args.database_url else f"{db_kind} ({redact_url(args.database_url)})",
            "server": {"version": server.version, "workers": args.workers, "worker_class": args.worker_class,
                       "threads": args.threads if args.worker_class == "gthread" else 1,
                       "worker_timeout": args.worker_timeout, "bind": f"{HOST}:{server.port}"},
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "loadavg_before": [round(x, 2) for x in load_before],
                        "loadavg_after": [round(x, 2) for x in load_after]},
            "kinds": KIND_HELP,
            "overall": summarise(stats.samples, wall),
            "per_kind": {k: summarise(by_kind[k], wall) for k in KINDS if by_kind.get(k)},
            "status_codes": {k: dict(stats.status_counts[k]) for k in KINDS if k in stats.status_counts},
            "errors": {"total": sum(stats.error_reasons.values()),
                       "by_reason": dict(stats.error_reasons.most_common()),
                       "samples": stats.error_samples},
            "conflicts": sum(1 for s in stats.samples if s[1] == "conflict"),
            "lost_updates": {"total": lost_total, "checked": checked, "rows": lost_rows},
            "reconnects": reconnects,
            "server_log": {"copy": str(server_log_copy.relative_to(ROOT)),
                           "findings": dict(findings.most_common())},
            "discovered": {k: v for k, v in site.items() if k != "initial_versions"},
        }
        print_table(result)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        print(f"\nresults: {args.output}")
        if interrupted:
            exit_code = 130
        else:
            exit_code = 1 if result["errors"]["total"] else 0
    except SetupError as exc:
        print(f"\nset-up failed: {exc}", file=sys.stderr)
        exit_code = 2
    except (Interrupted, KeyboardInterrupt):
        print("\ninterrupted", file=sys.stderr)
        exit_code = 130
    finally:
        # Ignore further Ctrl-C while cleaning up, so gunicorn is never left behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        server.stop()
        if exit_code == 2 and server.log_path.exists():
            server_log_copy.write_text(server.log_text())
            print(f"server log: {server_log_copy}", file=sys.stderr)
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())

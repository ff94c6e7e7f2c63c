"""gunicorn on 127.0.0.1, logging in through the form, wrk runs, worker memory."""
import http.cookiejar
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
WAIT_SECONDS = 60


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerError(RuntimeError):
    pass


def control_socket_flag(binary):
    """gunicorn ≥ 24 opens a control socket under ~/.gunicorn by default; the benchmark's servers
    (and anyone else's on this machine) must not share or leave one: ``--no-control-socket``."""
    help_text = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
    return ["--no-control-socket"] if "--no-control-socket" in help_text else []


class Gunicorn:
    """``gunicorn -w 2 -b 127.0.0.1:<free port> wsgi:app`` as production runs it (sync workers),
    with a longer worker timeout so a slow page is measured rather than killed."""

    def __init__(self, env, log_path, workers=2, timeout=180):
        self.env, self.log_path, self.workers, self.timeout = env, Path(log_path), workers, timeout
        self.proc = None
        self.port = None

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.port = free_port()
        binary = str(GUNICORN) if GUNICORN.exists() else shutil.which("gunicorn")
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [binary, "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}", "--timeout", str(self.timeout),
             "--log-level", "warning", *control_socket_flag(binary), "wsgi:app"],
            cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            if self.proc.poll() is not None:
                raise ServerError(f"gunicorn exited with {self.proc.returncode}:\n{self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as response:
                    if response.status == 200 and len(self.worker_pids()) >= self.workers:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.monotonic() > deadline:
                raise ServerError(f"gunicorn did not answer /healthz in {WAIT_SECONDS} s:\n"
                                  f"{self.log_path.read_text()[-3000:]}")
            time.sleep(0.2)

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
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None

    def worker_pids(self):
        if self.proc is None:
            return []
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except OSError:
            pids = []
            for stat in Path("/proc").glob("[0-9]*/stat"):
                try:
                    fields = stat.read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.proc.pid:
                    pids.append(int(stat.parent.name))
            return pids

    def memory(self):
        """{worker pid: {"hwm_mb": peak RSS, "rss_mb": current RSS}} from /proc/<pid>/status."""
        out = {}
        for pid in self.worker_pids():
            try:
                text = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            values = dict(re.findall(r"^(VmHWM|VmRSS):\s+(\d+) kB", text, re.M))
            out[pid] = {"hwm_mb": round(int(values.get("VmHWM", 0)) / 1024, 1),
                        "rss_mb": round(int(values.get("VmRSS", 0)) / 1024, 1)}
        return out

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()  # a server that never answered is stopped too
            raise

    def __exit__(self, *exc):
        self.stop()


# -- logging in as a browser does ----------------------------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def log_in(base, username, password):
    """GET /masuk (CSRF token), POST the form; returns the Cookie header value of the session."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    with opener.open(f"{base}/masuk", timeout=30) as response:
        page = response.read().decode("utf-8")
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page)
    if not match:
        raise ServerError("no csrf_token on /masuk")
    data = urllib.parse.urlencode({"csrf_token": match.group(1), "username": username,
                                   "password": password}).encode()
    try:
        opener.open(urllib.request.Request(f"{base}/masuk", data=data), timeout=60)
        raise ServerError(f"login as {username} did not redirect")
    except urllib.error.HTTPError as exc:
        if exc.code != 302 or "/masuk" in (exc.headers.get("Location") or ""):
            raise ServerError(f"login as {username} failed: HTTP {exc.code}") from None
    cookies = {c.name: c.value for c in jar}
    if "portal_session" not in cookies:
        raise ServerError(f"login as {username}: no session cookie")
    return f"portal_session={cookies['portal_session']}"


def fetch(url, headers=None, timeout=300):
    """(status, headers, body, seconds) of one GET, redirects not followed."""
    opener = urllib.request.build_opener(_NoRedirect)
    started = time.perf_counter()
    try:
        with opener.open(urllib.request.Request(url, headers=headers or {}), timeout=timeout) as response:
            body = response.read()
            return response.status, response.headers, body, time.perf_counter() - started
    except urllib.error.HTTPError as exc:
        body = exc.read()
        return exc.code, exc.headers, body, time.perf_counter() - started


# -- wrk ---------------------------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def _ms(text):
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not match:
        raise ValueError(f"cannot read wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(url, seconds, connections, threads, headers=None, timeout_s=120):
    """Run wrk with --latency; returns rps, p50/p75/p90/p99 (ms), requests, errors, non_2xx_3xx."""
    binary = shutil.which("wrk")
    if binary is None:
        raise ServerError("wrk not found: install the Debian package 'wrk' (make setup)")
    cmd = [binary, f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency", f"--timeout={timeout_s}s"]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    cmd.append(url)
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + timeout_s + 30)
    out = result.stdout
    if result.returncode != 0:
        raise ServerError(f"wrk failed: {result.stderr or out}")
    stats = {"tool": "wrk", "seconds": seconds, "connections": connections, "threads": threads}
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    stats["rps"] = float(match.group(1)) if match else 0.0
    for pct in ("50", "75", "90", "99"):
        match = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        stats[f"p{pct}_ms"] = _ms(match.group(1)) if match else None
    match = re.search(r"(\d+) requests in", out)
    stats["requests"] = int(match.group(1)) if match else 0
    match = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    stats["non_2xx_3xx"] = int(match.group(1)) if match else 0
    match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    stats["socket_errors"] = {k: int(v) for k, v in zip(("connect", "read", "write", "timeout"), match.groups())} \
        if match else {}
    return stats


def _summary(times_ms):
    times = sorted(times_ms)
    return {"requests": len(times), "p50_ms": round(statistics.median(times), 2),
            "p90_ms": round(times[int(0.9 * (len(times) - 1))], 2), "max_ms": round(times[-1], 2)}


def load(url, headers=None, *, seconds, connections, threads, expect=200, warmup=1.0, slow_ms=2000,
         samples=15, budget_s=20):
    """Measure ``url`` (which must answer ``expect``):

    * ``first_ms``: the first request (cold for this page);
    * ``seq``: up to ``samples`` sequential requests, one at a time (``budget_s`` seconds at most,
      at least one): the unloaded latency, which is what pages are compared by;
    * then, unless that p50 is over ``slow_ms``, a short wrk warm-up and a wrk run: throughput and
      latency under load (``tool`` "wrk"). A page slower than ``slow_ms`` is not loaded with wrk
      (a few seconds would not finish a request per connection); its figures are the sequential
      ones (``tool`` "sequential", throughput = 1 / mean latency).
    """
    status, _h, body, first = fetch(url, headers)
    if status != expect:
        raise ServerError(f"{url} answered {status}, expected {expect}: {body[:300]!r}")
    times = []
    first_is_sample = first > budget_s
    if first_is_sample:
        times = [first * 1000]  # too slow to repeat within the budget: the first request is the sample
    while len(times) < samples and (not times or sum(times) < budget_s * 1000):
        status, _h, _b, seconds_taken = fetch(url, headers)
        if status != expect:
            raise ServerError(f"{url} answered {status}, expected {expect}")
        times.append(seconds_taken * 1000)
    seq = _summary(times)
    seq["first_is_sample"] = first_is_sample
    if seq["p50_ms"] > slow_ms:
        stats = {"tool": "sequential", "connections": 1, "rps": round(1000 / statistics.mean(times), 3),
                 "p50_ms": seq["p50_ms"], "p75_ms": None, "p90_ms": seq["p90_ms"], "p99_ms": seq["max_ms"],
                 "requests": len(times), "non_2xx_3xx": 0, "socket_errors": {}}
    else:
        if warmup:
            wrk(url, max(1, int(round(warmup))), min(connections, 4), 1, headers)
        stats = wrk(url, seconds, connections, threads, headers)
        if stats["non_2xx_3xx"] or stats["requests"] == 0:
            raise ServerError(f"{url}: {stats['non_2xx_3xx']} unexpected responses of {stats['requests']}")
    stats.update(first_ms=round(first * 1000, 1), seq=seq, bytes=len(body))
    return stats

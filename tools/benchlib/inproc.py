"""Measurements made inside this process with Flask's test client: SQL statements per request,
bytes on the wire, the kabupaten feed build against a naive icalendar build, XLSX import, PDF."""
import gzip
import io
import statistics
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "portal" / "static"


def client_for(app, username, password):
    client = app.test_client()
    response = client.post("/masuk", data={"username": username, "password": password})
    if response.status_code != 302 or "/masuk" in response.headers.get("Location", ""):
        raise RuntimeError(f"in-process login as {username} failed: {response.status_code}")
    return client


@contextmanager
def statement_counter(app):
    """Counts statements sent to the database (SQLAlchemy ``before_cursor_execute``);
    an executemany counts once."""
    from portal.extensions import db
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def statements(app, client, url, expect=200, warm=True):
    """SQL statements of one GET, and its time in ms; with ``warm``, of the second of two (the
    first warms per-process caches: templates, the feed cache)."""
    if warm:
        first = client.get(url)
        if first.status_code != expect:
            raise RuntimeError(f"{url} answered {first.status_code}")
    with statement_counter(app) as seen:
        started = time.perf_counter()
        response = client.get(url)
        ms = (time.perf_counter() - started) * 1000
    if response.status_code != expect:
        raise RuntimeError(f"{url} answered {response.status_code}")
    shapes = Counter(" ".join(s.split())[:140] for s in seen)
    return {"statements": len(seen), "ms": round(ms, 1), "bytes": len(response.data),
            # The statements sent more than once: where a count grows with the rows.
            "repeated": {shape: n for shape, n in shapes.most_common() if n > 1}}


def healthz(app, requests=300):
    """Median and mean time (ms) of GET /healthz through the test client in this process: the
    baseline for the figures measured in-process (XLSX import, PDF, feed builds), as the HTTP
    /healthz is for the pages served by gunicorn."""
    client = app.test_client()
    for _ in range(20):
        client.get("/healthz")
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get("/healthz")
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"/healthz answered {response.status_code}")
    return {"requests": requests, "p50_ms": round(statistics.median(times), 4),
            "mean_ms": round(statistics.mean(times), 4)}


# -- bytes on the wire ------------------------------------------------------------------------------

def gz(data):
    return len(gzip.compress(data, compresslevel=6))


def first_load(client, url):
    """HTML of ``url`` plus every stylesheet and script it links, raw and gzip -6 each."""
    import re
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    html = response.data
    parts = [{"what": "HTML " + url, "raw": len(html), "gzip": gz(html)}]
    text = html.decode("utf-8")
    assets = re.findall(r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', text) + re.findall(
        r'<script[^>]+src="([^"]+)"', text)
    for href in assets:
        path = href.split("?", 1)[0]
        if not path.startswith("/static/"):
            continue
        data = (STATIC / path[len("/static/"):]).read_bytes()
        parts.append({"what": path, "raw": len(data), "gzip": gz(data)})
    images = re.findall(r'<img[^>]+src="(/[^"]+)"', text)
    return {"parts": parts, "raw": sum(p["raw"] for p in parts), "gzip": sum(p["gzip"] for p in parts),
            "images_not_counted": images}


def htmx_swaps(app, client, plan_id):
    """The plan page's htmx answers on a draft: opening a row's edit form in place, and saving
    the row (the changed part and the totals, out of band)."""
    from portal.extensions import db
    from portal.models import Plan
    with app.app_context():
        plan = db.session.get(Plan, plan_id)
        row = plan.rows[len(plan.rows) // 2]
        form = {name: "" if getattr(row, name) is None else str(getattr(row, name)) for name in (
            "part", "kegiatan", "description", "pelaksana", "seksi", "sasaran", "target_count", "target_unit",
            "mitra", "place", "schedule_text", "funding_text", "indicator")}
        form.update(schedule_read_from=row.schedule_text or "", version=str(row.version))
        row_id = row.id
    headers = {"HX-Request": "true", "HX-Current-URL": f"http://localhost/rencana/{plan_id}"}
    opened = client.get(f"/rencana/{plan_id}?ubah={row_id}", headers={**headers, "HX-Target": f"bagian-{form['part']}"})
    form["description"] = (form["description"] + " Diperbarui.").strip()
    saved = client.post(f"/rencana/{plan_id}/baris/{row_id}", data=form, headers=headers)
    if opened.status_code != 200 or saved.status_code != 200:
        raise RuntimeError(f"htmx swaps answered {opened.status_code}/{saved.status_code}: {saved.data[:300]!r}")
    return {"edit_form": {"raw": len(opened.data), "gzip": gz(opened.data)},
            "row_save": {"raw": len(saved.data), "gzip": gz(saved.data)}}


# -- the kabupaten feed ------------------------------------------------------------------------------

def feed_builds(app, subscription_id, runs=3):
    """Cold builds of the kabupaten feed (no cached text, fresh session each time) with the
    portal's builder and with the naive icalendar build, alternating, in this process."""
    from benchlib import naive_ical
    from portal.blueprints.feeds import builder
    from portal.blueprints.feeds.routes import _row_url
    from portal.extensions import db
    from portal.models import FeedSubscription
    base = "http://127.0.0.1/"
    result = {"portal_ms": [], "naive_ms": []}
    with app.test_request_context(base_url=base):
        def prepared():
            db.session.remove()
            subscription = db.session.get(FeedSubscription, subscription_id)
            return subscription, builder.version(subscription, base)

        subscription, current = prepared()
        started = time.perf_counter()
        body = builder.build(subscription, current, _row_url)  # the first ever: publishes every event
        result["first_build_ms"] = round((time.perf_counter() - started) * 1000, 1)
        result["events"] = body.count("BEGIN:VEVENT")
        result["activities"] = len(set(line for line in body.split("\r\n") if line.startswith("UID:")))
        result["bytes"] = len(body.encode("utf-8"))
        started = time.perf_counter()
        prepared()
        result["version_ms"] = round((time.perf_counter() - started) * 1000, 1)
        for _ in range(runs):
            subscription, current = prepared()
            started = time.perf_counter()
            builder.build(subscription, current, _row_url)
            result["portal_ms"].append(round((time.perf_counter() - started) * 1000, 1))
            subscription, current = prepared()
            started = time.perf_counter()
            naive = naive_ical.build(subscription, current, _row_url)
            result["naive_ms"].append(round((time.perf_counter() - started) * 1000, 1))
        result["naive_events"] = naive.count("BEGIN:VEVENT")
        result["naive_bytes"] = len(naive.encode("utf-8"))
        db.session.remove()
    result["portal_median_ms"] = statistics.median(result["portal_ms"])
    result["naive_median_ms"] = statistics.median(result["naive_ms"])
    result["speedup"] = round(result["naive_median_ms"] / result["portal_median_ms"], 2)
    return result


def feed_http(app, token):
    """The feed through the route in this process: a cold fetch, then 304 on If-None-Match and
    on If-Modified-Since; returns the validators for the load runs."""
    client = app.test_client()
    app.extensions.get("feed_cache", {}).clear()
    started = time.perf_counter()
    response = client.get(f"/ical/{token}.ics")
    cold_ms = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"feed answered {response.status_code}")
    etag, modified = response.headers["ETag"], response.headers["Last-Modified"]
    inm = client.get(f"/ical/{token}.ics", headers={"If-None-Match": etag})
    ims = client.get(f"/ical/{token}.ics", headers={"If-Modified-Since": modified})
    return {"cold_route_ms": round(cold_ms, 1), "etag": etag, "last_modified": modified,
            "inm_status": inm.status_code, "ims_status": ims.status_code, "bytes": len(response.data)}


# -- office formats ----------------------------------------------------------------------------------

def xlsx_import(app, operator_client, plan_id, kampung_id, year, keep_structure):
    """Export ``plan_id`` as the portal's XLSX (optionally without its hidden structure sheet,
    so every schedule and funding text is read again, as for a file typed by hand), then import
    it through the three steps the routes take: upload (staged), preview, confirm."""
    from openpyxl import load_workbook

    from portal.blueprints.plans.sheets import STRUCTURE_SHEET
    response = operator_client.get(f"/rencana/{plan_id}/unduh.xlsx")
    if response.status_code != 200:
        raise RuntimeError(f"xlsx export answered {response.status_code}")
    data = response.data
    if not keep_structure:
        book = load_workbook(io.BytesIO(data))
        del book[STRUCTURE_SHEET]
        out = io.BytesIO()
        book.save(out)
        data = out.getvalue()
    timings = {}
    started = time.perf_counter()
    upload = operator_client.post(f"/kampung/{kampung_id}/rencana/impor", data={
        "year": str(year), "file": (io.BytesIO(data), "rencana.xlsx")}, content_type="multipart/form-data")
    timings["upload_ms"] = (time.perf_counter() - started) * 1000
    if upload.status_code != 302:
        raise RuntimeError(f"xlsx upload answered {upload.status_code}: {upload.data[:400]!r}")
    preview_url = upload.headers["Location"]
    started = time.perf_counter()
    preview = operator_client.get(preview_url)
    timings["preview_ms"] = (time.perf_counter() - started) * 1000
    if preview.status_code != 200:
        raise RuntimeError(f"xlsx preview answered {preview.status_code}")
    started = time.perf_counter()
    confirm = operator_client.post(preview_url, data={})
    timings["confirm_ms"] = (time.perf_counter() - started) * 1000
    if confirm.status_code != 302 or "/rencana/" not in confirm.headers.get("Location", ""):
        raise RuntimeError(f"xlsx import answered {confirm.status_code}: {confirm.data[:400]!r}")
    from portal.extensions import db
    from portal.models import Plan
    with app.app_context():
        new_id = int(confirm.headers["Location"].rstrip("/").rsplit("/", 1)[1])
        rows = len(db.session.get(Plan, new_id).rows)
    timings = {k: round(v, 1) for k, v in timings.items()}
    timings["total_ms"] = round(sum(timings.values()), 1)
    timings.update(rows=rows, file_bytes=len(data), structure_sheet=keep_structure)
    return timings


def pdf(client, plan_id, runs=2):
    """GET /rencana/<id>/unduh.pdf: the first (WeasyPrint and fonts loading) and the next."""
    times, size = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(f"/rencana/{plan_id}/unduh.pdf")
        times.append(round((time.perf_counter() - started) * 1000, 1))
        if response.status_code != 200:
            raise RuntimeError(f"pdf answered {response.status_code}")
        size = len(response.data)
    return {"first_ms": times[0], "warm_ms": min(times[1:]) if len(times) > 1 else times[0], "bytes": size}

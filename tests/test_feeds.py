"""Calendar feeds (Langganan kalender): tokens, who may subscribe to what, what a feed shows,
SEQUENCE, HTTP caching, revocation and the permission re-check on every fetch, the rate limit,
token redaction in logs, district feeds, the single-activity .ics download and the CLI.

Every feed fetched here is parsed by two independent parsers (icalendar and vobject) and expanded
with recurring_ical_events, then compared with ``portal.occurrences.planned_dates``.

The feed window is computed from today's UTC date (whole months around the current one), so the
plans are for the current year: a kampung feed (12 months back and ahead) always covers all of it.
"""
import hashlib
import logging
import re
import uuid
from datetime import date, datetime, time, timedelta, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urlparse

import icalendar
import pytest
import recurring_ical_events
import sqlalchemy as sa
import vobject
from flask import current_app

from portal.blueprints.feeds import builder
from portal.blueprints.feeds import services as feed_services
from portal.blueprints.plans import approval
from portal.blueprints.plans.services import add_row, create_plan, update_row
from portal.extensions import db
from portal.labels import REQUIRED
from portal.models import FeedSubscription, Wilayah
from portal.occurrences import planned_dates
from tests.conftest import PASSWORD

TODAY = datetime.now(timezone.utc).date()
YEAR = TODAY.year
BULAN = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
         "Oktober", "November", "Desember"]
TOKEN_RE = re.compile(r"kkbcal_[A-Za-z0-9_-]+")

# key → row data for this year's plan of Kampung KB A. Part I is seksi "data", II "perilaku",
# III "layanan", IV "lingkungan".
ROWS = {
    "monthly": {"part": "I", "kegiatan": "Rapat bulanan Pokja; evaluasi, laporan", "schedule_text": "Sebulan sekali",
                "pelaksana": "Sekretaris", "funding_text": "Dana Desa Rp 1.200.000"},
    "once": {"part": "I", "kegiatan": "Pendataan keluarga baru", "schedule_text": f"Tanggal 12 Maret {YEAR}",
             "place": "Balai desa"},
    "weekly": {"part": "II", "kegiatan": "Kelas BKB", "schedule_text": "Setiap Jumat pukul 09.00",
               "schedule_read_from": "Setiap Jumat pukul 09.00", "frequency": "weekly",
               "start_date": date(YEAR, 1, 1), "end_date": date(YEAR, 12, 31), "weekday": 4,
               "start_time": time(9, 0), "duration_minutes": 90},
    "last_monday": {"part": "II", "kegiatan": "Penyuluhan remaja", "schedule_text": "Senin minggu ke-5 setiap bulan"},
    "bimonthly": {"part": "III", "kegiatan": "Pelayanan KB keliling", "schedule_text": "Dua bulan sekali"},
    "period": {"part": "III", "kegiatan": "Pemutakhiran data layanan", "schedule_text": f"Maret - Mei {YEAR}"},
    "day31": {"part": "IV", "kegiatan": "Kerja bakti lingkungan", "schedule_text": "Setiap tanggal 31"},
}
SEKSI_OF = {"I": "data", "II": "perilaku", "III": "layanan", "IV": "lingkungan"}
ROWS_OF_SEKSI = {s: {k for k, r in ROWS.items() if SEKSI_OF[r["part"]] == s} for s in SEKSI_OF.values()}
# Kampung KB B (another kabupaten): one activity.
ROWS_B = {"b_monthly": {"part": "I", "kegiatan": "Rapat Pokja Sereh", "schedule_text": "Sebulan sekali"}}


NOT_FOUND = "Langganan kalender tidak ditemukan atau sudah dicabut."
NO_OWN_ACTIVITIES = ("Anda belum tercatat sebagai pengurus atau anggota seksi, jadi belum ada "
                     "&#34;kegiatan saya&#34;. Pilih seluruh rencana Kampung KB atau satu seksi.")
NO_OWN_ACTIVITIES_TEXT = NO_OWN_ACTIVITIES.replace("&#34;", '"')


# -- fixtures -------------------------------------------------------------------------------------

@pytest.fixture
def kb(pokja, make_user, make_position):
    """The pokja fixture (Kampung KB A with one account per role) plus the Ketua Seksi of
    "lingkungan", and a Pengarah for Kampung KB B so B's plans can be approved."""
    users = dict(pokja)
    users["seksi_lingkungan"] = make_user("seksi.lingkungan", area=pokja["kampung"].desa)
    make_position(pokja["kampung"], "ketua_seksi", "lingkungan", user=users["seksi_lingkungan"])
    users["lurah_b"] = make_user("lurah.b", area=pokja["other_kampung"].desa)
    make_position(pokja["other_kampung"], "pengarah", user=users["lurah_b"])
    return users


def act(plan, name, user):
    approval.perform(plan, name, user, password=PASSWORD, note="Perbaiki jadwal." if name == "kembalikan" else None)
    db.session.commit()


# The steps that bring a fresh draft to each state (a Ketua submitting signs at once).
STEPS = {
    "draf": [],
    "diajukan": [("ajukan", "sekretaris")],
    "ditandatangani": [("ajukan", "sekretaris"), ("tandatangani", "ketua")],
    "dikembalikan": [("ajukan", "sekretaris"), ("kembalikan", "lurah")],
    "disetujui": [("ajukan", "ketua"), ("setujui", "lurah")],
}


def make_plan(kb, rows=ROWS, year=YEAR, state="disetujui", kampung=None, people=None):
    """A plan with ``rows`` brought to ``state``; ``people`` maps sekretaris/ketua/lurah to users
    (Kampung KB A's by default)."""
    kampung = kampung or kb["kampung"]
    people = people or {"sekretaris": kb["sekretaris"], "ketua": kb["ketua"], "lurah": kb["lurah"]}
    plan = create_plan(kampung, year, by=people["sekretaris"])
    for data in rows.values():
        add_row(plan, dict(data), by=people["sekretaris"])
    db.session.commit()
    for name, role in STEPS[state]:
        act(plan, name, people[role])
    return plan


def make_plan_b(kb, rows=ROWS_B, **kw):
    people = {"sekretaris": kb["outsider"], "ketua": kb["outsider"], "lurah": kb["lurah_b"]}
    return make_plan(kb, rows, kampung=kb["other_kampung"], people=people, **kw)


@pytest.fixture
def plan(kb):
    return make_plan(kb)


def rows_of(plan, rows=ROWS):
    by_name = {r.kegiatan: r for r in plan.rows}
    return {key: by_name[data["kegiatan"]] for key, data in rows.items()}


def uid_of(row):
    return str(uuid.UUID(hex=row.lineage))


def subscribe(user, scope="kampung", kampung=None, seksi=None, wilayah=None, name="HP saya", **kw):
    """A subscription made through the service (as the page and the CLI do); returns its token."""
    _subscription, token = feed_services.create(user, name, scope, kampung=kampung, seksi=seksi,
                                                wilayah=wilayah, **kw)
    db.session.commit()
    return token


def feed_path(token):
    return f"/ical/{token}.ics"


# -- parsing --------------------------------------------------------------------------------------

class Feed:
    """A feed parsed by icalendar and vobject (which must agree on its events)."""

    def __init__(self, text):
        self.text = text
        self.cal = icalendar.Calendar.from_ical(text)
        self.vcal = vobject.readOne(text)
        self.vevents = list(self.cal.walk("VEVENT"))
        v_events = getattr(self.vcal, "vevent_list", [])
        assert len(v_events) == len(self.vevents)
        assert sorted((str(e.uid.value), str(e.sequence.value)) for e in v_events) == \
            sorted((str(e["UID"]), str(e["SEQUENCE"])) for e in self.vevents)
        self.v_by_uid = {}
        for event in v_events:
            self.v_by_uid.setdefault(str(event.uid.value), []).append(event)

    @property
    def uids(self):
        return {str(e["UID"]) for e in self.vevents}

    def blocks(self, uid):
        return [e for e in self.vevents if str(e["UID"]) == uid]

    def master(self, uid):
        found = [e for e in self.blocks(uid) if "RECURRENCE-ID" not in e]
        assert len(found) == 1, f"{uid}: {len(found)} master events"
        return found[0]

    def overrides(self, uid):
        return [e for e in self.blocks(uid) if "RECURRENCE-ID" in e]

    def occurrences(self, start=date(YEAR, 1, 1), end=date(YEAR + 1, 1, 1)):
        """{uid: sorted start days} of every occurrence between start and end (exclusive)."""
        found = {}
        for event in recurring_ical_events.of(self.cal).between(start, end):
            found.setdefault(str(event["UID"]), []).append(_day(event["DTSTART"].dt))
        return {uid: sorted(days) for uid, days in found.items()}

    def v_count(self, uid):
        """How many dates vobject's own RRULE/EXDATE expansion gives the master event."""
        master = next(e for e in self.v_by_uid[uid] if not hasattr(e, "recurrence_id"))
        if not hasattr(master, "rrule"):
            return 1
        return len(list(master.getrruleset(addRDate=True)))


def _day(moment):
    return moment.date() if isinstance(moment, datetime) else moment


def fetch(token, status=200, **headers):
    """GET a feed as a calendar app does: a client of its own, without the test's session;
    parse it when it answers 200."""
    response = current_app.test_client().get(feed_path(token), headers=headers)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    if status == 200:
        assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
        response.feed = Feed(response.get_data(as_text=True))
    return response


def feed_of(token):
    return fetch(token).feed


def body(response):
    return response.get_data(as_text=True)


# -- the page -------------------------------------------------------------------------------------

def _attr(tag, name):
    found = re.search(rf'\b{name}="([^"]*)"', tag)
    return found.group(1) if found else None


def browser_form(client, **choices):
    """What a browser would post from the "Buat langganan baru" form as rendered for the logged-in
    user, with ``choices`` applied (None leaves a field out)."""
    html = body(client.get("/kalender"))
    form = re.search(r'<form[^>]*class="subscribe">(.*?)</form>', html, re.S).group(1)
    data = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name, kind = _attr(tag, "name"), _attr(tag, "type")
        if not name:
            continue
        if kind in ("radio", "checkbox"):
            if re.search(r"\bchecked\b", tag):
                data[name] = _attr(tag, "value") or "y"
        else:
            data[name] = _attr(tag, "value") or ""
    for name, inner in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        options = re.findall(r"<option[^>]*>", inner)
        chosen = next((o for o in options if re.search(r"\bselected\b", o)), options[0] if options else None)
        if chosen is not None:
            data[name] = _attr(chosen, "value")
    for name, value in choices.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = str(value)
    return data


def post_subscription(client, **choices):
    return client.post("/kalender", data=browser_form(client, **choices))


def create_via_page(client, **choices):
    """Subscribe through the form: the POST redirects (Post/Redirect/Get) to the page, which shows
    the new URL once. Returns that page."""
    response = post_subscription(client, **choices)
    assert response.status_code == 302, body(response)[:2000]
    assert urlparse(response.headers["Location"]).path == "/kalender"
    assert response.headers["Location"].endswith("#alamat")
    return client.get("/kalender")


def shown_url(response):
    html = body(response)
    found = re.search(r'<input id="feed-url"[^>]*value="([^"]+)"', html)
    assert found, "the page shows no feed URL"
    return found.group(1)


def field_error(html, field_id):
    found = re.search(rf'<p class="error" id="{field_id}-err">(.*?)</p>', html)
    return found.group(1) if found else None


def scope_options(html):
    return re.findall(r'<input[^>]*name="scope"[^>]*value="([^"]+)"', html)


def feed_row(subscription_id):
    return db.session.execute(sa.select(FeedSubscription.__table__).where(
        FeedSubscription.id == subscription_id)).mappings().one()


def active_count(user):
    return len(feed_services.active_subscriptions(user))


# == 1. tokens ====================================================================================

def test_tokens_are_long_random_and_only_their_hash_is_stored(kb, plan, client, login):
    login("ketua")
    urls = [shown_url(create_via_page(client, name=name, scope="kampung", kampung=kb["kampung"].id))
            for name in ("HP saya", "Laptop kantor")]
    tokens = [TOKEN_RE.search(urlparse(url).path).group(0) for url in urls]
    assert tokens[0] != tokens[1]
    for url, token in zip(urls, tokens):
        assert urlparse(url).path == f"/ical/{token}.ics"
        assert token.startswith("kkbcal_") and len(token) - len("kkbcal_") >= 43
        assert re.fullmatch(r"kkbcal_[A-Za-z0-9_-]+", token)
        stored = db.session.scalar(sa.select(FeedSubscription).where(
            FeedSubscription.token_hash == hashlib.sha256(token.encode()).hexdigest()))
        assert stored is not None and stored.token_hint == token[-4:]
        row = feed_row(stored.id)
        for column, value in row.items():
            assert token not in str(value) and token[len("kkbcal_"):] not in str(value), column
        assert fetch(token).status_code == 200


# == 2. creating subscriptions ====================================================================

@pytest.mark.parametrize("role,scope,extra,described", [
    ("ketua", "saya", {}, "Kegiatan saya"),
    ("ketua", "kampung", {"kampung": "A"}, "Seluruh rencana Kampung KB Harara"),
    ("seksi_head", "saya", {}, "Kegiatan saya"),
    ("seksi_head", "seksi", {"kampung": "A", "seksi": "data"}, "Penyediaan Data — Kampung KB Harara"),
    ("anggota", "kampung", {"kampung": "A"}, "Seluruh rencana Kampung KB Harara"),
    ("anggota", "seksi", {"kampung": "A", "seksi": "lingkungan"}, "Penataan Lingkungan — Kampung KB Harara"),
    ("lurah", "saya", {}, "Kegiatan saya"),
    ("operator", "kampung", {"kampung": "A"}, "Seluruh rencana Kampung KB Harara"),
    ("operator", "wilayah", {"wilayah": "kab"}, "Kabupaten Barito Timur: 1 bulan lalu sampai 12 bulan ke depan"),
    ("operator_kecamatan", "wilayah", {"wilayah": "kec"}, "Kecamatan Dusun Timur"),
    ("admin", "wilayah", {"wilayah": "kec2"}, "Kecamatan Awang"),
])
def test_create_through_the_page(role, scope, extra, described, kb, plan, client, login, wilayah):
    login(kb[role].username)
    choices = {"name": "  HP   saya ", "scope": scope, "reminder": "y"}
    if "kampung" in extra:
        choices["kampung"] = kb["kampung"].id
    if "seksi" in extra:
        choices["seksi"] = extra["seksi"]
    if "wilayah" in extra:
        choices["wilayah"] = wilayah[extra["wilayah"]].id
    response = create_via_page(client, **choices)
    html = body(response)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    url = shown_url(response)
    assert f'href="webcal://{url.split("://", 1)[1]}"' in html
    assert "Alamat ini hanya ditampilkan sekali." in html
    assert described in html
    subscription = feed_services.active_subscriptions(kb[role])[0]
    assert (subscription.name, subscription.scope, subscription.reminder) == ("HP saya", scope, True)
    assert subscription.kampung_id == (kb["kampung"].id if "kampung" in extra else None)
    assert subscription.seksi == extra.get("seksi")
    assert subscription.wilayah_id == (wilayah[extra["wilayah"]].id if "wilayah" in extra else None)
    # The page lists it by name and hint, and the address works without a session.
    token = TOKEN_RE.search(url).group(0)
    assert f"…{token[-4:]}" in html
    client.post("/keluar")
    assert fetch(token).status_code == 200
    # Shown once: neither the session nor a later visit keeps it.
    login(kb[role].username)
    assert token not in body(client.get("/kalender"))
    assert active_count(kb[role]) == 1


def test_the_url_is_shown_once_and_a_reload_does_not_subscribe_again(kb, plan, client, login):
    login("ketua")
    page = create_via_page(client, name="HP", scope="kampung", kampung=kb["kampung"].id)
    token = TOKEN_RE.search(shown_url(page)).group(0)
    with client.session_transaction() as session:
        assert token not in str(dict(session))
    again = client.get("/kalender")
    assert 'id="feed-url"' not in body(again) and token not in body(again)
    assert again.headers.get("Cache-Control") == "no-store"  # a logged-in page
    assert active_count(kb["ketua"]) == 1


def test_anggota_without_seksi_cannot_choose_saya(kb, plan, client, login):
    login("anggota")
    html = body(client.get("/kalender"))
    assert "saya" not in scope_options(html)  # not offered; "kampung" is preselected instead
    assert re.search(r'<input(?=[^>]*\bchecked\b)[^>]*name="scope"[^>]*value="kampung"', html)
    response = post_subscription(client, name="HP Bu Ani", scope="saya")  # posted anyway
    html = body(response)
    assert response.status_code == 422
    assert field_error(html, "scope") == NO_OWN_ACTIVITIES
    assert re.search(r'<input[^>]*name="name"[^>]*value="HP Bu Ani"', html)
    assert 'id="feed-url"' not in html
    assert active_count(kb["anggota"]) == 0


def test_name_is_required(kb, plan, client, login):
    login("ketua")
    response = post_subscription(client, name="   ", scope="kampung", kampung=kb["kampung"].id)
    assert response.status_code == 422
    assert field_error(body(response), "name") == REQUIRED
    assert active_count(kb["ketua"]) == 0


def test_kampung_the_user_cannot_see_is_refused(kb, plan, client, login):
    login("ketua")
    # Kampung KB B is not offered ...
    html = body(client.get("/kalender"))
    assert f'value="{kb["other_kampung"].id}"' not in re.search(
        r'<select[^>]*name="kampung"[^>]*>(.*?)</select>', html, re.S).group(1)
    # ... and refused when posted anyway, for both scopes that name a Kampung KB.
    for scope in ("kampung", "seksi"):
        response = post_subscription(client, name="Intip", scope=scope, kampung=kb["other_kampung"].id, seksi="data")
        assert response.status_code == 422
        assert field_error(body(response), "kampung") == "Pilih Kampung KB."
    assert active_count(kb["ketua"]) == 0


def test_wilayah_is_only_for_operators(kb, plan, client, login, wilayah):
    login("ketua")
    html = body(client.get("/kalender"))
    assert "wilayah" not in scope_options(html)
    assert 'name="wilayah"' not in html
    response = post_subscription(client, name="Kabupaten", scope="wilayah", wilayah=wilayah["kab"].id)
    assert response.status_code == 422
    assert 'id="feed-url"' not in body(response)
    assert active_count(kb["ketua"]) == 0
    # An operator is offered it, with the area preselected.
    login("op.kab")
    html = body(client.get("/kalender"))
    assert "wilayah" in scope_options(html)
    assert re.search(rf'<option(?=[^>]*\bselected\b)[^>]*value="{wilayah["kab"].id}"', html)


def test_refused_wilayah_tells_the_user_why(kb, plan, client, login, wilayah):
    login("op.kab")
    data = browser_form(client, name="Kabupaten", scope="wilayah", wilayah=wilayah["kab"].id)
    kb["operator"].is_operator = False  # e.g. an admin ends the operator role while the form is open
    db.session.commit()
    response = client.post("/kalender", data=data)
    assert response.status_code == 422
    assert "Pilih kecamatan atau kabupaten dalam wilayah kerja Anda." in body(response)


def test_operator_out_of_scope_is_refused(kb, plan, client, login, wilayah):
    for role, target in (("operator_kecamatan", "kab"), ("operator_kecamatan", "kec2"),
                         ("operator", "kab_other"), ("operator_other", "kec"), ("operator", "desa")):
        login(kb[role].username)
        html = body(client.get("/kalender"))
        assert f'value="{wilayah[target].id}"' not in re.search(
            r'<select[^>]*name="wilayah"[^>]*>(.*?)</select>', html, re.S).group(1)
        response = post_subscription(client, name="Kabupaten", scope="wilayah", wilayah=wilayah[target].id)
        assert response.status_code == 422, (role, target)
        assert field_error(body(response), "wilayah") == "Pilih kecamatan atau kabupaten dalam wilayah kerja Anda."
        assert active_count(kb[role]) == 0


def test_operator_cannot_subscribe_to_a_kampung_outside_the_scope(kb, plan, client, login):
    login("op.lain")
    response = post_subscription(client, name="Intip", scope="kampung", kampung=kb["kampung"].id)
    assert response.status_code == 422
    assert field_error(body(response), "kampung") == "Pilih Kampung KB."


def test_at_most_twenty_active_subscriptions(kb, plan, client, login):
    for n in range(20):
        subscribe(kb["ketua"], kampung=kb["kampung"], name=f"Perangkat {n}")
    login("ketua")
    response = post_subscription(client, name="Perangkat 21", scope="kampung", kampung=kb["kampung"].id)
    assert response.status_code == 422
    assert field_error(body(response), "name") == (
        "Anda sudah punya 20 langganan aktif. Cabut yang tidak dipakai sebelum membuat yang baru.")
    assert active_count(kb["ketua"]) == 20
    # Revoking one makes room again.
    oldest = feed_services.active_subscriptions(kb["ketua"])[-1]
    assert client.post(f"/kalender/{oldest.id}/cabut").status_code == 302
    create_via_page(client, name="Perangkat 21", scope="kampung", kampung=kb["kampung"].id)
    assert active_count(kb["ketua"]) == 20


# == 3. what a feed shows =========================================================================

def activity_url(plan, row, action=""):
    return f"/rencana/{plan.id}/kegiatan/{row.id}" + (f"/{action}" if action else "")


def post_tick(client, plan, row, day, aksi="done", **extra):
    data = {"tanggal": day.isoformat(), "aksi": aksi, **extra}
    response = client.post(activity_url(plan, row, "jadwal"), data=data)
    assert response.status_code == 302, body(response)[:500]
    return response


def post_status(client, plan, row, status, reason="", version="0"):
    response = client.post(activity_url(plan, row, "status"),
                           data={"status": status, "percent": "", "reason": reason, "version": version})
    assert response.status_code == 302, body(response)[:500]
    return response


def test_occurrences_match_the_planned_dates(kb, plan, client):
    rows = rows_of(plan)
    feed = feed_of(subscribe(kb["ketua"], kampung=kb["kampung"]))
    assert feed.uids == {uid_of(r) for r in rows.values()}
    occurrences = feed.occurrences()
    for key, row in rows.items():
        uid = uid_of(row)
        planned = planned_dates(row)
        if key == "period":
            assert planned == []  # a continuous period: one event spanning it (below)
            continue
        assert occurrences[uid] == planned, key
        assert feed.v_count(uid) == len(planned), key
    assert len(occurrences[uid_of(rows["monthly"])]) == 12
    assert len(occurrences[uid_of(rows["bimonthly"])]) == 6
    assert occurrences[uid_of(rows["day31"])][1] == date(YEAR, 2, 28 if YEAR % 4 else 29)
    assert all(day.weekday() == 4 for day in occurrences[uid_of(rows["weekly"])])
    # Text with ; and , survives escaping in both parsers.
    master = feed.master(uid_of(rows["monthly"]))
    assert str(master["SUMMARY"]) == ROWS["monthly"]["kegiatan"]
    assert feed.v_by_uid[uid_of(rows["monthly"])][0].summary.value == ROWS["monthly"]["kegiatan"]
    assert "Pelaksana: Sekretaris" in str(master["DESCRIPTION"])
    assert str(master["CATEGORIES"].cats[0]) == "Penyediaan Data"


def test_all_day_events_end_the_next_day_and_timed_ones_carry_their_zone(kb, plan, client):
    rows = rows_of(plan)
    feed = feed_of(subscribe(kb["ketua"], kampung=kb["kampung"]))
    once = feed.master(uid_of(rows["once"]))
    assert once["DTSTART"].dt == date(YEAR, 3, 12) and not isinstance(once["DTSTART"].dt, datetime)
    assert once["DTEND"].dt == date(YEAR, 3, 13)  # exclusive
    assert "RRULE" not in once
    assert str(once["LOCATION"]) == "Balai desa, Desa Harara"
    period = feed.master(uid_of(rows["period"]))
    assert (period["DTSTART"].dt, period["DTEND"].dt) == (date(YEAR, 3, 1), date(YEAR, 6, 1))
    assert str(period["TRANSP"]) == "TRANSPARENT" and "RRULE" not in period
    weekly = feed.master(uid_of(rows["weekly"]))
    start, end = weekly["DTSTART"].dt, weekly["DTEND"].dt
    assert str(start.tzinfo) == "Asia/Jakarta" and start.time() == time(9, 0)
    assert end - start == timedelta(minutes=90)
    assert weekly["RRULE"]["UNTIL"][0].tzinfo is not None  # UTC, as RFC 5545 requires with a TZID
    assert [str(z["TZID"]) for z in feed.cal.walk("VTIMEZONE")] == ["Asia/Jakarta"]
    v_weekly = feed.v_by_uid[uid_of(rows["weekly"])][0]
    assert v_weekly.dtstart.value.utcoffset() == timedelta(hours=7)


def test_uid_is_the_lineage_and_stays_across_fetches_and_progress(kb, plan, client, login):
    rows = rows_of(plan)
    token = subscribe(kb["ketua"], kampung=kb["kampung"])
    first = feed_of(token)
    for row in rows.values():
        assert str(uuid.UUID(uid_of(row))) == uid_of(row)
        assert uid_of(row).replace("-", "") == row.lineage
    login("ketua")
    post_tick(client, plan, rows["monthly"], date(YEAR, 1, 1))
    post_status(client, plan, rows["once"], "berjalan")
    second = feed_of(token)
    assert second.uids == first.uids == {uid_of(r) for r in rows.values()}
    assert "Status: Berjalan" in str(second.master(uid_of(rows["monthly"]))["DESCRIPTION"])


@pytest.mark.parametrize("state", ["draf", "diajukan", "ditandatangani", "dikembalikan"])
def test_only_approved_plans_appear(state, kb, plan, client):
    """Next year's plan, in ``state``, is inside the window but absent until it is approved."""
    next_rows = {"next": {"part": "I", "kegiatan": "Rapat awal tahun", "schedule_text": f"Tanggal 15 Januari {YEAR + 1}"}}
    next_plan = make_plan(kb, next_rows, year=YEAR + 1, state=state)
    uid = uid_of(rows_of(next_plan, next_rows)["next"])
    tokens = {scope: subscribe(kb["ketua"], scope, kampung=kb["kampung"], seksi="data", name=scope)
              for scope in ("saya", "kampung", "seksi")}
    tokens["wilayah"] = subscribe(kb["operator"], "wilayah", wilayah=kb["kampung"].desa.parent.parent)
    for scope, token in tokens.items():
        feed = feed_of(token)
        assert uid not in feed.uids, scope
        assert uid_of(rows_of(plan)["monthly"]) in feed.uids, scope
    # Approved, it appears (so the check above can fail).
    lurah, ketua = kb["lurah"], kb["ketua"]
    if state in ("draf", "dikembalikan"):
        act(next_plan, "ajukan", ketua)
    elif state == "diajukan":
        act(next_plan, "tandatangani", ketua)
    act(next_plan, "setujui", lurah)
    for scope, token in tokens.items():
        assert uid in feed_of(token).uids, scope


def test_a_kampung_with_only_a_draft_has_an_empty_feed(kb, client):
    make_plan(kb, state="draf")
    feed = feed_of(subscribe(kb["ketua"], kampung=kb["kampung"]))
    assert feed.uids == set() and "BEGIN:VCALENDAR" in feed.text


def test_members_of_one_kampung_never_see_another(kb, plan, client):
    plan_b = make_plan_b(kb)
    uids_a = {uid_of(r) for r in rows_of(plan).values()}
    uids_b = {uid_of(r) for r in rows_of(plan_b, ROWS_B).values()}
    for user, scope, kampung, expected in (
            (kb["ketua"], "saya", None, uids_a), (kb["ketua"], "kampung", kb["kampung"], uids_a),
            (kb["anggota"], "kampung", kb["kampung"], uids_a),
            (kb["outsider"], "saya", None, uids_b), (kb["outsider"], "kampung", kb["other_kampung"], uids_b)):
        assert feed_of(subscribe(user, scope, kampung=kampung)).uids == expected, (user, scope)
    # A's members cannot subscribe to B, even through the service.
    with pytest.raises(feed_services.SubscriptionError, match="Pilih Kampung KB."):
        feed_services.create(kb["ketua"], "Intip", "kampung", kampung=kb["other_kampung"])


def test_seksi_scope_shows_only_that_seksi(kb, plan, client):
    rows = rows_of(plan)
    for seksi in ("data", "perilaku", "layanan", "lingkungan"):
        feed = feed_of(subscribe(kb["anggota"], "seksi", kampung=kb["kampung"], seksi=seksi, name=seksi))
        assert feed.uids == {uid_of(rows[key]) for key in ROWS_OF_SEKSI[seksi]}, seksi
        assert feed.uids  # every seksi has activities in this plan


def test_saya_follows_the_position(kb, plan, client):
    rows = rows_of(plan)
    for role, seksi in (("seksi_head", "data"), ("seksi_lingkungan", "lingkungan"),
                        ("ketua", None), ("sekretaris", None), ("lurah", None)):
        feed = feed_of(subscribe(kb[role], "saya"))
        keys = ROWS_OF_SEKSI[seksi] if seksi else set(ROWS)
        assert feed.uids == {uid_of(rows[key]) for key in keys}, role


def test_moved_and_cancelled_occurrences(kb, plan, client, login):
    rows = rows_of(plan)
    login("ketua")
    monthly, weekly, once = rows["monthly"], rows["weekly"], rows["once"]
    post_tick(client, plan, monthly, date(YEAR, 4, 1), aksi="moved", pindah_ke=date(YEAR, 4, 20).isoformat(),
              alasan="Bentrok dengan posyandu")
    post_tick(client, plan, monthly, date(YEAR, 12, 1), aksi="cancelled", alasan="Libur akhir tahun")
    first_friday = planned_dates(weekly)[1]
    post_tick(client, plan, weekly, first_friday, aksi="moved", pindah_ke=(first_friday + timedelta(days=1)).isoformat())
    post_tick(client, plan, once, date(YEAR, 3, 12), aksi="moved", pindah_ke=date(YEAR, 3, 14).isoformat())
    feed = feed_of(subscribe(kb["ketua"], kampung=kb["kampung"]))

    uid = uid_of(monthly)
    [override] = feed.overrides(uid)
    assert override["RECURRENCE-ID"].dt == date(YEAR, 4, 1)
    assert (override["DTSTART"].dt, override["DTEND"].dt) == (date(YEAR, 4, 20), date(YEAR, 4, 21))
    assert "Bentrok dengan posyandu" in str(override["DESCRIPTION"])
    master = feed.master(uid)
    assert [d.dt for d in master["EXDATE"].dts] == [date(YEAR, 12, 1)]
    expected = sorted((set(planned_dates(monthly)) - {date(YEAR, 4, 1), date(YEAR, 12, 1)}) | {date(YEAR, 4, 20)})
    assert feed.occurrences()[uid] == expected
    assert feed.v_count(uid) == 11  # vobject: the rule without the EXDATE
    assert len(feed.v_by_uid[uid]) == 2

    [timed] = feed.overrides(uid_of(weekly))
    assert timed["RECURRENCE-ID"].dt == datetime.combine(first_friday, time(9, 0)).replace(
        tzinfo=timed["RECURRENCE-ID"].dt.tzinfo)
    assert str(timed["RECURRENCE-ID"].dt.tzinfo) == "Asia/Jakarta"
    assert timed["DTSTART"].dt.date() == first_friday + timedelta(days=1)
    weekly_days = feed.occurrences()[uid_of(weekly)]
    assert first_friday not in weekly_days and first_friday + timedelta(days=1) in weekly_days
    assert len(weekly_days) == len(planned_dates(weekly))

    moved_once = feed.master(uid_of(once))  # a single event simply moves
    assert moved_once["DTSTART"].dt == date(YEAR, 3, 14) and feed.overrides(uid_of(once)) == []


def test_cancelled_activity_is_status_cancelled(kb, plan, client, login):
    rows = rows_of(plan)
    login("ketua")
    post_tick(client, plan, rows["monthly"], date(YEAR, 2, 1), aksi="moved", pindah_ke=date(YEAR, 2, 3).isoformat())
    post_status(client, plan, rows["monthly"], "dibatalkan", reason="Dana tidak cair")
    feed = feed_of(subscribe(kb["ketua"], kampung=kb["kampung"]))
    for uid in feed.uids:
        statuses = {str(e["STATUS"]) for e in feed.blocks(uid)}
        assert statuses == ({"CANCELLED"} if uid == uid_of(rows["monthly"]) else {"CONFIRMED"})
    assert len(feed.blocks(uid_of(rows["monthly"]))) == 2  # the override is cancelled too
    assert "Status: Dibatalkan (Dana tidak cair)" in str(feed.master(uid_of(rows["monthly"]))["DESCRIPTION"])
    assert {e.status.value for e in feed.v_by_uid[uid_of(rows["monthly"])]} == {"CANCELLED"}


def test_reminder_only_when_asked(kb, plan, client, login):
    rows = rows_of(plan)
    login("ketua")
    post_tick(client, plan, rows["monthly"], date(YEAR, 4, 1), aksi="moved", pindah_ke=date(YEAR, 4, 20).isoformat())
    with_alarm = feed_of(subscribe(kb["ketua"], kampung=kb["kampung"], reminder=True, name="Dengan"))
    without = feed_of(subscribe(kb["ketua"], kampung=kb["kampung"], name="Tanpa"))
    assert "VALARM" not in without.text and all(not e.walk("VALARM") for e in without.vevents)
    for event in with_alarm.vevents:
        alarms = event.walk("VALARM")
        if str(event["UID"]) == uid_of(rows["period"]):
            assert alarms == []  # no reminder for a three-month period
            continue
        [alarm] = alarms
        assert str(alarm["ACTION"]) == "DISPLAY" and str(alarm["DESCRIPTION"]).startswith("Besok: ")
        timed = isinstance(event["DTSTART"].dt, datetime)
        assert alarm["TRIGGER"].dt == (timedelta(days=-1) if timed else timedelta(hours=-15))
    assert len(with_alarm.vevents) == len(without.vevents) == len(ROWS) + 1


# == 4. SEQUENCE and LAST-MODIFIED ================================================================

def revise_once_row(kb, plan, schedule_text):
    """A revision of ``plan`` whose "once" row has a new schedule (a draft; not yet approved)."""
    revision = approval.create_revision(plan, by=kb["sekretaris"])
    db.session.commit()
    row = rows_of(revision)["once"]
    update_row(row, {**ROWS["once"], "schedule_text": schedule_text, "version": row.version}, by=kb["sekretaris"])
    db.session.commit()
    return revision


def stamp(event, name):
    return event[name].dt


def test_sequence_rises_when_a_revision_changes_the_schedule(kb, plan, client):
    token = subscribe(kb["ketua"], kampung=kb["kampung"])
    uid = uid_of(rows_of(plan)["once"])
    before = feed_of(token).master(uid)
    assert int(before["SEQUENCE"]) == 0 and before["DTSTART"].dt == date(YEAR, 3, 12)

    revision = revise_once_row(kb, plan, f"Tanggal 19 Maret {YEAR}")
    # Draft, submitted and returned revisions change nothing in the feed.
    for step in ("draft", "kembalikan"):
        if step == "kembalikan":
            act(revision, "ajukan", kb["sekretaris"])
            event = feed_of(token).master(uid)
            assert (int(event["SEQUENCE"]), event["DTSTART"].dt) == (0, date(YEAR, 3, 12))
            act(revision, "kembalikan", kb["lurah"])
        event = feed_of(token).master(uid)
        assert (int(event["SEQUENCE"]), event["DTSTART"].dt) == (0, date(YEAR, 3, 12)), step
    act(revision, "ajukan", kb["ketua"])
    act(revision, "setujui", kb["lurah"])

    feed = feed_of(token)
    after = feed.master(uid)
    assert str(after["UID"]) == uid
    assert int(after["SEQUENCE"]) == 1
    assert stamp(after, "LAST-MODIFIED") >= stamp(before, "LAST-MODIFIED")
    assert (after["DTSTART"].dt, after["DTEND"].dt) == (date(YEAR, 3, 19), date(YEAR, 3, 20))
    assert feed.occurrences()[uid] == [date(YEAR, 3, 19)]
    assert f"/rencana/{revision.id}/kegiatan/" in str(after["URL"])
    assert feed.v_by_uid[uid][0].sequence.value == "1"
    # Activities the revision left alone keep their SEQUENCE (their link now leads to the revision).
    for key, row in rows_of(plan).items():
        if key != "once":
            assert int(feed.master(uid_of(row))["SEQUENCE"]) == 0, key

    # Fetching again without changes keeps SEQUENCE (also after the per-process cache is dropped).
    current_app.extensions.pop("feed_cache", None)
    again = feed_of(token).master(uid)
    assert int(again["SEQUENCE"]) == 1 and stamp(again, "LAST-MODIFIED") == stamp(after, "LAST-MODIFIED")
    assert int(feed_of(subscribe(kb["anggota"], kampung=kb["kampung"])).master(uid)["SEQUENCE"]) == 1


# == 5. HTTP caching ==============================================================================

def test_etag_last_modified_and_304(kb, plan, client, login):
    token = subscribe(kb["ketua"], kampung=kb["kampung"])
    first = fetch(token)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert "private" in first.headers["Cache-Control"]
    assert first.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert re.fullmatch(r'"[^"]+"', etag)
    assert parsedate_to_datetime(modified) <= datetime.now(timezone.utc)

    same = fetch(token, status=304, **{"If-None-Match": etag})
    assert same.data == b"" and same.headers["ETag"] == etag
    assert "private" in same.headers["Cache-Control"]
    assert fetch(token, status=304, **{"If-Modified-Since": modified}).data == b""
    assert fetch(token, status=200, **{"If-None-Match": '"something-else"'}).headers["ETag"] == etag

    login("ketua")
    post_tick(client, plan, rows_of(plan)["monthly"], date(YEAR, 1, 1))
    changed = fetch(token, status=200, **{"If-None-Match": etag})
    assert changed.headers["ETag"] != etag
    assert "Status: Berjalan" in str(changed.feed.master(uid_of(rows_of(plan)["monthly"]))["DESCRIPTION"])
    assert "private" in changed.headers["Cache-Control"]
    fetch(token, status=304, **{"If-None-Match": changed.headers["ETag"]})


def test_undoing_a_mark_advances_last_modified(kb, plan, client, login):
    import time as clock
    token = subscribe(kb["ketua"], kampung=kb["kampung"])
    row = rows_of(plan)["monthly"]
    login("ketua")
    post_tick(client, plan, row, date(YEAR, 4, 1), aksi="moved", pindah_ke=date(YEAR, 4, 20).isoformat())
    moved = fetch(token)
    assert len(moved.feed.overrides(uid_of(row))) == 1
    clock.sleep(1.1)  # Last-Modified has whole seconds: the undo happens in a later second
    post_tick(client, plan, row, date(YEAR, 4, 1), aksi="undo")
    # The content changed (the ETag says so) ...
    assert fetch(token).headers["ETag"] != moved.headers["ETag"]
    # ... but a client that only sends If-Modified-Since is told nothing changed.
    fresh = fetch(token, status=200, **{"If-Modified-Since": moved.headers["Last-Modified"]})
    assert fresh.feed.overrides(uid_of(row)) == []


# == 6. revocation and the permission re-check ====================================================

def test_revoke_one_and_all(kb, plan, client, login):
    login("ketua")
    tokens = [TOKEN_RE.search(shown_url(create_via_page(client, name=n, scope="kampung",
                                                           kampung=kb["kampung"].id))).group(0)
              for n in ("HP", "Laptop", "Tablet")]
    subscriptions = {s.name: s for s in feed_services.active_subscriptions(kb["ketua"])}
    response = client.post(f"/kalender/{subscriptions['HP'].id}/cabut", follow_redirects=True)
    assert response.status_code == 200
    assert re.search(r"Langganan (“|&#34;)HP(”|&#34;) dicabut\. Alamatnya tidak dapat dipakai lagi\.", body(response))
    gone = fetch(tokens[0], status=404)
    assert body(gone) == NOT_FOUND + "\n" and gone.mimetype == "text/plain"
    fetch(tokens[1])
    fetch(tokens[2])
    # Revoking it again is 404 (nothing to revoke).
    assert client.post(f"/kalender/{subscriptions['HP'].id}/cabut").status_code == 404

    response = client.post("/kalender/cabut-semua", follow_redirects=True)
    assert "2 langganan dicabut." in body(response)
    assert "Belum ada langganan aktif." in body(response)
    for token in tokens:
        fetch(token, status=404)


def test_cannot_revoke_someone_elses_subscription(kb, plan, client, login):
    token = subscribe(kb["ketua"], kampung=kb["kampung"])
    [subscription] = feed_services.active_subscriptions(kb["ketua"])
    mine = subscribe(kb["anggota"], kampung=kb["kampung"])
    login("anggota")
    assert client.post(f"/kalender/{subscription.id}/cabut").status_code == 404
    assert client.post("/kalender/cabut-semua").status_code == 302  # revokes only the anggota's own
    assert db.session.get(FeedSubscription, subscription.id).revoked_at is None
    fetch(token)
    fetch(mine, status=404)
    assert client.post("/kalender/99999/cabut").status_code == 404


def test_unknown_and_malformed_tokens_are_404(kb, plan, client):
    token = subscribe(kb["ketua"], kampung=kb["kampung"])
    for other in (token[:-1] + ("A" if token[-1] != "A" else "B"), "kkbcal_", "abc", "kkbcal_" + "x" * 200,
                  token.replace("kkbcal_", "kkbcal-")):
        assert body(fetch(other, status=404)) == NOT_FOUND + "\n"


def test_deactivated_account_feed_is_404(kb, plan, client):
    token = subscribe(kb["ketua"], kampung=kb["kampung"])
    fetch(token)
    kb["ketua"].active = False
    db.session.commit()
    fetch(token, status=404)


def test_ended_position_ends_a_kampung_feed(kb, plan, client):
    tokens = [subscribe(kb["anggota"], kampung=kb["kampung"]),
              subscribe(kb["anggota"], "seksi", kampung=kb["kampung"], seksi="data")]
    for token in tokens:
        fetch(token)
    [position] = kb["anggota"].active_positions(kb["kampung"])
    position.ended_on = kb["kampung"].today()
    db.session.commit()
    for token in tokens:
        fetch(token, status=404)


def test_ended_seksi_position_empties_saya(kb, plan, client):
    token = subscribe(kb["seksi_head"], "saya")
    assert feed_of(token).uids == {uid_of(rows_of(plan)[k]) for k in ROWS_OF_SEKSI["data"]}
    [position] = kb["seksi_head"].active_positions(kb["kampung"])
    position.ended_on = kb["kampung"].today()
    db.session.commit()
    response = current_app.test_client().get(feed_path(token))
    assert response.status_code == 404 or Feed(body(response)).uids == set()


@pytest.mark.parametrize("role,scope_key,new_area", [("operator", "kab", "kab_other"),
                                                     ("operator_kecamatan", "kec", "kec2")])
def test_operator_scope_change_ends_a_wilayah_feed(role, scope_key, new_area, kb, plan, client, wilayah):
    user = kb[role]
    token = subscribe(user, "wilayah", wilayah=wilayah[scope_key])
    kampung_token = subscribe(user, kampung=kb["kampung"], name="Kampung")
    assert uid_of(rows_of(plan)["monthly"]) in feed_of(token).uids
    fetch(kampung_token)
    user.area = wilayah[new_area]
    db.session.commit()
    fetch(token, status=404)
    fetch(kampung_token, status=404)


def test_operator_who_stops_being_operator_loses_the_wilayah_feed(kb, plan, client, wilayah):
    token = subscribe(kb["operator"], "wilayah", wilayah=wilayah["kab"])
    fetch(token)
    kb["operator"].is_operator = False
    db.session.commit()
    fetch(token, status=404)


# == 7. rate limit ================================================================================

def test_rate_limit_per_token(kb, plan, client, app):
    app.config["FEED_RATE_LIMIT"] = "3 per minute"
    token = subscribe(kb["ketua"], kampung=kb["kampung"], name="Satu")
    other = subscribe(kb["ketua"], kampung=kb["kampung"], name="Dua")
    for _ in range(3):
        fetch(token)
    limited = current_app.test_client().get(feed_path(token))
    assert limited.status_code == 429
    assert token not in body(limited)
    for _ in range(3):
        fetch(other)  # another token has its own allowance
    assert current_app.test_client().get(feed_path(other)).status_code == 429


# == 8. logs ======================================================================================

def test_tokens_never_reach_the_logs(kb, plan, client, app, caplog, monkeypatch):
    for name in ("werkzeug", "portal", app.logger.name, "flask_limiter"):
        caplog.set_level(logging.DEBUG, logger=name)
    token = subscribe(kb["ketua"], kampung=kb["kampung"])
    fetch(token)
    fetch(token[:-2] + "zz", status=404)
    # What the development server writes for each request.
    logging.getLogger("werkzeug").info('%s - - [%s] "%s" %s', "127.0.0.1", "x", f"GET /ical/{token}.ics HTTP/1.1", 200)
    # An error while building a feed is logged by Flask with the request path.
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def broken(*args, **kwargs):
        raise RuntimeError("feed could not be built")
    monkeypatch.setattr(builder, "cached_body", broken)
    assert current_app.test_client().get(feed_path(token)).status_code == 500
    assert token not in caplog.text and token[len("kkbcal_"):] not in caplog.text
    for record in caplog.records:
        assert token not in record.getMessage()
    assert "kkbcal_[disamarkan]" in caplog.text
    assert "GET /ical/kkbcal_[disamarkan].ics HTTP/1.1" in caplog.text
    assert "Exception on /ical/kkbcal_[disamarkan].ics [GET]" in caplog.text


# == 9. district feeds ============================================================================

def month_text(day):
    return f"Tanggal {day.day} {BULAN[day.month - 1]} {day.year}"


def shift_month(day, months):
    """The first day of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def span(row):
    """First and last day a row's schedule covers."""
    if row.frequency == "period":
        return row.start_date, row.end_date
    planned = planned_dates(row)
    return planned[0], planned[-1]


def expected_in_window(rows, months_back, months_ahead):
    first = shift_month(TODAY, -months_back)
    last = shift_month(TODAY, months_ahead + 1) - timedelta(days=1)
    return {uid_of(r) for r in rows if span(r)[0] <= last and span(r)[1] >= first}


@pytest.fixture
def district(kb, plan, make_kampung, make_user, make_position, wilayah):
    """Kampung KB A (Kecamatan Dusun Timur) with ``plan``; three Kampung KBs in Kecamatan Awang with
    approved plans of 30 activities each (one this month, one in another month of this year, the
    rest recurring); Kampung KB B in another kabupaten. Returns the rows by group."""
    other_month = date(YEAR, 1 if TODAY.month != 1 else 2, 10)
    found = {"a": list(plan.rows), "inside": [], "outside": [], "awang": []}
    for n in range(3):
        desa = wilayah["desa_c"] if n == 0 else Wilayah(level="desa", code=f"62.13.04.20{n + 10}",
                                                         name=f"Desa {n}", kind="Desa", parent=wilayah["kec2"])
        kampung = make_kampung(desa)
        people = {role: make_user(f"{role}.awang{n}", area=desa) for role in ("sekretaris", "ketua", "lurah")}
        for role, position in (("sekretaris", "sekretaris"), ("ketua", "ketua"), ("lurah", "pengarah")):
            make_position(kampung, position, user=people[role])
        rows = {"inside": {"part": "I", "kegiatan": f"Kegiatan bulan ini {n}", "schedule_text": month_text(TODAY)},
                "outside": {"part": "II", "kegiatan": f"Kegiatan bulan lain {n}",
                            "schedule_text": month_text(other_month)}}
        for i in range(28):
            rows[f"bulk{i}"] = {"part": ["I", "II", "III", "IV"][i % 4], "kegiatan": f"Kegiatan rutin {i} — Desa {n}",
                                "schedule_text": ["Setiap minggu", "Sebulan sekali", "Setiap Jumat"][i % 3],
                                "pelaksana": "Pokja", "mitra": "Puskesmas, PLKB", "funding_text": "Dana Desa Rp 500.000"}
        mapped = rows_of(make_plan(kb, rows, kampung=kampung, people=people), rows)
        found["inside"].append(mapped["inside"])
        found["outside"].append(mapped["outside"])
        found["awang"] += list(mapped.values())
    found["b"] = list(make_plan_b(kb).rows)
    return found


def uids(rows):
    return {uid_of(r) for r in rows}


def test_district_feed_covers_the_kabupaten_within_its_window(kb, district, client, login, wilayah):
    login("op.kab")
    response = create_via_page(client, name="Kabupaten", scope="wilayah", wilayah=wilayah["kab"].id,
                               months_back="0", months_ahead="0")
    assert "Kabupaten Barito Timur: 0 bulan lalu sampai 0 bulan ke depan" in body(response)
    fetched = fetch(TOKEN_RE.search(shown_url(response)).group(0))
    feed = fetched.feed
    assert len(fetched.data) < 1_000_000
    assert uids(district["inside"]) <= feed.uids
    assert not uids(district["outside"]) & feed.uids
    assert not uids(district["b"]) & feed.uids
    assert feed.uids == expected_in_window(district["a"] + district["awang"], 0, 0)


def test_district_feed_default_window_size_and_kecamatan(kb, district, client, wilayah):
    token = subscribe(kb["operator"], "wilayah", wilayah=wilayah["kab"])
    [subscription] = feed_services.active_subscriptions(kb["operator"])
    assert (subscription.months_back, subscription.months_ahead) == (1, 12)
    fetched = fetch(token)
    assert len(fetched.data) < 1_000_000
    assert subscription.last_size == len(fetched.data)  # shown on the page when it nears 1 MB
    assert fetched.feed.uids == expected_in_window(district["a"] + district["awang"], 1, 12)
    assert not uids(district["b"]) & fetched.feed.uids
    # A kecamatan operator's feed of Dusun Timur has Kampung KB A only; an admin's of Awang, Awang only.
    kec = feed_of(subscribe(kb["operator_kecamatan"], "wilayah", wilayah=wilayah["kec"]))
    assert kec.uids == expected_in_window(district["a"], 1, 12)
    awang = feed_of(subscribe(kb["admin"], "wilayah", wilayah=wilayah["kec2"]))
    assert awang.uids == expected_in_window(district["awang"], 1, 12)


def test_window_months_are_validated_on_the_page(kb, plan, client, login, wilayah):
    login("op.kab")
    response = post_subscription(client, name="Kabupaten", scope="wilayah", wilayah=wilayah["kab"].id,
                                 months_back="25", months_ahead="-1")
    assert response.status_code == 422
    assert field_error(body(response), "months_back") and field_error(body(response), "months_ahead")
    assert active_count(kb["operator"]) == 0


# == 10. one activity as an .ics download =========================================================

def download(client, plan, row):
    return client.get(activity_url(plan, row, "kalender.ics"))


def test_single_activity_download(kb, plan, client, login):
    rows = rows_of(plan)
    feed = feed_of(subscribe(kb["ketua"], kampung=kb["kampung"]))
    login("seksi.data")
    for key in ("monthly", "once", "weekly"):
        response = download(client, plan, rows[key])
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
        assert response.headers["Content-Disposition"] == f'attachment; filename="kegiatan-{rows[key].id}.ics"'
        assert "private" in response.headers["Cache-Control"]
        single = Feed(body(response))
        uid = uid_of(rows[key])
        assert single.uids == {uid}
        assert single.master(uid)["DTSTART"].dt == feed.master(uid)["DTSTART"].dt
        assert int(single.master(uid)["SEQUENCE"]) == int(feed.master(uid)["SEQUENCE"])
        assert single.occurrences()[uid] == feed.occurrences()[uid]
        assert "VALARM" not in single.text


def test_single_activity_download_refusals(kb, plan, client, login):
    row = rows_of(plan)["monthly"]
    next_rows = {"next": {"part": "I", "kegiatan": "Rapat awal tahun", "schedule_text": f"Tanggal 15 Januari {YEAR + 1}"}}
    draft = make_plan(kb, next_rows, year=YEAR + 1, state="draf")
    submitted_rows = {"s": {"part": "I", "kegiatan": "Rapat akhir tahun", "schedule_text": f"Tanggal 15 Desember {YEAR - 1}"}}
    submitted = make_plan(kb, submitted_rows, year=YEAR - 1, state="diajukan")
    login("ketua")
    assert download(client, draft, draft.rows[0]).status_code == 404
    assert download(client, submitted, submitted.rows[0]).status_code == 404
    assert download(client, plan, draft.rows[0]).status_code == 404  # a row of another plan
    login("ketua.lain")
    assert download(client, plan, row).status_code == 404
    login("op.lain")
    assert download(client, plan, row).status_code == 404
    client.post("/keluar")
    anonymous = download(client, plan, row)
    assert anonymous.status_code == 302 and "/masuk" in anonymous.headers["Location"]


def test_superseded_version_download_does_not_undercut_the_feed(kb, plan, client, login):
    token = subscribe(kb["ketua"], kampung=kb["kampung"])
    old_row = rows_of(plan)["once"]
    uid = uid_of(old_row)
    feed_of(token)
    revision = revise_once_row(kb, plan, f"Tanggal 19 Maret {YEAR}")
    act(revision, "ajukan", kb["ketua"])
    act(revision, "setujui", kb["lurah"])
    current = feed_of(token).master(uid)
    assert (int(current["SEQUENCE"]), current["DTSTART"].dt) == (1, date(YEAR, 3, 19))

    login("ketua")
    response = download(client, plan, old_row)  # the old version's page still offers the link
    if response.status_code == 200:
        event = Feed(body(response)).master(uid)
        # Same UID: a calendar app must not be handed the old date with a newer SEQUENCE.
        assert event["DTSTART"].dt == date(YEAR, 3, 19)
    else:
        assert response.status_code == 404
    current_app.extensions.pop("feed_cache", None)
    assert int(feed_of(token).master(uid)["SEQUENCE"]) == 1


# == 11. the command line =========================================================================

def cli(runner, *args):
    return runner.invoke(args=["feed", *[str(a) for a in args]])


def test_cli_create_list_revoke(kb, plan, client, runner):
    result = cli(runner, "create", "ketua", "--name", "HP Bu Ketua", "--scope", "kampung",
                 "--kampung", kb["kampung"].id, "--reminder", "--base-url", "https://kkb.example.id")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    [subscription] = feed_services.active_subscriptions(kb["ketua"])
    assert lines[0] == (f'Langganan #{subscription.id} "HP Bu Ketua" untuk ketua: '
                        f"Seluruh rencana {kb['kampung'].name}")
    url = lines[-1]
    assert url.startswith("https://kkb.example.id/ical/kkbcal_") and url.endswith(".ics")
    token = TOKEN_RE.search(url).group(0)
    assert subscription.token_hash == hashlib.sha256(token.encode()).hexdigest()
    feed = feed_of(token)
    assert feed.uids == {uid_of(r) for r in rows_of(plan).values()}
    assert "BEGIN:VALARM" in feed.text

    default = cli(runner, "create", "seksi.data", "--name", "Laptop")
    assert default.exit_code == 0, default.output
    assert default.output.strip().splitlines()[-1].startswith("http://127.0.0.1:5000/ical/kkbcal_")
    assert feed_of(TOKEN_RE.search(default.output).group(0)).uids == \
        {uid_of(rows_of(plan)[k]) for k in ROWS_OF_SEKSI["data"]}

    listed = cli(runner, "list", "ketua")
    assert listed.exit_code == 0
    assert f"…{token[-4:]}" in listed.output and "HP Bu Ketua" in listed.output
    assert token not in listed.output and "kkbcal_" not in listed.output

    revoked = cli(runner, "revoke", subscription.id)
    assert revoked.exit_code == 0 and f'Langganan #{subscription.id} "HP Bu Ketua" dicabut.' in revoked.output
    fetch(token, status=404)
    assert "Tidak ada langganan aktif." in cli(runner, "list", "ketua").output
    again = cli(runner, "revoke", subscription.id)
    assert again.exit_code != 0 and f"Langganan aktif #{subscription.id} tidak ditemukan." in again.output


def test_cli_refuses_what_the_page_refuses(kb, plan, client, runner, wilayah):
    result = cli(runner, "create", "anggota", "--name", "HP", "--scope", "saya")
    assert result.exit_code != 0
    assert NO_OWN_ACTIVITIES_TEXT in result.output
    outsider = cli(runner, "create", "ketua", "--name", "HP", "--scope", "kampung", "--kampung", kb["other_kampung"].id)
    assert outsider.exit_code != 0 and "Pilih Kampung KB." in outsider.output
    not_operator = cli(runner, "create", "ketua", "--name", "HP", "--scope", "wilayah", "--wilayah", "62.13")
    assert not_operator.exit_code != 0
    assert "Pilih kecamatan atau kabupaten dalam wilayah kerja Anda." in not_operator.output
    out_of_scope = cli(runner, "create", "op.kec", "--name", "HP", "--scope", "wilayah", "--wilayah", "62.13")
    assert out_of_scope.exit_code != 0 and "wilayah kerja Anda" in out_of_scope.output
    unknown = cli(runner, "create", "siapa", "--name", "HP")
    assert unknown.exit_code != 0 and "Akun siapa tidak ditemukan." in unknown.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FeedSubscription)) == 0
    # An operator may subscribe to the kabupaten by its code.
    ok = cli(runner, "create", "op.kab", "--name", "Kantor", "--scope", "wilayah", "--wilayah", "62.13")
    assert ok.exit_code == 0, ok.output
    assert uid_of(rows_of(plan)["monthly"]) in feed_of(TOKEN_RE.search(ok.output).group(0)).uids

"""Langganan kalender in a real browser on a 360 px wide phone screen, as a new user meets it:
an ordinary Pokja member opens "Kalender" from the top menu, subscribes to the whole plan of
her Kampung KB with a reminder, copies the address that is shown once, and a calendar app (here
urllib, without cookies) reads the feed; the events repeat exactly as the plan schedules them.
The Sekretaris revises the approved plan (one activity's Waktu changes), the Ketua signs and
the Lurah approves it, all in the browser; the feed then carries the same event (same UID)
with a higher SEQUENCE and its new dates. Finally the member revokes the subscription and the
address answers 404. Every screen fits 360 px; screenshots are kept in tmp_path, the main ones
also in test-results/. A second test (expected to fail, a known bug) reloads the page that
shows a new address.

The demo (seeds/demo.py, ``_load_approved_year``) approves the 004 form's rows as this year's
plan (2026 at the earliest) for Kampung KB Kel. Pgs Dua; seeds/data holds the rows' Waktu texts.

This module runs its own server (same start-up as conftest.live_server, its own temp database):
it revises and re-approves the demo plan of this year, which other tests read.
"""
import json
import re
import shutil
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
import vobject
from playwright.sync_api import expect
from tests.browser.conftest import demo_server
from tests.browser.helpers import scroll_width

pytestmark = pytest.mark.browser

PHONE_WIDTH = 360
PASSWORD = "kampungkb"
# As seeds/demo.py: this year in Kel. Pgs Dua's zone, 2026 at the earliest.
PLAN_YEAR = max(2026, datetime.now(ZoneInfo("Asia/Jakarta")).year)
PLAN_TITLE = f"Rencana Kegiatan {PLAN_YEAR}"
REVISION_TITLE = f"{PLAN_TITLE} Revisi 1"
SEED_ROWS = Path(__file__).resolve().parents[2] / "seeds" / "data" / "rencana_kegiatan_pgs_dua_2025.json"
SUBSCRIPTION = "HP saya"
KAMPUNG = "Kampung KB Kel. Pgs Dua"
TOKEN_RE = re.compile(r"kkbcal_[A-Za-z0-9_-]{43}")
# The activity whose Waktu the revision changes: "Sebulan sekali" → only June to December.
REVISED_ROW = "Kegiatan penghijauan di lingkungan"  # part IV
REVISED_WAKTU = "Sebulan sekali, Juni - Des"
MONTHS = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "mei": 5, "jun": 6, "jul": 7, "agu": 8,
          "sep": 9, "okt": 10, "nov": 11, "des": 12}


# -- a server of our own ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def feeds_server(tmp_path_factory):
    """Like conftest.live_server, for this module only (it revises the demo plan of this year)."""
    with demo_server(tmp_path_factory.mktemp("feeds-server")) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def live_server(feeds_server):
    """Overrides conftest.live_server for this module, so conftest.page opens our server."""
    return feeds_server


# -- what the plan says: an oracle independent of the app's readers --------------------------------

def expected_occurrences(waktu, year=PLAN_YEAR):
    """How many times an activity with this Waktu happens in ``year`` (a continuous period is one
    event), for the texts the demo and this test use; None when it cannot be placed on a
    calendar (e.g. "30 hari": no start date)."""
    text = " ".join(waktu.lower().replace(",", " ").split())
    months = re.fullmatch(r"(?:(?P<freq>sebulan sekali) )?(?P<a>[a-z]+) - (?P<b>[a-z]+)", text)
    if text == "sebulan sekali":
        return 12
    if text == "3 bulan sekali":
        return 4
    if text == "seminggu sekali":  # weekly from 1 January
        return (date(year, 12, 31) - date(year, 1, 1)).days // 7 + 1
    if text == "sepanjang tahun":
        return 1
    if months and months["a"][:3] in MONTHS and months["b"][:3] in MONTHS:
        first, last = MONTHS[months["a"][:3]], MONTHS[months["b"][:3]]
        return last - first + 1 if months["freq"] else 1
    if re.fullmatch(r"\d+ hari", text):
        return None
    raise AssertionError(f"no expectation for Waktu {waktu!r}")


def plan_rows():
    """{kegiatan: waktu} of the demo plan (seeds/data, the same rows the seed approves)."""
    document = json.loads(SEED_ROWS.read_text(encoding="utf-8"))
    return {row["kegiatan"]: row["waktu"] for row in document["rows"]}


# -- small steps ---------------------------------------------------------------------------------

def flash(page):
    return page.locator("#messages .flash")


def h1(page, name):
    expect(page.get_by_role("heading", level=1, name=name, exact=True)).to_be_visible()


def path_of(page):
    return urlsplit(page.url).path


def click_and_load(page, locator):
    """Click something that loads a new page; returns the response."""
    with page.expect_navigation() as navigation:
        locator.click()
    return navigation.value


def check_page(page, tmp_path, name, what, keep=None):
    """Every screen: no sideways scrolling at 360 px, a full-page screenshot kept (and copied to
    ``keep``, test-results/, when given)."""
    width = scroll_width(page)
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if keep is not None:
        shutil.copy(path, keep / f"feeds-{name}.png")
    assert width <= PHONE_WIDTH, f"{what}: horizontal scroll at {PHONE_WIDTH} px (scrollWidth={width})"


def log_out(page):
    page.goto("/")
    click_and_load(page, page.get_by_role("button", name="Keluar"))
    expect(flash(page)).to_have_text("Anda telah keluar.")


def open_kalender(page):
    """The top menu's "Kalender"."""
    menu = page.get_by_role("navigation", name="Menu utama")
    click_and_load(page, menu.get_by_role("link", name="Kalender", exact=True))
    assert path_of(page) == "/kalender", page.url
    h1(page, "Langganan kalender")


def subscriptions(page):
    return page.locator("ul.subscriptions li.subscription")


def fetch(url, headers=None):
    """GET as a calendar app does: no cookies, no session. Returns (status, headers, text)."""
    request = urllib.request.Request(url, headers={"User-Agent": "Google-Calendar-Importer", **(headers or {})})
    with urllib.request.urlopen(request, timeout=15) as response:
        return response.status, response.headers, response.read().decode("utf-8")


def plan_id_of(page):
    match = re.fullmatch(r"/rencana/(\d+)", path_of(page))
    assert match, page.url
    return int(match.group(1))


def panel(page):
    return page.locator("#persetujuan")


def status_badge(page):
    return panel(page).locator("h2 .badge").first


def row_named(page, kegiatan):
    return page.locator("#plan-body table.rows > tbody > tr:not(.editing)").filter(
        has=page.locator("td.kegiatan strong", has_text=re.compile(f"^{re.escape(kegiatan)}$")))


def open_plan_from_home(page, title):
    """Beranda → Rencana Kegiatan → the plan."""
    page.goto("/")
    click_and_load(page, page.get_by_role("link", name="Rencana Kegiatan", exact=True).first)
    h1(page, "Rencana Kegiatan")
    click_and_load(page, page.get_by_role("link", name=title, exact=True))
    h1(page, title)
    return plan_id_of(page)


# -- the feed, read by two parsers -------------------------------------------------------------------

class Feed:
    """The feed text parsed by icalendar and vobject; masters and occurrences per UID."""

    def __init__(self, text):
        self.text = text
        self.calendar = icalendar.Calendar.from_ical(text)
        self.vcal = vobject.readOne(text)
        self.masters = {str(e["UID"]): e for e in self.calendar.walk("VEVENT") if "RECURRENCE-ID" not in e}
        vuids = [e.uid.value for e in self.vcal.vevent_list if not hasattr(e, "recurrence_id")]
        assert sorted(vuids) == sorted(self.masters), "icalendar and vobject see different events"
        start, end = date(PLAN_YEAR, 1, 1), date(PLAN_YEAR + 1, 1, 1)
        found = recurring_ical_events.of(self.calendar).between(start, end)
        self.counts = Counter(str(o["UID"]) for o in found)
        self.by_summary = {str(e["SUMMARY"]): uid for uid, e in self.masters.items()}

    def master(self, summary):
        return self.masters[self.by_summary[summary]]

    def vobject_count(self, uid):
        """Occurrences in the plan year by vobject's own rrule expansion (dateutil)."""
        event = next(e for e in self.vcal.vevent_list if e.uid.value == uid)
        if not hasattr(event, "rrule"):
            return 1
        return sum(1 for d in event.getrruleset(addRDate=True) if d.year == PLAN_YEAR)


def dtstart(event):
    return event["DTSTART"].dt


def check_feed(feed, rows, reminder=True):
    """Every event: the occurrences the plan schedules, all-day ends exclusive, a reminder
    (except on continuous periods, which the app leaves without one)."""
    assert feed.masters, "the feed has no events"
    assert sum(feed.counts.values()) > 0
    expected_summaries = {k for k, w in rows.items() if expected_occurrences(w) is not None}
    assert set(feed.by_summary) == expected_summaries, (sorted(feed.by_summary), sorted(expected_summaries))
    monthly = 0
    for summary, uid in feed.by_summary.items():
        event = feed.masters[uid]
        want = expected_occurrences(rows[summary])
        assert feed.counts[uid] == want, \
            f"{summary!r} ({rows[summary]}): {feed.counts[uid]} occurrences, plan says {want}"
        assert feed.vobject_count(uid) == want, f"{summary!r}: vobject expands to {feed.vobject_count(uid)}"
        if rows[summary].lower() == "sebulan sekali":
            assert want == 12 and feed.counts[uid] == 12
            monthly += 1
        start, end = event["DTSTART"].dt, event["DTEND"].dt
        assert isinstance(start, date) and end > start, f"{summary!r}: DTSTART {start} DTEND {end}"
        alarms = event.walk("VALARM")
        continuous = str(event.get("TRANSP", "")) == "TRANSPARENT"
        if reminder and not continuous:
            assert len(alarms) == 1, f"{summary!r}: {len(alarms)} VALARM"
            assert str(alarms[0]["ACTION"]) == "DISPLAY"
        else:
            assert alarms == [], f"{summary!r}: unexpected VALARM"
    want_monthly = sum(1 for w in rows.values() if w.lower() == "sebulan sekali")
    assert monthly == want_monthly >= 2, f"{monthly} 'Sebulan sekali' rows in the feed, plan has {want_monthly}"


# -- the steps of the story ----------------------------------------------------------------------

def member_subscribes(page, tmp_path, keep, base_url):
    """anggota: Kalender → name, whole plan, reminder → the address, shown once."""
    open_kalender(page)
    expect(page.get_by_text("Belum ada langganan aktif.")).to_be_visible()
    form = page.locator("form.subscribe")
    kampung = form.get_by_label("Kampung KB", exact=True)
    seksi = form.get_by_label("Seksi", exact=True)
    whole_plan = form.get_by_role("radio", name="Seluruh rencana Kampung KB", exact=True)
    one_seksi = form.get_by_role("radio", name="Satu seksi", exact=True)
    # An Anggota without a seksi has no "Kegiatan saya": it is not offered, the whole plan is.
    expect(form.get_by_role("radio", name="Kegiatan saya", exact=True)).to_have_count(0)
    expect(form.get_by_role("radio", name=re.compile("^Wilayah"))).to_have_count(0)
    expect(whole_plan).to_be_checked()
    expect(kampung).to_be_visible()
    expect(seksi).to_be_hidden()  # only for "Satu seksi" (app.js hides it)
    check_page(page, tmp_path, "01-kalender-kosong", "Langganan kalender, empty")

    form.get_by_label("Nama langganan").fill(SUBSCRIPTION)
    one_seksi.check()  # the fields follow the choice
    expect(seksi).to_be_visible()
    expect(kampung).to_be_visible()
    whole_plan.check()
    expect(whole_plan).to_be_checked()
    expect(kampung).to_be_visible()
    expect(seksi).to_be_hidden()
    expect(kampung.locator("option:checked")).to_have_text(KAMPUNG)
    reminder = form.get_by_label("Ingatkan sehari sebelum kegiatan")
    reminder.check()
    expect(reminder).to_be_checked()
    check_page(page, tmp_path, "02-kalender-isian", "Langganan kalender, form filled")

    response = click_and_load(page, form.get_by_role("button", name="Buat langganan"))
    # Post/Redirect/Get: the address is shown by the GET after the redirect, never cached.
    assert response.status == 200 and response.request.method == "GET", (response.status, response.request.method)
    assert "no-store" in (response.headers.get("cache-control") or ""), response.headers
    h1(page, "Langganan kalender")
    card = page.locator("#alamat")
    expect(card.get_by_role("heading", level=2)).to_have_text(f"Alamat langganan \u201c{SUBSCRIPTION}\u201d")
    expect(card).to_contain_text(f"Seluruh rencana {KAMPUNG} · dengan pengingat sehari sebelumnya")
    url_box = page.locator("#feed-url")
    expect(url_box).to_have_count(1)
    expect(url_box).to_have_attribute("readonly", "")
    url = url_box.input_value()
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == base_url, url
    token = re.fullmatch(r"/ical/(.+)\.ics", parts.path)
    assert token and TOKEN_RE.fullmatch(token.group(1)), url
    token = token.group(1)
    # Shown once: in the box (and the webcal link), nowhere in the page's text.
    assert token not in page.locator("body").inner_text()
    assert page.content().count(token) == 2, "the token should appear in #feed-url and the webcal link only"
    webcal = card.get_by_role("link", name="Buka di aplikasi kalender")
    expect(webcal).to_have_attribute("href", f"webcal://{parts.netloc}{parts.path}")
    expect(card).to_contain_text("Alamat ini hanya ditampilkan sekali.")

    copy = card.get_by_role("button", name="Salin alamat")
    copy.click()
    expect(card.get_by_role("button", name="Tersalin ✓")).to_be_visible()
    assert page.evaluate("() => navigator.clipboard.readText()") == url, "the clipboard does not hold the address"

    howto = card.locator("details.howto")
    expect(howto).to_have_count(4)
    google = howto.filter(has=page.locator("summary", has_text="Google Calendar"))
    expect(google.locator("summary")).to_have_text("Google Calendar (Android atau komputer)")
    google.locator("summary").click()
    expect(google.get_by_text("Dari URL")).to_be_visible()
    expect(google).to_contain_text("paling lama sekitar sehari")
    for summary in ("Outlook", "iPhone atau iPad", "HP Android lain"):
        expect(howto.locator("summary", has_text=summary)).to_have_count(1)
    # The new subscription is listed below with its hint, and the form is blank again.
    expect(subscriptions(page)).to_have_count(1)
    expect(subscriptions(page).first).to_contain_text(f"…{token[-4:]}")
    expect(page.locator("form.subscribe").get_by_label("Nama langganan")).to_have_value("")
    expect(page.locator("form.subscribe").get_by_role("radio", name="Seluruh rencana Kampung KB")).to_be_checked()
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(tmp_path / "03a-alamat-layar.png"))  # what the phone shows first
    check_page(page, tmp_path, "03-alamat-langganan", "subscription created", keep)
    return url, token


def calendar_app_reads(url, rows):
    """The feed, as a calendar app fetches it."""
    status, headers, text = fetch(url)
    assert status == 200, status
    assert headers["Content-Type"] == "text/calendar; charset=utf-8", headers["Content-Type"]
    assert headers.get("Set-Cookie") is None, "the feed should not set a session cookie"
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    feed = Feed(text)
    assert str(feed.calendar["X-WR-CALNAME"]) == KAMPUNG  # named after what it shows
    check_feed(feed, rows)
    # A calendar app asking again with the ETag gets 304.
    try:
        fetch(url, {"If-None-Match": headers["ETag"]})
    except urllib.error.HTTPError as error:
        assert error.code == 304, error.code
    else:
        raise AssertionError("a conditional GET with the current ETag should answer 304")
    return feed


def address_not_shown_again(page, tmp_path, token):
    """Kalender again (a fresh GET): only the name and the token's last four characters."""
    open_kalender(page)
    expect(page.locator("#feed-url")).to_have_count(0)
    expect(page.locator("#alamat")).to_have_count(0)
    assert token not in page.content()
    item = subscriptions(page)
    expect(item).to_have_count(1)
    expect(item.locator("strong")).to_have_text(SUBSCRIPTION)
    expect(item.locator(".code")).to_have_text(f"…{token[-4:]}")
    expect(item).to_contain_text(f"Seluruh rencana {KAMPUNG} · dengan pengingat")
    expect(item).to_contain_text("terakhir diambil")  # the calendar app's fetch is recorded
    check_page(page, tmp_path, "04-kalender-terdaftar", "subscription listed")


def revise_and_approve(page, log_in, tmp_path):
    """Sekretaris: Buat revisi, change the Waktu of one activity; Ketua: submit and sign; Lurah:
    approve. All through the browser."""
    log_out(page)
    log_in("sekretaris")
    plan_id = open_plan_from_home(page, PLAN_TITLE)
    expect(status_badge(page)).to_have_text("Disetujui")
    click_and_load(page, panel(page).get_by_role("button", name="Buat revisi"))
    h1(page, REVISION_TITLE)
    revision_id = plan_id_of(page)
    assert revision_id != plan_id
    expect(flash(page)).to_contain_text(f"{REVISION_TITLE} dibuat sebagai draf.")
    expect(status_badge(page)).to_have_text("Draf")

    row = row_named(page, REVISED_ROW)
    expect(row).to_have_count(1)
    expect(row.locator("td[data-label=Waktu]")).to_contain_text("Sebulan sekali")
    row.get_by_role("link", name=f"Ubah {REVISED_ROW}", exact=True).click()
    form = page.locator("tr.editing form.row-form")
    waktu = form.get_by_label("Waktu", exact=True)
    expect(waktu).to_have_value("Sebulan sekali")
    waktu.fill(REVISED_WAKTU)
    form.screenshot(path=str(tmp_path / "05a-revisi-form-baris.png"))
    check_page(page, tmp_path, "05-revisi-ubah-waktu", "revision, row form")
    with page.expect_response(lambda r: r.request.method == "POST" and "/baris/" in r.url) as info:
        form.get_by_role("button", name="Simpan").click()
    assert info.value.status == 200, info.value.status
    expect(page.locator("#plan-body .flash.success")).to_have_text(f"Kegiatan \u201c{REVISED_ROW}\u201d disimpan.")
    expect(page.locator("tr.editing")).to_have_count(0)
    expect(row_named(page, REVISED_ROW).locator("td[data-label=Waktu]")).to_contain_text(REVISED_WAKTU)
    expect(row_named(page, REVISED_ROW)).not_to_contain_text("jadwal perlu dilengkapi")
    row_named(page, REVISED_ROW).screenshot(path=str(tmp_path / "05b-revisi-baris-tersimpan.png"))

    def sign(role, action, button, status):
        """``role`` opens the revision from Beranda and signs it with their password."""
        log_out(page)
        log_in(role)
        assert open_plan_from_home(page, REVISION_TITLE) == revision_id
        page.locator(f"#{action}-password").fill(PASSWORD)
        click_and_load(page, panel(page).get_by_role("button", name=button, exact=True))
        expect(status_badge(page)).to_have_text(status)

    sign("ketua", "ajukan", "Ajukan dan tanda tangani", "Diajukan")
    expect(flash(page)).to_contain_text("diajukan")
    sign("lurah", "setujui", "Setujui dan tanda tangani", "Disetujui")
    expect(flash(page)).to_have_text("Rencana disetujui dan ditandatangani.")
    expect(panel(page).locator("h2 .badge.status-berlaku")).to_have_text("Berlaku")
    panel(page).screenshot(path=str(tmp_path / "06a-revisi-disetujui-panel.png"))
    check_page(page, tmp_path, "06-revisi-disetujui", "revision approved")
    return revision_id


def feed_follows_revision(url, rows, before):
    """The same UID, a higher SEQUENCE, the new dates; the other events still as planned."""
    status, _headers, text = fetch(url)
    assert status == 200
    after = Feed(text)
    revised_rows = {**rows, REVISED_ROW: REVISED_WAKTU}
    check_feed(after, revised_rows)
    uid = before.by_summary[REVISED_ROW]
    assert after.by_summary[REVISED_ROW] == uid, "the revised activity changed its UID"
    old, new = before.masters[uid], after.masters[uid]
    assert int(new["SEQUENCE"]) > int(old["SEQUENCE"]), (old["SEQUENCE"], new["SEQUENCE"])
    assert dtstart(old) == date(PLAN_YEAR, 1, 1) and dtstart(new) == date(PLAN_YEAR, 6, 1), (dtstart(old), dtstart(new))
    assert before.counts[uid] == 12 and after.counts[uid] == 7, (before.counts[uid], after.counts[uid])
    occurrences = sorted(o["DTSTART"].dt for o in recurring_ical_events.of(after.calendar).between(
        date(PLAN_YEAR, 1, 1), date(PLAN_YEAR + 1, 1, 1)) if str(o["UID"]) == uid)
    assert [d.month for d in occurrences] == list(range(6, 13)), occurrences
    assert set(after.masters) == set(before.masters), "events appeared or disappeared"
    # Only the edited activity changed: the others keep SEQUENCE (calendar apps see no update).
    unchanged = {u: (int(before.masters[u]["SEQUENCE"]), int(after.masters[u]["SEQUENCE"]))
                 for u in before.masters if u != uid}
    assert all(b == a for b, a in unchanged.values()), unchanged
    return after


def member_revokes(page, log_in, tmp_path, keep, url):
    dialogs = []

    def accept(dialog):
        dialogs.append(dialog.message)
        dialog.accept()
    page.on("dialog", accept)
    log_out(page)
    log_in("anggota")
    open_kalender(page)
    response = click_and_load(page, page.get_by_role("button", name=f"Cabut \u201c{SUBSCRIPTION}\u201d"))
    assert response.ok, response.status
    assert path_of(page) == "/kalender", page.url
    expect(flash(page)).to_contain_text(f"\u201c{SUBSCRIPTION}\u201d dicabut")
    assert dialogs and SUBSCRIPTION in dialogs[-1], dialogs  # asked before revoking
    expect(subscriptions(page)).to_have_count(0)
    expect(page.get_by_text("Belum ada langganan aktif.")).to_be_visible()
    check_page(page, tmp_path, "07-dicabut", "subscription revoked", keep)
    with pytest.raises(urllib.error.HTTPError) as caught:
        fetch(url)
    assert caught.value.code == 404, caught.value.code
    assert "text/plain" in caught.value.headers["Content-Type"]


# -- the test ------------------------------------------------------------------------------------

def test_member_subscribes_feed_follows_revision_and_revoke(page, log_in, feeds_server, tmp_path, results_dir,
                                                             page_errors, requested_urls):
    started = time.monotonic()
    rows = plan_rows()
    failed = []
    page.on("response", lambda r: r.status >= 400 and failed.append((r.status, path_of(page), urlsplit(r.url).path)))
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=feeds_server)

    log_in("anggota")
    url, token = member_subscribes(page, tmp_path, results_dir, feeds_server)
    before = calendar_app_reads(url, rows)
    address_not_shown_again(page, tmp_path, token)
    revise_and_approve(page, log_in, tmp_path)
    feed_follows_revision(url, rows, before)
    member_revokes(page, log_in, tmp_path, results_dir, url)

    # Chromium logs its own /favicon.ico 404 (the app has none) as a console error; nothing else.
    errors = [e for e in page_errors if "Failed to load resource" not in e]
    assert errors == [], errors
    assert [f for f in failed if f[2] != "/favicon.ico"] == [], failed
    strangers = sorted({u for u in requested_urls if urlsplit(u).scheme in ("http", "https")
                        and urlsplit(u).hostname != "127.0.0.1"})
    assert strangers == [], f"pages asked for other hosts: {strangers}"
    print(f"feeds browser story took {time.monotonic() - started:.1f} s; screenshots in {tmp_path}")


def test_reloading_the_address_page_does_not_subscribe_twice(page, log_in, feeds_server, tmp_path):
    """Runs after the story above (same server; the member has no subscription left)."""
    name = "Laptop kantor"
    log_in("anggota")
    open_kalender(page)
    form = page.locator("form.subscribe")
    form.get_by_label("Nama langganan").fill(name)
    form.get_by_role("radio", name="Seluruh rencana Kampung KB", exact=True).check()
    response = click_and_load(page, form.get_by_role("button", name="Buat langganan"))
    assert response.status == 200, response.status
    first = page.locator("#feed-url").input_value()
    mine = subscriptions(page).filter(has=page.locator("strong", has_text=re.compile(f"^{name}$")))
    expect(mine).to_have_count(1)

    reloaded = page.reload()
    try:
        page.screenshot(path=str(tmp_path / "08-dimuat-ulang.png"), full_page=True)
        assert reloaded is None or reloaded.request.method == "GET", \
            f"reloading sent the form again ({reloaded.request.method}, answered {reloaded.status})"
        expect(mine).to_have_count(1)
        expect(page.locator("#feed-url")).to_have_count(0)  # shown once, not again on reload
    finally:
        page.on("dialog", lambda dialog: dialog.accept())
        open_kalender(page)
        shown = subscriptions(page).filter(has=page.locator("strong", has_text=re.compile(f"^{name}$")))
        print(f"after reload: {shown.count()} subscriptions named {name!r}; first address {first[-8:]}")
        for _ in range(shown.count()):
            click_and_load(page, page.get_by_role("button", name=f"Cabut \u201c{name}\u201d").first)

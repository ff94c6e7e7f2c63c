"""Progress of the approved plan in a real browser on a 360 px wide phone screen, as its users do
it: the head of Seksi Penataan Lingkungan ticks this month's "Gotong royong" off from Kegiatan
saya in one tap, records its realisation with a photo, and sees the Dasbor follow; two people
saving the same activity's status at once get a conflict that shows what is stored and keeps what
was typed, and saving again overwrites; an ordinary member reads the activity and its realisation
but cannot change anything. Every screen fits 360 px and is kept as a screenshot in tmp_path.

The demo (seeds/demo.py, ``_load_approved_year``) approves a 2026 plan for Kampung KB Kel. Pgs
Dua with its occurrences ticked off up to the end of last month; this month's are left to tick.

This module runs its own server (same start-up as conftest.live_server, its own temp database and
upload folder): it changes the progress of the demo 2026 plan, which other tests may read.
"""
import re
import time
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from tests.browser.conftest import VIEWPORT, demo_server
from tests.browser.helpers import scroll_width

pytestmark = pytest.mark.browser

PHONE_WIDTH = 360
PASSWORD = "kampungkb"
KAMPUNG_TZ = ZoneInfo("Asia/Jakarta")  # Kel. Pgs Dua's province zone (seeds/demo.py)
MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni",
          "Juli", "Agustus", "September", "Oktober", "November", "Desember")
ACTIVITY = "Gotong royong kebersihan lingkungan"  # part IV no. 1, monthly, Seksi Penataan Lingkungan
SEKSI = "Penataan Lingkungan"
# The demo approves this year's plan (2026 at the earliest), see seeds/demo.py.
PLAN_TITLE = f"Rencana Kegiatan {max(2026, datetime.now().year)}"
REALISATION_TEXT = "Membersihkan saluran air dan jalan gang RT 03 bersama warga"
PEOPLE_REACHED = 40
POSTPONE_REASON = "Hujan deras, saluran meluap; dijadwalkan ulang"
# The one console error expected: Chromium logs the 409 answer to a conflicting save.
CONFLICT_CONSOLE = "Failed to load resource: the server responded with a status of 409"


def tanggal(day):
    """As the app writes a date: 23 November 2026."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


# -- a server of our own ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def progress_server(tmp_path_factory):
    """Like conftest.live_server, for this module only (it changes the demo progress), with
    uploaded photos kept in the temp dir too."""
    tmp = tmp_path_factory.mktemp("progress-server")
    with demo_server(tmp, PORTAL_UPLOAD_FOLDER=str(tmp / "uploads")) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def live_server(progress_server):
    """Overrides conftest.live_server for this module, so conftest.page opens our server."""
    return progress_server


# -- phones of other people ----------------------------------------------------------------------

class Phones:
    """Extra browser contexts (other people's phones), each page's console errors with its URL."""

    def __init__(self, browser, base_url, requested_urls):
        self.browser, self.base_url, self.requested_urls = browser, base_url, requested_urls
        self.contexts, self.errors, self.failed = [], [], []

    def watch(self, page, who):
        page.on("pageerror", lambda exc: self.errors.append(f"{who} {page.url} pageerror: {exc}"))
        page.on("console", lambda msg: msg.type == "error"
                and self.errors.append(f"{who} {page.url} console: {msg.text}"))
        page.on("response", lambda response: response.status >= 400
                and self.failed.append((who, response.status, urlsplit(response.url).path)))

    def open(self, who):
        context = self.browser.new_context(viewport=VIEWPORT, base_url=self.base_url, locale="id-ID",
                                           timezone_id="Asia/Jakarta")
        context.set_default_timeout(10_000)
        context.on("request", lambda request: self.requested_urls.append(request.url))
        self.contexts.append(context)
        page = context.new_page()
        self.watch(page, who)
        return page

    def close(self):
        for context in self.contexts:
            context.close()


@pytest.fixture
def phones(browser, live_server, requested_urls):
    phones = Phones(browser, live_server, requested_urls)
    yield phones
    phones.close()


# -- small steps ---------------------------------------------------------------------------------

class Taps:
    """Counts what the user taps (clicks that load a page)."""

    def __init__(self):
        self.count = 0

    def __call__(self, page, locator):
        with page.expect_navigation() as navigation:
            locator.click()
        self.count += 1
        return navigation.value


def flash(page):
    return page.locator("#messages .flash")


def h1(page, name):
    expect(page.get_by_role("heading", level=1, name=name, exact=True)).to_be_visible()


def path_of(page):
    return urlsplit(page.url).path


def check_page(page, tmp_path, name, what):
    """Every screen: no sideways scrolling at 360 px, a full-page screenshot kept."""
    width = scroll_width(page)
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    assert width <= PHONE_WIDTH, f"{what}: horizontal scroll at {PHONE_WIDTH} px (scrollWidth={width})"


def log_in_on(page, username):
    """The real login form, on any phone; lands on Beranda."""
    page.goto("/masuk")
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Masuk").click()
    assert path_of(page) == "/", f"login as {username} failed, ended on {page.url}"


def kampung_card(page):
    """Beranda's card of Kampung KB Kel. Pgs Dua (the only one for the demo users)."""
    cards = page.locator("main section.card, section.card").filter(
        has=page.get_by_role("link", name="Struktur Pokja", exact=True))
    expect(cards).to_have_count(1)
    return cards


def kampung_id_from_card(card):
    href = card.get_by_role("link", name="Struktur Pokja", exact=True).get_attribute("href")
    match = re.search(r"/kampung/(\d+)/", href)
    assert match, href
    return int(match.group(1))


def activity_card(page, name=ACTIVITY):
    """Kegiatan saya's card of one activity."""
    return page.locator("ul.activities > li.card").filter(
        has=page.locator("a.activity-link", has_text=re.compile(rf"^\S+\.\d+ {re.escape(name)}$")))


def tick_buttons(locator):
    return locator.get_by_role("button", name=re.compile("Terlaksana"))


def seksi_row(page, seksi=SEKSI):
    """The Dasbor's "Kemajuan per seksi" row of ``seksi`` as {column header: cell text}."""
    section = page.locator("section.card").filter(
        has=page.get_by_role("heading", level=2, name="Kemajuan per seksi", exact=True))
    expect(section).to_have_count(1)
    table = section.locator("table.data")
    headers = [t.strip() for t in table.locator("thead th").all_inner_texts()]
    row = table.locator("tbody tr").filter(has=page.locator("td", has_text=re.compile(rf"^{seksi}$")))
    expect(row).to_have_count(1)
    cells = [t.strip() for t in row.locator("td").all_inner_texts()]
    assert len(cells) == len(headers), (headers, cells)
    return dict(zip(headers, cells))


def overdue_rows_of(page, kegiatan=ACTIVITY):
    section = page.locator("section.card").filter(
        has=page.get_by_role("heading", level=2, name="Terlambat", exact=True))
    return section.locator("table.data tbody tr").filter(
        has=page.locator("td", has_text=re.compile(rf"^{re.escape(kegiatan)}$")))


def number(cell):
    match = re.fullmatch(r"(\d+)%?", cell)
    assert match, f"not a number: {cell!r}"
    return int(match.group(1))


def realisation_item(page, text=REALISATION_TEXT):
    return page.locator("#realisasi article.realisation").filter(has_text=text)


def assert_photo_loads(page, item):
    image = item.locator("img")
    expect(image).to_have_count(1)
    image.scroll_into_view_if_needed()  # loading="lazy"
    handle = image.element_handle()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=handle)
    width = image.evaluate("img => img.naturalWidth")
    assert width > 0, "the realisation's thumbnail did not load"
    return width


def status_section(page):
    """The "Perbarui status" card of an activity page."""
    return page.locator("main section.card").filter(
        has=page.get_by_role("heading", level=2, name="Perbarui status", exact=True))


def status_select(page):
    """The status drop-down, found by its name: see ``status_label_problem``."""
    return status_section(page).locator("select[name=status]")


STATUS_LABEL_JS = """() => {
  const select = document.querySelector('main select[name=status]');
  const names = [...select.labels].map(l => l.textContent.trim());
  const same = document.querySelectorAll('[id="' + select.id + '"]').length;
  return {id: select.id, labels: names, sameId: same};
}"""


def status_label_problem(page):
    """Whether the status drop-down is named by its "Status" label (a screen reader reads it, a
    tap on the label opens it); a description of what is wrong, or None."""
    found = page.evaluate(STATUS_LABEL_JS)
    if found["labels"] == ["Status"] and found["sameId"] == 1:
        return None
    return (f"activity page: the status <select id={found['id']!r}> is not named by its label "
            f"(labels {found['labels']}, {found['sameId']} elements with that id)")


def make_photo(tmp_path):
    from PIL import Image, ImageDraw
    path = tmp_path / "gotong-royong.jpg"
    image = Image.new("RGB", (640, 480), (70, 130, 80))
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 300, 600, 440), fill=(120, 90, 60))
    draw.ellipse((260, 60, 380, 180), fill=(240, 200, 60))
    image.save(path, "JPEG", quality=85)
    return path


# -- the steps of the story ----------------------------------------------------------------------

def dashboard_before(page, tmp_path):
    """Beranda → Dasbor: the Penataan Lingkungan row and the overdue Gotong royong before the tick."""
    card = kampung_card(page)
    kampung_id = kampung_id_from_card(card)
    with page.expect_navigation():
        card.get_by_role("link", name="Dasbor", exact=True).click()
    assert path_of(page) == f"/kampung/{kampung_id}/dasbor", page.url
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dasbor")
    before = seksi_row(page)
    assert number(before["Terlambat"]) >= 1, f"the demo should leave {SEKSI} something overdue: {before}"
    expect(overdue_rows_of(page)).to_have_count(1)
    check_page(page, tmp_path, "01-dasbor-sebelum", "Dasbor before the tick")
    return kampung_id, before


def tick_from_kegiatan_saya(page, tmp_path, kampung_id, today):
    """Beranda → Kegiatan saya → "✓ Terlaksana <date this month>" on Gotong royong: one tap."""
    page.goto("/")
    card = kampung_card(page)
    link = card.get_by_role("link", name="Kegiatan saya", exact=True)
    expect(link).to_have_count(1)  # Beranda leads there
    with page.expect_navigation():
        link.click()
    assert path_of(page) == f"/kampung/{kampung_id}/kegiatan-saya", page.url
    h1(page, "Kegiatan saya")
    item = activity_card(page)
    expect(item).to_have_count(1)
    month = f"{MONTHS[today.month - 1]} {today.year}"
    button = item.get_by_role("button", name=re.compile(rf"^✓ Terlaksana (\d{{1,2}}) {month}$"))
    expect(button).to_have_count(1)
    label = button.inner_text().strip()
    day = int(re.search(r"Terlaksana (\d{1,2}) ", label).group(1))
    assert 1 <= day <= today.day, f"{label!r}: this month's session, due by today ({tanggal(today)})"
    expect(item.locator(".late")).to_be_visible()  # overdue until ticked
    check_page(page, tmp_path, "02-kegiatan-saya-sebelum", "Kegiatan saya before the tick")

    taps = Taps()
    response = taps(page, button)
    assert response.ok, response.status
    assert path_of(page) == f"/kampung/{kampung_id}/kegiatan-saya", f"not back on Kegiatan saya: {page.url}"
    h1(page, "Kegiatan saya")
    expect(flash(page)).to_have_text(f"Jadwal {tanggal(today.replace(day=day))} \u201c{ACTIVITY}\u201d ditandai terlaksana.")
    expect(flash(page)).to_have_class(re.compile(r"\bsuccess\b"))
    item = activity_card(page)
    expect(item).to_have_count(1)
    expect(item.get_by_role("button", name=label, exact=True)).to_have_count(0)
    expect(tick_buttons(item)).to_have_count(0)  # nothing else due this month
    expect(item.locator(".late")).to_have_count(0)
    assert taps.count == 1, f"ticking took {taps.count} taps from Kegiatan saya"
    check_page(page, tmp_path, "03-kegiatan-saya-sesudah", "Kegiatan saya after the tick")
    return label


def record_realisation(page, tmp_path, today):
    """Kegiatan saya → the activity → Catat realisasi with a photo."""
    with page.expect_navigation():
        activity_card(page).locator("a.activity-link").click()
    h1(page, ACTIVITY)
    activity_path = path_of(page)
    assert re.fullmatch(r"/rencana/\d+/kegiatan/\d+", activity_path), page.url
    expect(realisation_item(page)).to_have_count(0)
    check_page(page, tmp_path, "04-kegiatan-sebelum-realisasi", "activity page")

    form = page.locator("#realisasi form")
    form.get_by_label("Tanggal pelaksanaan").fill(today.isoformat())
    form.get_by_label("Yang dilaksanakan").fill(REALISATION_TEXT)
    form.get_by_label("Jumlah orang/keluarga terjangkau").fill(str(PEOPLE_REACHED))
    form.get_by_label(re.compile(r"^Foto bukti")).set_input_files(str(make_photo(tmp_path)))
    with page.expect_navigation() as navigation:
        form.get_by_role("button", name="Simpan realisasi").click()
    assert navigation.value.ok, navigation.value.status
    assert path_of(page) == activity_path, page.url
    expect(flash(page)).to_have_text(f"Realisasi \u201c{ACTIVITY}\u201d dicatat.")
    item = realisation_item(page)
    expect(item).to_have_count(1)
    expect(item).to_contain_text(tanggal(today))
    expect(item).to_contain_text(f"{PEOPLE_REACHED} terjangkau")
    expect(item).to_contain_text("dicatat Bambang Riyadi")
    assert_photo_loads(page, item)
    check_page(page, tmp_path, "05-kegiatan-realisasi-dicatat", "activity page with a realisation")
    return activity_path


def dashboard_after(page, tmp_path, kampung_id, before):
    """Activity → Kegiatan saya → Dasbor: the seksi row follows the tick."""
    with page.expect_navigation():
        page.locator("main").get_by_role("link", name="Kegiatan saya", exact=True).click()
    h1(page, "Kegiatan saya")
    with page.expect_navigation():
        page.locator("main").get_by_role("link", name="Dasbor", exact=True).click()
    assert path_of(page) == f"/kampung/{kampung_id}/dasbor", page.url
    after = seksi_row(page)
    assert after["Kegiatan"] == before["Kegiatan"], (before, after)
    assert number(after["Terlambat"]) == number(before["Terlambat"]) - 1, (before, after)
    assert number(after["Rata-rata kemajuan"]) > number(before["Rata-rata kemajuan"]), (before, after)
    assert number(after["Selesai"]) >= number(before["Selesai"]), (before, after)
    expect(overdue_rows_of(page)).to_have_count(0)
    check_page(page, tmp_path, "06-dasbor-sesudah", "Dasbor after the tick")
    return after


def open_activity_from_kegiatan_saya(page):
    page.goto("/")
    with page.expect_navigation():
        kampung_card(page).get_by_role("link", name="Kegiatan saya", exact=True).click()
    with page.expect_navigation():
        activity_card(page).locator("a.activity-link").click()
    h1(page, ACTIVITY)


def conflicting_status_saves(page, phones, tmp_path, activity_path, problems):
    """seksi.lingkungan (``page``) and ketua (another phone) open the status form together; the
    first saves Tertunda, the second's Berjalan 60% meets the conflict with what was typed kept;
    then, as the conflict message offers, the second saves again to overwrite. Returns the
    status stored at the end; what goes wrong without breaking the story goes to ``problems``."""
    open_activity_from_kegiatan_saya(page)
    assert path_of(page) == activity_path, page.url
    ketua = phones.open("ketua")
    log_in_on(ketua, "ketua")
    open_activity_from_kegiatan_saya(ketua)
    assert path_of(ketua) == activity_path, ketua.url
    for p in (page, ketua):
        expect(status_section(p).get_by_role("heading", level=2, name="Perbarui status")).to_be_visible()
        expect(status_select(p)).to_have_value("berjalan")
    if (problem := status_label_problem(page)):
        problems.append(problem)

    first = status_section(page)
    status_select(page).select_option(label="Tertunda")
    first.get_by_label(re.compile(r"^Alasan")).fill(POSTPONE_REASON)
    with page.expect_navigation() as navigation:
        first.get_by_role("button", name="Simpan status").click()
    assert navigation.value.ok, navigation.value.status
    assert path_of(page) == activity_path, page.url
    expect(flash(page)).to_have_text(f"Status \u201c{ACTIVITY}\u201d disimpan.")
    expect(page.locator("main section.card").first.locator(".badge")).to_have_text("Tertunda")
    expect(page.get_by_text(f"Alasan: {POSTPONE_REASON}")).to_be_visible()
    check_page(page, tmp_path, "07-status-tertunda-seksi", "activity page, status saved")

    second = status_section(ketua)
    status_select(ketua).select_option(label="Berjalan")
    second.get_by_label(re.compile(r"^Persen selesai")).fill("60")
    with ketua.expect_navigation() as navigation:
        second.get_by_role("button", name="Simpan status").click()
    assert navigation.value.status == 409, navigation.value.status
    second = status_section(ketua)
    alert = second.locator(".flash.error[role=alert]")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("Status ini baru saja diubah orang lain")
    stored = [t.strip() for t in alert.locator("li").all_inner_texts()]
    assert "Status: Tertunda" in stored, stored
    assert f"Alasan: {POSTPONE_REASON}" in stored, stored
    assert "Persen: –" in stored, stored
    expect(second.get_by_label(re.compile(r"^Persen selesai"))).to_have_value("60")
    expect(status_select(ketua)).to_have_value("berjalan")
    ketua.screenshot(path=str(tmp_path / "08a-status-konflik-ketua-layar-awal.png"))  # as it lands
    alert.scroll_into_view_if_needed()
    ketua.screenshot(path=str(tmp_path / "08b-status-konflik-ketua-layar.png"))
    check_page(ketua, tmp_path, "08-status-konflik-ketua", "activity page, status conflict")

    # "Simpan lagi untuk menimpanya": saving the kept input again overwrites.
    with ketua.expect_navigation() as navigation:
        status_section(ketua).get_by_role("button", name="Simpan status").click()
    if navigation.value.status == 409:
        problems.append(
            "status conflict: the message says \"Simpan lagi untuk menimpanya\", but saving again "
            "answers 409 with the same conflict (the form is re-rendered with the stale hidden "
            f"version {status_section(ketua).locator('input[name=version]').input_value()!r}); "
            "the only way out is reloading, which loses what was typed")
        return "Tertunda"
    assert navigation.value.ok, navigation.value.status
    assert path_of(ketua) == activity_path, ketua.url
    expect(flash(ketua)).to_have_text(f"Status \u201c{ACTIVITY}\u201d disimpan.")
    expect(ketua.locator("main section.card").first.locator(".badge")).to_have_text("Berjalan")
    expect(ketua.locator("main section.card").first).to_contain_text("60%")
    return "Berjalan"


def member_reads_only(phones, tmp_path, activity_path, stored_status):
    """anggota: Beranda → Rencana Kegiatan → the 2026 plan → the activity, read only."""
    member = phones.open("anggota")
    log_in_on(member, "anggota")
    with member.expect_navigation():
        kampung_card(member).get_by_role("link", name="Rencana Kegiatan", exact=True).click()
    with member.expect_navigation():
        member.get_by_role("link", name=PLAN_TITLE, exact=True).click()
    h1(member, PLAN_TITLE)
    with member.expect_navigation():
        member.get_by_role("link", name=ACTIVITY, exact=True).click()
    h1(member, ACTIVITY)
    assert path_of(member) == activity_path, member.url
    main = member.locator("main")
    expect(tick_buttons(main)).to_have_count(0)
    expect(main.get_by_role("button", name=re.compile(r"Urungkan|Pindah|Batalkan|Simpan"))).to_have_count(0)
    expect(status_section(member)).to_have_count(0)
    expect(member.locator("main select, main textarea, main input[type=file]")).to_have_count(0)
    expect(member.locator("form[action*='/kegiatan/']")).to_have_count(0)
    expect(member.get_by_role("heading", name="Catat realisasi")).to_have_count(0)
    expect(main.get_by_role("link", name="Kegiatan saya", exact=True)).to_have_count(0)
    expect(main.locator(".badge").first).to_have_text(stored_status)
    item = realisation_item(member)
    expect(item).to_have_count(1)
    expect(item).to_contain_text(f"{PEOPLE_REACHED} terjangkau")
    assert_photo_loads(member, item)
    check_page(member, tmp_path, "09-kegiatan-anggota", "activity page, read only")


# -- the test ------------------------------------------------------------------------------------

def test_tick_realise_dashboard_conflict_and_read_only(page, log_in, phones, progress_server, tmp_path,
                                                        requested_urls):
    started = time.monotonic()
    today = datetime.now(KAMPUNG_TZ).date()
    phones.watch(page, "seksi.lingkungan")

    log_in("seksi.lingkungan")
    check_page(page, tmp_path, "00-beranda-seksi", "Beranda")
    kampung_id, before = dashboard_before(page, tmp_path)
    tick_from_kegiatan_saya(page, tmp_path, kampung_id, today)
    activity_path = record_realisation(page, tmp_path, today)
    dashboard_after(page, tmp_path, kampung_id, before)
    problems = []
    stored_status = conflicting_status_saves(page, phones, tmp_path, activity_path, problems)
    member_reads_only(phones, tmp_path, activity_path, stored_status)

    # Chromium logs every 4xx answer as a console error ("Failed to load resource"), among them
    # its own request for /favicon.ico (404: the app has none), which pages do not see as a
    # response. So the answers the pages got are checked instead: only the Ketua's conflicting
    # save (409) may fail.
    errors = [e for e in phones.errors if "Failed to load resource" not in e]
    assert errors == [], errors
    failed = [f for f in phones.failed if f[2] != "/favicon.ico"]
    conflicts = 1 if stored_status == "Berjalan" else 2  # the second 409: see ``problems``
    assert failed == [("ketua", 409, f"{activity_path}/status")] * conflicts, failed
    assert all(status == 404 for _w, status, path in phones.failed if path == "/favicon.ico"), phones.failed
    strangers = sorted({u for u in requested_urls if urlsplit(u).scheme in ("http", "https")
                        and urlsplit(u).hostname != "127.0.0.1"})
    assert strangers == [], f"pages asked for other hosts: {strangers}"
    assert problems == [], "\n".join(problems)
    print(f"progress browser story took {time.monotonic() - started:.1f} s; screenshots in {tmp_path}; "
          f"failed answers {phones.failed}")

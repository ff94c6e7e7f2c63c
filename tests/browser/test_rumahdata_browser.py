"""Rumah Data (issue 8) in a real browser on a 360 px wide phone screen, as its users do it:

1. the head of Seksi Penyediaan Data of Kampung KB Kel. Pgs Dua lands on her seksi page, follows
   "Rumah Data Kelurahan Pgs Dua" (empty at first) and enters the 2025 Verval KRS figures; one
   mistake (a "4 terlalu" count above the PUS families) keeps her on the form with the reason in
   Indonesian beside that field and everything else she typed still there; fixed and saved, the
   page shows her figures and the computed KRS share;
2. she corrects a saved period, enters an earlier one with more KRS and, back on the later
   period through the period drop-down, sees the comparison column say TURUN;
3. the Barito Timur operator reads the kabupaten roll-up: 74 TURUN / 3 TETAP / 26 NAIK computed
   per desa, and the document's statements that disagree flagged "Berbeda";
4. two people saving the same period at once: the second save shows both values and keeps what
   was typed; saving again overwrites;
5. other Pokja members read Rumah Data but cannot open its entry screens (403);
6. the Ketua's Dasbor shows the entered KRS beside the activities that address it.

Every test works on a year of its own (2025, 2023/2022, 2021, 2026), so none depends on another
having run. The one thing a test cannot see once another has saved anything for Pgs Dua is the
empty page; the module's server fixture therefore takes the section head's first look at it
right after seeding, before any test runs.

This module runs its own server (same start-up as conftest.live_server, its own temp database):
it enters figures for Kel. Pgs Dua, which other tests do not expect.
"""
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect
from tests.browser.conftest import DEMO_PASSWORD, VIEWPORT, demo_server
from tests.browser.helpers import scroll_width

pytestmark = pytest.mark.browser

PHONE_WIDTH = VIEWPORT["width"]
OVERFLOW_TOLERANCE = 2  # px: sub-pixel rounding, never a real sideways scroll
SEKSI_HEADING = "Seksi Penyediaan Data Keluarga dan Dokumen Kependudukan"
DESA = "Kelurahan Pgs Dua"
KAMPUNG = "Kampung KB Kel. Pgs Dua"
VERVAL = "Verval KRS"
VERVAL_GROUPS = ("Keluarga sasaran dan keluarga berisiko stunting (KRS)", "4 Terlalu", "Air minum dan jamban")
OTHER_GROUPS = ("Pendampingan oleh Tim Pendamping Keluarga (TPK)", "Peserta KB",
                "Ibu hamil KEK dan stunting balita", "Penduduk dan TPK")

# Test 1's figures, as typed on the phone (a thousands dot in the first).
JOURNEY = {
    "families_total": "1.450", "families_targeted": "620", "krs": "95", "target_pus": "305",
    "target_baduta": "43", "target_balita": "122", "target_pregnant": "7", "too_young": "3",
    "too_old": "28", "too_close": "4", "too_many": "41", "no_safe_water": "0",
}
LABELS = {
    "families_total": "Jumlah keluarga", "families_targeted": "Keluarga sasaran",
    "krs": "Keluarga berisiko stunting (KRS)", "target_pus": "Keluarga sasaran dengan PUS",
    "target_baduta": "Keluarga sasaran dengan baduta", "target_balita": "Keluarga sasaran dengan balita",
    "target_pregnant": "Keluarga sasaran dengan ibu hamil", "too_young": "Terlalu muda", "too_old": "Terlalu tua",
    "too_close": "Terlalu dekat", "too_many": "Terlalu banyak",
    "no_safe_water": "Keluarga tanpa sumber air minum utama yang layak",
}
# Chromium logs every 4xx answer as a console error; the answers are checked one by one instead.
RESOURCE_ERROR = "Failed to load resource: the server responded with a status of"


# -- a server of our own, and the first look at it ------------------------------------------------

@dataclass
class Demo:
    url: str
    kampung_id: int
    desa_id: int
    first_look: str  # the text of Rumah Data Kel. Pgs Dua before any test saved anything


@pytest.fixture(scope="module")
def rumahdata_server(tmp_path_factory, browser):
    """Like conftest.live_server, for this module only (it enters figures for Pgs Dua); before
    any test runs, the section head follows her seksi page's link to Rumah Data once."""
    tmp = tmp_path_factory.mktemp("rumahdata-server")
    with demo_server(tmp) as base_url:
        context = new_phone_context(browser, base_url)
        try:
            page = context.new_page()
            kampung_id = log_in_on(page, "seksi.data", expect_path=r"/kampung/(\d+)/seksi/data")
            desa_id = follow_rumah_data_link(page)
            first_look = page.locator("main").inner_text()
        finally:
            context.close()
        yield Demo(base_url, kampung_id, desa_id, first_look)


@pytest.fixture(scope="module")
def live_server(rumahdata_server):
    """Overrides conftest.live_server for this module, so conftest.page opens our server."""
    return rumahdata_server.url


# -- phones of other people ----------------------------------------------------------------------

def new_phone_context(browser, base_url):
    context = browser.new_context(viewport=VIEWPORT, base_url=base_url, locale="id-ID",
                                  timezone_id="Asia/Jakarta")
    context.set_default_timeout(10_000)
    return context


class Phones:
    """Browser contexts (people's phones): JavaScript errors and every 4xx/5xx answer they got."""

    def __init__(self, browser, base_url, requested_urls):
        self.browser, self.base_url, self.requested_urls = browser, base_url, requested_urls
        self.contexts, self.errors, self.failed = [], [], []

    def watch(self, page, who):
        page.on("pageerror", lambda exc: self.errors.append(f"{who} {page.url} pageerror: {exc}"))
        page.on("console", lambda msg: msg.type == "error" and RESOURCE_ERROR not in msg.text
                and self.errors.append(f"{who} {page.url} console: {msg.text}"))
        page.on("response", lambda response: response.status >= 400
                and urlsplit(response.url).path != "/favicon.ico"
                and self.failed.append((who, response.status, urlsplit(response.url).path)))

    def open(self, who):
        context = new_phone_context(self.browser, self.base_url)
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

def path_of(page):
    return urlsplit(page.url).path


def h1(page, name):
    expect(page.get_by_role("heading", level=1, name=name, exact=True)).to_be_visible()


def tap(page, locator):
    """A tap that loads a page; the answer's status."""
    with page.expect_navigation() as navigation:
        locator.click()
    return navigation.value.status


def log_in_on(page, username, expect_path="/"):
    """The real login form; checks where it lands (a regex) and returns its first group, if any."""
    page.goto("/masuk")
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(DEMO_PASSWORD)
    tap(page, page.get_by_role("button", name="Masuk"))
    match = re.fullmatch(expect_path, path_of(page))
    assert match, f"login as {username}: landed on {page.url}, expected {expect_path}"
    return int(match.group(1)) if match.groups() else None


def follow_rumah_data_link(page):
    """From the seksi page: the "Rumah Data Kelurahan Pgs Dua" link; returns the desa id."""
    h1(page, SEKSI_HEADING)
    tap(page, page.get_by_role("link", name=f"Rumah Data {DESA}", exact=True))
    match = re.fullmatch(r"/wilayah/(\d+)/data", path_of(page))
    assert match, page.url
    h1(page, f"Rumah Data {DESA}")
    return int(match.group(1))


def fits(page, what):
    """No sideways scrolling of the page at 360 px (tables scroll inside their .table-scroll)."""
    width = scroll_width(page)
    assert width <= PHONE_WIDTH + OVERFLOW_TOLERANCE, \
        f"{what}: horizontal scroll at {PHONE_WIDTH} px (scrollWidth={width})"


def count_input(page, key):
    return page.locator(f"form.data-form input[name={key}]")


def fill_counts(page, values):
    for key, text in values.items():
        count_input(page, key).fill(text)


def flash(page, category="success"):
    return page.locator(f"#messages .flash.{category}")


def open_period(page, round_label, year):
    """From a Rumah Data page: "Isi data periode lain", choose the round and year, "Lanjut"."""
    tap(page, page.get_by_role("link", name="Isi data periode lain", exact=True))
    h1(page, "Isi data Rumah Data")
    page.get_by_label("Putaran").select_option(label=round_label)
    page.get_by_label("Tahun").fill(str(year))
    tap(page, page.get_by_role("button", name="Lanjut"))
    h1(page, f"{round_label} {year}")


def save(page):
    return tap(page, page.get_by_role("button", name="Simpan", exact=True))


INDICATORS_JS = """() => [...document.querySelectorAll('main table.indicators')].flatMap(table => {
  const heads = [...table.querySelectorAll('thead th')].map(th => th.textContent.trim());
  return [...table.querySelectorAll('tbody tr')].map(tr => {
    const th = tr.querySelector('th');
    const label = th.firstChild.textContent.trim();
    const cells = [...tr.querySelectorAll('td')].map(td => td.textContent.trim());
    return [label, Object.fromEntries(heads.slice(1).map((h, i) => [h, cells[i]]))];
  });
})"""


def indicators(page):
    """A desa's Rumah Data page: {indicator label: {column header: cell text}}."""
    rows = page.evaluate(INDICATORS_JS)
    labels = [label for label, _cells in rows]
    assert len(labels) == len(set(labels)), f"an indicator listed twice: {labels}"
    return dict(rows)


def section(page, heading, level=2):
    return page.locator("main section.card").filter(
        has=page.get_by_role("heading", level=level, name=heading, exact=True))


def table_rows(table):
    """[(tr class, [cell texts, th included])] of a table's body."""
    return table.evaluate("""t => [...t.tBodies[0].rows].map(tr =>
        [tr.className, [...tr.cells].map(c => c.textContent.replace(/\\s+/g, ' ').trim())])""")


# -- 1. the journey of the "Done when" -----------------------------------------------------

def test_seksi_data_enters_verval_krs_2025_on_a_phone(page, rumahdata_server, phones, results_dir,
                                                      requested_urls):
    demo = rumahdata_server
    phones.watch(page, "seksi.data")
    # What she saw first, right after seeding (see the module docstring): nothing yet.
    assert f"Belum ada data untuk {DESA}." in demo.first_look, demo.first_look
    assert "Periode" not in demo.first_look and "Ubah data" not in demo.first_look

    assert log_in_on(page, "seksi.data", r"/kampung/(\d+)/seksi/data") == demo.kampung_id
    fits(page, "seksi page")
    assert follow_rumah_data_link(page) == demo.desa_id
    fits(page, "Rumah Data page")

    open_period(page, VERVAL, 2025)
    assert path_of(page) == f"/wilayah/{demo.desa_id}/data/verval_krs/2025"
    for name in VERVAL_GROUPS:  # the round's groups are open, the others folded
        expect(page.locator("details", has=page.get_by_role("heading", name=name, exact=True))).to_have_attribute("open", "")
    for name in OTHER_GROUPS:
        assert page.locator("details", has=page.get_by_role("heading", name=name, exact=True)).get_attribute("open") is None
    # Every field is named by its label (a screen reader reads it; tapping the label focuses it).
    for key, label in LABELS.items():
        expect(page.get_by_label(label, exact=True)).to_have_attribute("name", key)
    expect(count_input(page, "krs")).to_have_attribute("inputmode", "numeric")
    fits(page, "entry form")

    # One slip: 400 families "terlalu muda" out of 305 with PUS.
    fill_counts(page, {**JOURNEY, "too_young": "400"})
    assert save(page) == 422
    assert path_of(page) == f"/wilayah/{demo.desa_id}/data/verval_krs/2025", "left the form on an error"
    expect(page.locator("main p.error[role=alert]")).to_contain_text("Belum ada yang disimpan")
    field = page.locator("div.field.invalid")
    expect(field).to_have_count(1)
    expect(field.locator("input[name=too_young]")).to_have_value("400")
    error = field.locator("p.error")
    expect(error).to_have_text("Tidak boleh lebih dari Keluarga sasaran dengan PUS (305).")
    expect(error).to_be_visible()
    expect(count_input(page, "too_young")).to_have_attribute("aria-invalid", "true")
    expect(count_input(page, "too_young")).to_have_attribute("aria-describedby", "too_young-err")
    # Right beside the field: just below its input, not somewhere else on the page.
    box_in, box_err = count_input(page, "too_young").bounding_box(), error.bounding_box()
    assert 0 <= box_err["y"] - (box_in["y"] + box_in["height"]) < 80, (box_in, box_err)
    kept = {key: count_input(page, key).input_value() for key in JOURNEY if key != "too_young"}
    # The thousands dot may come back normalised ("1450"); the number must be the one typed.
    lost = {key: (typed, kept[key]) for key, typed in JOURNEY.items()
            if key != "too_young" and kept[key].replace(".", "") != typed.replace(".", "")}
    assert lost == {}, f"typed values lost after the error (typed, now): {lost}"
    fits(page, "entry form with an error")

    count_input(page, "too_young").fill("3")
    assert save(page) == 200
    assert path_of(page) == f"/wilayah/{demo.desa_id}/data"
    assert parse_qs(urlsplit(page.url).query) == {"putaran": ["verval_krs"], "tahun": ["2025"]}
    expect(flash(page)).to_have_text(f"Data Verval KRS 2025 {DESA} disimpan.")
    expect(flash(page, "warning")).to_have_count(0)
    expect(page.get_by_role("heading", level=2, name="Verval KRS 2025", exact=True)).to_be_visible()
    expect(page.locator("main")).to_contain_text("Terakhir diisi oleh Rina Marlina")
    expect(page.get_by_role("link", name="Ubah data Verval KRS 2025", exact=True)).to_be_visible()
    rows = indicators(page)
    shown = {key: rows.get(label, {}).get("2025") for key, label in LABELS.items()}
    assert shown == {**JOURNEY, "too_young": "3"}, shown  # "1.450" written with the dot again, 0 as 0
    assert rows["KRS dari keluarga sasaran"]["2025"] == "15,32%"  # 95 / 620
    assert rows["Keluarga sasaran tidak berisiko"]["2025"] == "525"
    assert rows["Tidak berisiko dari keluarga sasaran"]["2025"] == "84,68%"
    fits(page, "Rumah Data page after saving")
    page.screenshot(path=str(results_dir / "rumahdata-seksi-data-verval.png"), full_page=True)

    assert phones.errors == [], phones.errors
    assert phones.failed == [("seksi.data", 422, f"/wilayah/{demo.desa_id}/data/verval_krs/2025")], phones.failed
    strangers = sorted({u for u in requested_urls if urlsplit(u).scheme in ("http", "https")
                        and urlsplit(u).hostname != "127.0.0.1"})
    assert strangers == [], f"pages asked for other hosts: {strangers}"


# -- 2. correcting a period and comparing with the one before ------------------------------------

VERVAL_2023 = {"families_total": "1.420", "families_targeted": "600", "krs": "90", "target_pus": "300",
               "too_young": "5", "too_old": "30", "no_safe_water": "2"}
VERVAL_2022 = {"families_total": "1.400", "families_targeted": "590", "krs": "120", "target_pus": "296",
               "too_young": "9", "too_old": "31", "no_safe_water": "6"}


def test_correct_a_period_and_compare_with_the_year_before(page, rumahdata_server, phones, tmp_path):
    demo = rumahdata_server
    phones.watch(page, "seksi.data")
    log_in_on(page, "seksi.data", r"/kampung/(\d+)/seksi/data")
    follow_rumah_data_link(page)

    open_period(page, VERVAL, 2023)
    fill_counts(page, VERVAL_2023)
    assert save(page) == 200
    assert indicators(page)["Keluarga berisiko stunting (KRS)"]["2023"] == "90"

    # Edit again: the form opens with the stored figures; one changed.
    tap(page, page.get_by_role("link", name="Ubah data Verval KRS 2023", exact=True))
    h1(page, "Verval KRS 2023")
    expect(count_input(page, "krs")).to_have_value("90")
    expect(count_input(page, "families_total")).to_have_value(re.compile(r"^1\.?420$"))
    count_input(page, "krs").fill("84")
    assert save(page) == 200
    expect(flash(page)).to_have_text(f"Data Verval KRS 2023 {DESA} disimpan.")
    rows = indicators(page)
    assert rows["Keluarga berisiko stunting (KRS)"]["2023"] == "84"
    assert rows["KRS dari keluarga sasaran"]["2023"] == "14,00%"  # 84 / 600
    assert rows["Jumlah keluarga"]["2023"] == "1.420", "the other figures stayed"

    # The year before, with more KRS.
    open_period(page, VERVAL, 2022)
    fill_counts(page, VERVAL_2022)
    assert save(page) == 200
    assert indicators(page)["Keluarga berisiko stunting (KRS)"]["2022"] == "120"

    # Back to 2023 through the period drop-down.
    select = page.locator("select[name=periode]")
    options = select.locator("option").all_inner_texts()
    assert {"Verval KRS 2023", "Verval KRS 2022"} <= set(options), options
    select.select_option(label="Verval KRS 2023")
    tap(page, page.get_by_role("button", name="Tampilkan", exact=True))
    assert parse_qs(urlsplit(page.url).query) == {"periode": ["verval_krs:2023"]}
    expect(page.get_by_role("heading", level=2, name="Verval KRS 2023", exact=True)).to_be_visible()
    expect(page.locator("main")).to_contain_text("Dibandingkan dengan Verval KRS 2022.")
    headers = page.locator("main table.indicators").first.locator("thead th").all_inner_texts()
    assert [h.strip() for h in headers] == ["Indikator", "2023", "2022", "Perubahan"], headers
    rows = indicators(page)
    assert rows["Keluarga berisiko stunting (KRS)"] == {"2023": "84", "2022": "120", "Perubahan": "TURUN"}
    assert rows["KRS dari keluarga sasaran"] == {"2023": "14,00%", "2022": "20,34%", "Perubahan": "TURUN"}
    krs_row = page.locator("main table.indicators tbody tr").filter(
        has=page.locator("th", has_text=re.compile(r"^\s*Keluarga berisiko stunting \(KRS\)\s*$")))
    expect(krs_row.locator(".trend")).to_have_class(re.compile(r"\btrend-good\b"))  # fewer KRS is good
    expect(page.locator("select[name=periode]")).to_have_value("verval_krs:2023")
    fits(page, "Rumah Data page with a comparison")
    page.screenshot(path=str(tmp_path / "rumahdata-2023-vs-2022.png"), full_page=True)
    assert phones.errors == [] and phones.failed == [], (phones.errors, phones.failed)


# -- 3. the kabupaten roll-up, as the operator reads it ---------------------------------------------

def test_operator_reads_the_barito_timur_rollup(page, phones, results_dir):
    phones.watch(page, "operator")
    log_in_on(page, "operator")
    intro = page.locator("main p", has_text="Operator Kabupaten Barito Timur.")
    tap(page, intro.get_by_role("link", name="Rumah Data", exact=True))
    assert re.fullmatch(r"/wilayah/\d+/data", path_of(page)), page.url
    h1(page, "Rumah Data Kabupaten Barito Timur")
    expect(page.locator("select[name=periode]")).to_have_value("tahunan:2023")
    # The operator enters kabupaten figures too.
    expect(page.get_by_role("link", name="Isi data periode lain", exact=True)).to_be_visible()

    summary = section(page, "Perubahan prevalensi stunting per desa, 2022 → 2023")
    expect(summary).to_have_count(1)
    counts = summary.locator(".summary-count").all_inner_texts()
    assert [" ".join(c.split()) for c in counts] == ["74 TURUN", "3 TETAP", "26 NAIK"], counts
    text = " ".join(summary.inner_text().split())
    assert "dokumen menulis 74 — Sesuai" in text, text
    assert "dokumen menulis 2 — Berbeda hitungan portal: 3" in text, text
    assert "dokumen menulis 27 — Berbeda hitungan portal: 26" in text, text
    assert "Kupang Baru (Kec. Paku): dokumen NAIK, portal TETAP." in text, text
    for stated in ("2", "27"):  # the TETAP and NAIK counts the document states, each flagged
        statement = summary.locator("p", has=page.get_by_text(re.compile(rf"^{stated}$")))
        expect(statement).to_have_count(1)
        expect(statement.locator(".flag")).to_have_text("Berbeda")
    expect(summary.locator("p", has=page.get_by_text(re.compile(r"^74$"))).locator(".check-ok")).to_have_text("Sesuai")

    per_desa = section(page, "Stunting per desa/kelurahan 2022 dan 2023")
    rows = table_rows(per_desa.locator("table"))
    assert len(rows) == 103, len(rows)
    kupang = [(cls, cells) for cls, cells in rows if cells[0] == "Kupang Baru"]
    assert kupang == [("flagged", ["Kupang Baru", "Paku", "2", "4,55%", "2", "4,55%", "TETAP", "NAIK Berbeda"])], kupang
    flagged = [cells[0] for cls, cells in rows if cls == "flagged"]
    assert flagged == ["Kupang Baru"], flagged
    assert sum(1 for _cls, cells in rows if cells[6] == "TURUN") == 74

    checks = section(page, "Pemeriksaan angka dokumen")
    population = checks.locator("li.flagged", has_text="Jumlah penduduk, JUMLAH")
    expect(population).to_have_count(1)
    line = " ".join(population.inner_text().split())
    assert re.search(r"dokumen 115\.406 — Berbeda hitungan portal: 116\.217", line), line
    expect(population.locator(".flag")).to_have_text("Berbeda")

    fits(page, "kabupaten roll-up")
    page.screenshot(path=str(results_dir / "rumahdata-kabupaten-rollup.png"), full_page=True)

    # The same view by its address, and a desa from the table.
    url = page.url
    page.goto(f"{path_of(page)}?putaran=tahunan&tahun=2023")
    counts_again = section(page, "Perubahan prevalensi stunting per desa, 2022 → 2023").locator(".summary-count")
    assert [" ".join(c.split()) for c in counts_again.all_inner_texts()] == ["74 TURUN", "3 TETAP", "26 NAIK"], url
    tap(page, section(page, "Stunting per desa/kelurahan 2022 dan 2023").get_by_role("link", name="Kupang Baru", exact=True))
    h1(page, "Rumah Data Desa Kupang Baru")
    expect(page.locator("main")).to_contain_text("Status no. 77, Kupang Baru (Kec. Paku): dokumen NAIK")
    fits(page, "desa page from the roll-up")
    assert phones.errors == [] and phones.failed == [], (phones.errors, phones.failed)


# -- 4. two people saving the same period -----------------------------------------------------------

VERVAL_2021 = {"families_total": "1.380", "families_targeted": "580", "krs": "130", "target_pus": "290"}


def test_conflicting_saves_keep_what_was_typed(page, rumahdata_server, phones, tmp_path):
    demo = rumahdata_server
    form_path = f"/wilayah/{demo.desa_id}/data/verval_krs/2021"
    section_head = page
    phones.watch(section_head, "seksi.data")
    log_in_on(section_head, "seksi.data", r"/kampung/(\d+)/seksi/data")
    follow_rumah_data_link(section_head)
    open_period(section_head, VERVAL, 2021)
    fill_counts(section_head, VERVAL_2021)
    assert save(section_head) == 200

    # A: the section head opens the form to correct it ...
    tap(section_head, section_head.get_by_role("link", name="Ubah data Verval KRS 2021", exact=True))
    assert path_of(section_head) == form_path
    fill_counts(section_head, {"krs": "125", "families_targeted": "585"})

    # ... B: meanwhile the platform admin corrects KRS of the same period on another phone.
    admin = phones.open("admin")
    log_in_on(admin, "admin")
    admin.goto(form_path)
    h1(admin, "Verval KRS 2021")
    count_input(admin, "krs").fill("128")
    assert save(admin) == 200
    expect(flash(admin)).to_contain_text("disimpan")

    # A saves: not overwritten silently.
    assert save(section_head) == 409
    assert path_of(section_head) == form_path
    conflict = section_head.locator("section.conflict[role=alert]")
    expect(conflict.get_by_role("heading", name="Data ini baru saja disimpan orang lain")).to_be_visible()
    expect(conflict).to_contain_text("Admin Platform menyimpan data periode ini")
    rows = table_rows(conflict.locator("table"))
    heads = [h.strip() for h in conflict.locator("thead th").all_inner_texts()]
    assert heads == ["Indikator", "Tersimpan", "Isian Anda"], heads
    assert [cells for _cls, cells in rows] == [
        ["Keluarga sasaran", "580", "585"],
        ["Keluarga berisiko stunting (KRS)", "128", "125"],
    ], rows
    expect(count_input(section_head, "krs")).to_have_value("125")
    expect(count_input(section_head, "families_targeted")).to_have_value("585")
    expect(count_input(section_head, "target_pus")).to_have_value("290")
    fits(section_head, "conflict")
    section_head.screenshot(path=str(tmp_path / "rumahdata-conflict.png"), full_page=True)

    # Saving again overwrites with what she typed.
    assert save(section_head) == 200
    expect(flash(section_head)).to_have_text(f"Data Verval KRS 2021 {DESA} disimpan.")
    values = indicators(section_head)
    assert values["Keluarga berisiko stunting (KRS)"]["2021"] == "125"
    assert values["Keluarga sasaran"]["2021"] == "585"
    admin.goto(form_path)  # what the admin sees when she opens the form again
    expect(count_input(admin, "krs")).to_have_value("125")

    assert phones.errors == [], phones.errors
    assert phones.failed == [("seksi.data", 409, form_path)], phones.failed


# -- 5. who may enter figures ------------------------------------------------------------------------

@pytest.mark.parametrize("username, landing", [
    ("seksi.perilaku", r"/kampung/(\d+)/seksi/perilaku"),
    ("anggota", r"/"),
])
def test_other_members_read_but_cannot_enter(page, rumahdata_server, phones, username, landing):
    demo = rumahdata_server
    phones.watch(page, username)
    log_in_on(page, username, landing)
    page.goto("/")
    card = page.locator("main section.card").filter(has=page.get_by_role("heading", name=KAMPUNG))
    tap(page, card.get_by_role("link", name="Rumah Data", exact=True))
    assert path_of(page) == f"/wilayah/{demo.desa_id}/data"
    h1(page, f"Rumah Data {DESA}")
    main = page.locator("main")
    for name in ("Isi data periode lain", "Impor Excel/CSV", "mengisi data satu periode"):
        expect(main.get_by_role("link", name=name)).to_have_count(0)
    expect(main.get_by_role("link", name=re.compile(r"^Ubah data"))).to_have_count(0)
    fits(page, f"Rumah Data as {username}")

    base = f"/wilayah/{demo.desa_id}/data"
    denied = []
    for path in (f"{base}/verval_krs/2025", f"{base}/baru", f"{base}/impor"):
        response = page.goto(path)
        denied.append((path, response.status))
        expect(main).to_contain_text("Akses ditolak")
        expect(main.locator("form.data-form")).to_have_count(0)
    assert denied == [(p, 403) for p, _s in denied], denied
    assert phones.errors == [], phones.errors


# -- 6. the Dasbor follows ----------------------------------------------------------------------------

def test_dashboard_shows_entered_krs_beside_its_activities(page, rumahdata_server, phones, tmp_path):
    demo = rumahdata_server
    phones.watch(page, "seksi.data")
    log_in_on(page, "seksi.data", r"/kampung/(\d+)/seksi/data")
    follow_rumah_data_link(page)
    # 2026, the latest period of all, is what the Dasbor shows as "Angka terakhir".
    open_period(page, VERVAL, 2026)
    fill_counts(page, {"families_total": "1.460", "families_targeted": "630", "krs": "88"})
    assert save(page) == 200

    ketua = phones.open("ketua")
    log_in_on(ketua, "ketua")
    card = ketua.locator("main section.card").filter(has=ketua.get_by_role("heading", name=KAMPUNG))
    tap(ketua, card.get_by_role("link", name="Dasbor", exact=True))
    assert path_of(ketua) == f"/kampung/{demo.kampung_id}/dasbor"
    cited = section(ketua, "Kegiatan dan data yang dituju")
    expect(cited).to_have_count(1)
    rows = {cells[0]: cells for _cls, cells in table_rows(cited.locator("table"))}
    for kegiatan in ("Pendampingan KRS", "Pemutahiran data keluarga resiko stunting"):
        assert kegiatan in rows, sorted(rows)
        _name, _progress, indicator, latest, _before = rows[kegiatan]
        assert indicator == "Keluarga berisiko stunting (KRS)", rows[kegiatan]
        assert latest == "88 Verval KRS 2026", rows[kegiatan]
    # Its link leads to the desa's Rumah Data.
    tap(ketua, cited.get_by_role("link", name=f"Rumah Data {DESA}", exact=True))
    assert path_of(ketua) == f"/wilayah/{demo.desa_id}/data"
    ketua.go_back()
    fits(ketua, "Dasbor")
    ketua.screenshot(path=str(tmp_path / "rumahdata-dasbor.png"), full_page=True)
    assert phones.errors == [] and phones.failed == [], (phones.errors, phones.failed)


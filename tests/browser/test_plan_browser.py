"""Rencana Kegiatan in a real browser on a 360 px wide phone screen: adding a row in place with
htmx (its part and the totals box updated out of band), the GET filter form with a pushed URL and
the back button, completing a schedule the reader could not read, read-only access for an
ordinary member, and deleting a row after confirmation.

The server (conftest.live_server) is one per session with the demo data: a 2025 draft of 17 rows
for Kampung KB Kel. Pgs Dua. Tests here add rows, so counts are taken relative to what the page
shows before a step; the row added in the schedule test is the one the delete test removes (the
delete test adds its own row when run alone).
"""
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect
from tests.browser.helpers import assert_no_reload, scroll_width, set_reload_marker, unique

pytestmark = pytest.mark.browser

PHONE_WIDTH = 360
DEMO_ROW_COUNT = 17
PART_KEYS = ("I", "II", "III", "IV", "V", "VI")
FILTER_EMPTY = "Tidak ada kegiatan di bagian ini yang sesuai filter."
# Demo rows whose seksi is Perubahan Perilaku outside part II: part V names its seksi in the
# Pelaksana column (seeds/demo.py, _seksi_named_in), and "Gasing Perak" names this one.
PERILAKU_OUTSIDE_PART_II = {"V": ["Gasing Perak"]}

# Shared between the schedule test and the delete test (run in file order).
STATE = {}










def part(page, key):
    return page.locator(f"#bagian-{key}")


def rows_of(section):
    """The row cards of a part (an open edit/confirm row is a tr.editing, not a card)."""
    return section.locator("table.rows > tbody > tr:not(.editing)")


def row_named(section, kegiatan):
    return rows_of(section).filter(has=section.page.locator("td.kegiatan strong", has_text=kegiatan))


def row_post(page, suffix=""):
    """Context manager catching the next htmx POST to the plan's rows and its response."""
    pattern = re.compile(r"/rencana/\d+/baris(/\d+)?" + re.escape(suffix) + r"(\?|$)")
    return page.expect_response(lambda r: r.request.method == "POST" and pattern.search(r.url))


def totals_amount(page, label):
    """The amount beside ``label`` in the #totals box ('' when the row is absent)."""
    return page.evaluate(
        """label => {
          for (const tr of document.querySelectorAll('#totals tr')) {
            if (tr.querySelector('th')?.textContent.trim() === label)
              return tr.querySelector('td').textContent.trim();
          }
          return '';
        }""", label)


def rupiah_value(text):
    digits = re.sub(r"\D", "", text or "")
    return int(digits) if digits else 0


def rupiah(amount):
    return "Rp " + f"{amount:,}".replace(",", ".")


def csrf_token(page):
    return json.loads(page.locator("body").get_attribute("hx-headers"))["X-CSRFToken"]


def assert_single_plan_body(page):
    """htmx swaps must replace, never duplicate: one plan body, six parts, one totals box."""
    counts = page.evaluate("""() => ({
      body: document.querySelectorAll('#plan-body').length,
      parts: document.querySelectorAll('section.part').length,
      totals: document.querySelectorAll('#totals').length,
      ids: [...document.querySelectorAll('section.part')].map(s => s.id),
    })""")
    assert counts == {"body": 1, "parts": 6, "totals": 1,
                      "ids": [f"bagian-{k}" for k in PART_KEYS]}, f"the plan page is mangled: {counts}"


@pytest.fixture
def open_plan(page):
    """``open_plan()``: from Beranda, "Rencana Kegiatan" then "Rencana Kegiatan 2025"."""
    def do_open():
        page.goto("/")
        with page.expect_navigation():
            page.get_by_role("link", name="Rencana Kegiatan", exact=True).first.click()
        page.get_by_role("heading", level=1, name="Rencana Kegiatan").wait_for()
        with page.expect_navigation():
            page.get_by_role("link", name="Rencana Kegiatan 2025").click()
        expect(page.get_by_role("heading", level=1, name="Rencana Kegiatan 2025")).to_be_visible()
        assert re.fullmatch(r"/rencana/\d+", urlsplit(page.url).path), page.url
        assert_single_plan_body(page)
    return do_open


@pytest.fixture
def sekretaris_on_plan(page, log_in, open_plan):
    """The demo Sekretaris, logged in, looking at the 2025 plan of Kampung KB Kel. Pgs Dua."""
    log_in("sekretaris")
    open_plan()
    return page


def add_row(page, part_key, kegiatan, waktu, dana):
    """Add a row through the part's inline form; returns the POST's response."""
    section = part(page, part_key)
    section.get_by_role("link", name="+ Tambah kegiatan").click()
    section = part(page, part_key)
    expect(section.get_by_role("heading", name=f"Tambah kegiatan di bagian {part_key}")).to_be_visible()
    assert_single_plan_body(page)
    form = section.locator("form.row-form")
    form.get_by_label("Kegiatan", exact=True).fill(kegiatan)
    form.get_by_label("Waktu", exact=True).fill(waktu)
    form.get_by_label("Sumber dana", exact=True).fill(dana)
    with row_post(page) as response_info:
        form.get_by_role("button", name="Tambahkan").click()
    response = response_info.value
    expect(part(page, part_key).locator(".flash.success")).to_have_text(
        f"Kegiatan \u201c{kegiatan}\u201d ditambahkan ke bagian {part_key}.")
    return response


# -- 1. the acceptance scenario ---------------------------------------------------------

def test_sekretaris_adds_a_row_in_part_ii_and_totals_follow(sekretaris_on_plan, results_dir, page_errors):
    page = sekretaris_on_plan
    navigations = []
    page.on("framenavigated", lambda frame: frame == page.main_frame and navigations.append(frame.url))
    marker = set_reload_marker(page)
    token = csrf_token(page)
    # Tag the totals box: an out-of-band swap replaces the element, so the tag must disappear.
    page.evaluate("() => { document.getElementById('totals').dataset.before = 'yes'; }")

    section = part(page, "II")
    rows_before = rows_of(section).count()
    total_rows_before = page.locator("#plan-body table.rows > tbody > tr").count()
    assert total_rows_before >= DEMO_ROW_COUNT
    bokb_before = rupiah_value(totals_amount(page, "DAK BOKB"))
    sum_before = rupiah_value(totals_amount(page, "Jumlah"))
    part_ii_before = rupiah_value(totals_amount(page, "II. Perubahan perilaku"))
    kegiatan = "Kelas BKB"

    response = add_row(page, "II", kegiatan, "tiap minggu ke-2, Maret s.d. Nov", "BOKB Rp 1.500.000")
    assert response.status == 200
    assert response.request.headers.get("hx-request") == "true"
    assert response.request.headers.get("x-csrftoken") == token

    assert_no_reload(page, marker)
    assert navigations == [], f"full page navigations happened: {navigations}"
    assert_single_plan_body(page)

    # The row is in part II, as a card, with its amount; the form is closed.
    section = part(page, "II")
    expect(rows_of(section)).to_have_count(rows_before + 1)
    new_row = row_named(section, kegiatan).last
    expect(new_row).to_be_visible()
    expect(new_row.locator("td.money")).to_have_text("Rp 1.500.000")
    expect(new_row.locator("td[data-label='Sumber dana']")).to_contain_text("DAK BOKB")
    expect(new_row.locator("td[data-label='Sumber dana']")).to_contain_text("Rp 1.500.000")
    expect(new_row.locator("td[data-label='Waktu']")).to_contain_text("tiap minggu ke-2, Maret s.d. Nov")
    expect(new_row.locator(".flag", has_text="jadwal perlu dilengkapi")).to_have_count(0)
    expect(section.locator("form.row-form")).to_have_count(0)
    expect(section.get_by_role("link", name="+ Tambah kegiatan")).to_be_visible()
    expect(page.locator("#plan-body table.rows > tbody > tr")).to_have_count(total_rows_before + 1)

    # Part II's own total (in its header).
    expect(section.locator("header.part-head .money")).to_have_text(rupiah(part_ii_before + 1_500_000))

    # The totals box was swapped out of band (a new element) and shows the new amounts.
    totals = page.locator("#totals")
    expect(totals).not_to_have_attribute("data-before", "yes")
    bokb_row = totals.locator("tr").filter(has=page.locator("th", has_text=re.compile(r"^DAK BOKB$")))
    expect(bokb_row.locator("td")).to_have_text(rupiah(bokb_before + 1_500_000))
    expect(totals.locator("tr.sum th")).to_have_text("Jumlah")
    expect(totals.locator("tr.sum td")).to_have_text(rupiah(sum_before + 1_500_000))
    expect(totals.locator("tr").filter(has=page.locator("th", has_text="II. Perubahan perilaku"))
           .locator("td")).to_have_text(rupiah(part_ii_before + 1_500_000))
    if bokb_before == 0 and sum_before == 0:  # a fresh demo database: the exact numbers
        expect(bokb_row.locator("td")).to_have_text("Rp 1.500.000")
        expect(totals.locator("tr.sum td")).to_have_text("Rp 1.500.000")

    assert_no_reload(page, marker)
    width = scroll_width(page)
    page.screenshot(path=str(results_dir / "plan-360.png"), full_page=True)
    assert page.evaluate("() => document.documentElement.clientWidth") == PHONE_WIDTH
    assert width <= PHONE_WIDTH, f"horizontal scroll at {PHONE_WIDTH} px: scrollWidth={width}"
    errors = [e for e in page_errors if "Failed to load resource" not in e]
    assert errors == [], errors


# -- 2. filters: a pushed URL, and the back button -----------------------------------------------

def test_filter_by_seksi_pushes_url_and_back_restores(sekretaris_on_plan):
    page = sekretaris_on_plan
    marker = set_reload_marker(page)
    all_rows = page.locator("#plan-body table.rows > tbody > tr")
    count_before = all_rows.count()
    assert count_before >= DEMO_ROW_COUNT
    part_ii_before = rows_of(part(page, "II")).count()
    assert part_ii_before >= 2
    seksi = page.locator("form.filters").get_by_role("combobox", name="Seksi", exact=True)
    expect(seksi).to_have_value("")

    with page.expect_response(lambda r: r.request.method == "GET" and "seksi=perilaku" in r.url) as info:
        seksi.select_option(label="Perubahan Perilaku")
    assert info.value.status == 200
    expect(page).to_have_url(re.compile(r"[?&]seksi=perilaku(&|$)"))
    assert parse_qs(urlsplit(page.url).query).get("seksi") == ["perilaku"]
    expect(page.locator("#plan-body > p.muted").first).to_contain_text("sesuai filter")
    expect(page.locator("#judul-total")).to_have_text("Anggaran (sesuai filter)")
    assert_no_reload(page, marker)
    assert_single_plan_body(page)

    # Part II keeps all its rows; every row still shown belongs to Perubahan Perilaku.
    expect(rows_of(part(page, "II"))).to_have_count(part_ii_before)
    shown = page.evaluate("""() => [...document.querySelectorAll('#plan-body section.part')].flatMap(s =>
      [...s.querySelectorAll('table.rows > tbody > tr')].map(tr => [s.id,
        tr.querySelector('td.kegiatan strong').textContent.trim(),
        [...tr.querySelectorAll('td.kegiatan span.sub')].map(x => x.textContent.trim())]))""")
    for section_id, kegiatan, subs in shown:
        assert "Perubahan Perilaku" in subs, f"{kegiatan} ({section_id}) shown under seksi=perilaku: {subs}"
    outside = {sid.removeprefix("bagian-"): [] for sid, _, _ in shown if sid != "bagian-II"}
    for section_id, kegiatan, _ in shown:
        if section_id != "bagian-II":
            outside[section_id.removeprefix("bagian-")].append(kegiatan)
    assert outside == PERILAKU_OUTSIDE_PART_II, f"rows outside part II under seksi=perilaku: {outside}"
    for key in ("I", "III", "IV"):
        expect(part(page, key).locator("table.rows")).to_have_count(0)
        expect(part(page, key).locator("p.muted")).to_have_text(FILTER_EMPTY)
    # Part VI has no rows at all in the demo: it says so, not that the filter hid them.
    expect(part(page, "VI").locator("p.muted")).to_have_text("Belum ada kegiatan.")
    expect(all_rows).to_have_count(part_ii_before + sum(len(v) for v in PERILAKU_OUTSIDE_PART_II.values()))

    # Back: the unfiltered URL, every row, and the select back on "Semua" — still no reload.
    page.go_back()
    expect(page).not_to_have_url(re.compile(r"seksi="))
    expect(all_rows).to_have_count(count_before)
    expect(page.locator("form.filters").get_by_role("combobox", name="Seksi", exact=True)).to_have_value("")
    expect(page.locator("#judul-total")).to_have_text("Anggaran")
    for key in ("I", "III", "IV"):
        expect(part(page, key).get_by_text(FILTER_EMPTY)).to_have_count(0)
    assert_no_reload(page, marker)
    assert_single_plan_body(page)


# -- 3. a phrase the reader cannot read ----------------------------------------------------------

def test_unreadable_schedule_is_flagged_then_completed_by_hand(sekretaris_on_plan):
    page = sekretaris_on_plan
    marker = set_reload_marker(page)
    kegiatan = unique("Ronda kebersihan")
    STATE["part_iv_row"] = kegiatan

    response = add_row(page, "IV", kegiatan, "kalau sempat", "swadaya")
    assert response.status == 200
    section = part(page, "IV")
    row = row_named(section, kegiatan)
    expect(row).to_have_count(1)
    expect(row.locator(".flag", has_text="jadwal perlu dilengkapi")).to_be_visible()
    expect(row.locator("td[data-label='Waktu']")).to_contain_text("kalau sempat")

    # Ubah: the edit form opens in place, with the schedule details open and marked.
    row.get_by_role("link", name=f"Ubah {kegiatan}").click()
    editing = part(page, "IV").locator("tr.editing form.row-form")
    expect(editing).to_be_visible()
    assert_single_plan_body(page)
    expect(editing.get_by_label("Kegiatan", exact=True)).to_have_value(kegiatan)
    expect(editing.get_by_label("Waktu", exact=True)).to_have_value("kalau sempat")
    details = editing.locator("details.schedule")
    expect(details.locator("summary")).to_contain_text("Rincian jadwal")
    if not details.evaluate("d => d.open"):
        details.locator("summary").click()
    expect(details).to_have_attribute("open", "")
    details.get_by_label("Mulai", exact=True).fill("2025-04-01")
    details.get_by_label("Selesai", exact=True).fill("2025-09-30")
    details.get_by_label("Frekuensi", exact=True).select_option(label="Bulanan")
    with row_post(page) as response_info:
        editing.get_by_role("button", name="Simpan").click()
    assert response_info.value.status == 200

    section = part(page, "IV")
    expect(section.locator(".flash.success")).to_have_text(f"Kegiatan \u201c{kegiatan}\u201d disimpan.")
    expect(section.locator("tr.editing")).to_have_count(0)
    row = row_named(section, kegiatan)
    expect(row).to_have_count(1)
    expect(row.locator(".flag", has_text="jadwal perlu dilengkapi")).to_have_count(0)
    waktu = row.locator("td[data-label='Waktu']")
    expect(waktu).to_contain_text("kalau sempat")
    expect(waktu.locator(".sub")).to_contain_text("Bulanan")
    expect(waktu.locator(".sub")).to_contain_text("1 Apr 2025 – 30 Sep 2025")
    assert_no_reload(page, marker)
    assert_single_plan_body(page)
    assert scroll_width(page) <= PHONE_WIDTH


# -- 4. an ordinary member reads only ------------------------------------------------------------

ADD_PROBE_JS = """async ({url, token}) => {
  const body = new URLSearchParams({part: 'II', kegiatan: 'Tidak boleh', schedule_text: 'Juni',
                                    funding_text: 'swadaya'});
  const headers = {'HX-Request': 'true'};
  if (token) headers['X-CSRFToken'] = token;
  const r = await fetch(url, {method: 'POST', body, headers, redirect: 'manual'});
  return r.status;
}"""


def test_anggota_sees_the_plan_but_cannot_change_it(page, log_in, open_plan):
    log_in("anggota")
    open_plan()
    plan_path = urlsplit(page.url).path
    rows = page.locator("#plan-body table.rows > tbody > tr")
    count = rows.count()
    assert count >= DEMO_ROW_COUNT
    expect(page.locator("#totals")).to_be_visible()

    body = page.locator("#plan-body")  # ("Hapus filter" in the filter form is for everyone)
    expect(body.get_by_role("link", name="+ Tambah kegiatan")).to_have_count(0)
    expect(body.get_by_role("link", name=re.compile(r"^Ubah\b"))).to_have_count(0)
    expect(body.get_by_role("link", name=re.compile(r"^Hapus\b"))).to_have_count(0)
    expect(body.get_by_role("button", name=re.compile(r"^Pindah\b"))).to_have_count(0)
    expect(page.locator("td.row-actions")).to_have_count(0)

    # The form-opening query strings do nothing for a reader.
    page.goto(f"{plan_path}?tambah=II")
    expect(page.locator("form.row-form")).to_have_count(0)

    add_url = f"{plan_path}/baris"
    token = csrf_token(page)
    # Without the token CSRF stops it (400); with it, the permission check answers 403.
    assert page.evaluate(ADD_PROBE_JS, {"url": add_url, "token": None}) == 400
    assert page.evaluate(ADD_PROBE_JS, {"url": add_url, "token": token}) == 403

    page.reload()
    expect(rows).to_have_count(count)
    expect(page.get_by_text("Tidak boleh", exact=True)).to_have_count(0)


# -- 5. delete with confirmation -----------------------------------------------------------------

def test_delete_asks_first_and_batal_keeps_the_row(sekretaris_on_plan):
    page = sekretaris_on_plan
    kegiatan = STATE.get("part_iv_row")
    if not kegiatan or row_named(part(page, "IV"), kegiatan).count() != 1:
        kegiatan = unique("Ronda kebersihan")
        add_row(page, "IV", kegiatan, "kalau sempat", "swadaya")
    marker = set_reload_marker(page)
    rows_before = rows_of(part(page, "IV")).count()
    confirm_text = f"Hapus kegiatan {kegiatan} dari rencana? Tindakan ini tidak dapat dibatalkan."

    # First "Hapus": the confirmation, in place of the row.
    row_named(part(page, "IV"), kegiatan).get_by_role("link", name=f"Hapus {kegiatan}").click()
    confirm = part(page, "IV").locator("tr.editing")
    expect(confirm).to_contain_text(confirm_text)
    expect(confirm.get_by_role("button", name="Hapus")).to_be_visible()
    assert_single_plan_body(page)

    # Batal keeps it.
    confirm.get_by_role("link", name="Batal").click()
    section = part(page, "IV")
    expect(section.locator("tr.editing")).to_have_count(0)
    expect(section.get_by_text(confirm_text)).to_have_count(0)
    expect(row_named(section, kegiatan)).to_have_count(1)
    expect(rows_of(section)).to_have_count(rows_before)
    assert_single_plan_body(page)

    # Hapus again, and confirm.
    row_named(section, kegiatan).get_by_role("link", name=f"Hapus {kegiatan}").click()
    confirm = part(page, "IV").locator("tr.editing")
    expect(confirm).to_contain_text(confirm_text)
    with row_post(page, "/hapus") as response_info:
        confirm.get_by_role("button", name="Hapus").click()
    assert response_info.value.status == 200

    section = part(page, "IV")
    expect(section.locator(".flash.success")).to_have_text(f"Kegiatan \u201c{kegiatan}\u201d dihapus.")
    expect(row_named(section, kegiatan)).to_have_count(0)
    expect(rows_of(section)).to_have_count(rows_before - 1)
    expect(page.get_by_text(kegiatan)).to_have_count(1)  # only in the flash message
    assert_no_reload(page, marker)
    assert_single_plan_body(page)

    # And it stays gone after a real reload.
    page.reload()
    expect(row_named(part(page, "IV"), kegiatan)).to_have_count(0)

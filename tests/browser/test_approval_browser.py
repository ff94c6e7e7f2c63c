"""Approval of a Rencana Kegiatan in a real browser on a 360 px wide phone screen, end to end:
the Sekretaris submits, the Lurah/Kepala Desa cannot approve before the Ketua signs and returns
the plan with a note, the Sekretaris fixes a row and submits again, the Ketua signs (a wrong
password first), the Lurah approves; the approved plan refuses edits, a revision shows what
changed, and the public Verifikasi dokumen page tells an intact plan from one changed in the
database behind the portal's back.

This module runs its own server (same start-up as conftest.live_server, its own temp database):
it submits, approves and finally tampers with the demo 2025 plan, which the other browser tests
expect to stay an editable draft, and it needs the database file to tamper with.
"""
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.conftest import DATABASES, demo_server
from tests.browser.helpers import scroll_width
from tests.pg_cluster import engine_for

pytestmark = pytest.mark.browser

PHONE_WIDTH = 360
PASSWORD = "kampungkb"
KETUA_NAME = "Sri Wahyuni"  # seeds/demo.py
LURAH_NAME = "Hendra Saputra"
RETURN_NOTE = "Jadwal kegiatan 30 hari belum jelas"
# Demo rows (seeds/data/rencana_kegiatan_pgs_dua_2025.json) changed along the way.
FIXED_ROW = "Pendampingan pembiasaan pola makan sehat"  # part II, "30 hari"
FIXED_ROW_NEW = "Pendampingan pembiasaan pola makan sehat selama 30 hari di bulan Juli"
REVISED_ROW = "Gotong royong kebersihan lingkungan"  # part IV
REVISED_ROW_NEW = "Gotong royong kebersihan lingkungan dan saluran air"
TAMPERED_ROW = "Pemberian makanan tambahan"  # part III
TAMPERED_TEXT = "DIUBAH DI LUAR"
CODE_RE = re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$")


# -- a server of our own ---------------------------------------------------------------------------

@dataclass
class Server:
    base_url: str
    database_url: str


@pytest.fixture(scope="module")
def approval_server(tmp_path_factory):
    """Like conftest.live_server, but for this module only (it approves the demo plan), and
    telling where its database is."""
    tmp = tmp_path_factory.mktemp("approval-server")
    with demo_server(tmp) as base_url:
        yield Server(base_url, DATABASES[base_url])


@pytest.fixture(scope="module")
def live_server(approval_server):
    """Overrides conftest.live_server for this module, so conftest.page opens our server."""
    return approval_server.base_url


# -- small steps ---------------------------------------------------------------------------------

def panel(page):
    return page.locator("#persetujuan")


def status_badge(page):
    return panel(page).locator("h2 .badge").first


def flash(page):
    return page.locator("#messages .flash")


def edit_links(page):
    return page.locator("#plan-body").get_by_role("link", name=re.compile(r"^Ubah\b"))


def row_named(page, kegiatan):
    return page.locator("#plan-body table.rows > tbody > tr:not(.editing)").filter(
        has=page.locator("td.kegiatan strong", has_text=re.compile(f"^{re.escape(kegiatan)}$")))


def plan_id_of(page):
    match = re.fullmatch(r"/rencana/(\d+)", urlsplit(page.url).path)
    assert match, page.url
    return int(match.group(1))


def csrf_token(page):
    return page.locator("input[name=csrf_token]").first.input_value()


def assert_fits_phone(page, what):
    width = scroll_width(page)
    assert width <= PHONE_WIDTH, f"{what}: horizontal scroll at {PHONE_WIDTH} px (scrollWidth={width})"


def shot(page, tmp_path, name, locator=None):
    path = str(tmp_path / f"{name}.png")
    if locator is not None:
        locator.screenshot(path=path)
    else:
        page.screenshot(path=path, full_page=True)


def click_and_load(page, locator):
    """Click something that loads a new page (a link or a plain form's button)."""
    with page.expect_navigation():
        locator.click()


def log_out(page):
    page.goto("/")
    click_and_load(page, page.get_by_role("button", name="Keluar"))
    expect(flash(page)).to_have_text("Anda telah keluar.")


def switch_user(page, log_in, username):
    log_out(page)
    log_in(username)


def waiting_item(page, title="Rencana Kegiatan 2025"):
    """The Beranda "Menunggu Anda" entry of a plan."""
    return page.locator(".todo li").filter(has=page.get_by_role("link", name=title, exact=True))


def open_plan_from_home(page, title="Rencana Kegiatan 2025"):
    """Beranda → Rencana Kegiatan → the plan, as the other browser tests do."""
    page.goto("/")
    click_and_load(page, page.get_by_role("link", name="Rencana Kegiatan", exact=True).first)
    expect(page.get_by_role("heading", level=1, name="Rencana Kegiatan")).to_be_visible()
    click_and_load(page, page.get_by_role("link", name=title, exact=True))
    expect(page.get_by_role("heading", level=1, name=title, exact=True)).to_be_visible()
    return plan_id_of(page)


def open_plan_from_waiting(page, message):
    """Beranda's "Menunggu Anda" entry of the 2025 plan (with ``message``) → the plan."""
    page.goto("/")
    item = waiting_item(page)
    expect(item).to_contain_text(message)
    click_and_load(page, item.get_by_role("link", name="Rencana Kegiatan 2025", exact=True))
    expect(page.get_by_role("heading", level=1, name="Rencana Kegiatan 2025", exact=True)).to_be_visible()


def sign_with(page, action, password, button):
    """Type the password into the status panel's form ``action`` and press its button."""
    page.locator(f"#{action}-password").fill(password)
    click_and_load(page, panel(page).get_by_role("button", name=button, exact=True))


def edit_kegiatan(page, old, new):
    """Ubah → new Kegiatan text → Simpan (htmx, in place). Returns the row's id."""
    row = row_named(page, old)
    expect(row).to_have_count(1)
    link = row.get_by_role("link", name=f"Ubah {old}", exact=True)
    row_id = int(parse_qs(urlsplit(link.get_attribute("href")).query)["ubah"][0])
    link.click()
    form = page.locator("tr.editing form.row-form")
    expect(form.get_by_label("Kegiatan", exact=True)).to_have_value(old)
    form.get_by_label("Kegiatan", exact=True).fill(new)
    with page.expect_response(lambda r: r.request.method == "POST"
                              and urlsplit(r.url).path.endswith(f"/baris/{row_id}")) as info:
        form.get_by_role("button", name="Simpan").click()
    assert info.value.status == 200, info.value.status
    expect(page.locator("#plan-body .flash.success")).to_have_text(f"Kegiatan \u201c{new}\u201d disimpan.")
    expect(page.locator("tr.editing")).to_have_count(0)
    expect(row_named(page, new)).to_have_count(1)
    expect(row_named(page, old)).to_have_count(0)
    return row_id


def post_row_edit(page, plan_id, row_id, kegiatan):
    """A hand-made POST to the row's edit URL with a valid CSRF token (no redirects followed)."""
    return page.request.post(f"/rencana/{plan_id}/baris/{row_id}", max_redirects=0, form={
        "csrf_token": csrf_token(page), "part": "II", "kegiatan": kegiatan,
        "schedule_text": "Juli", "funding_text": "swadaya",
    })


def assert_edit_refused(page, plan_id, row_id, kegiatan):
    response = post_row_edit(page, plan_id, row_id, "Diubah lewat POST langsung")
    assert response.status in (403, 409), f"row edit on a locked plan answered {response.status}"
    page.reload()
    expect(row_named(page, kegiatan)).to_have_count(1)
    expect(page.get_by_text("Diubah lewat POST langsung")).to_have_count(0)


SUBMIT_FORM_JS = """({action, fields}) => {
  const form = document.createElement('form');
  form.method = 'post';
  form.action = action;
  for (const [name, value] of Object.entries(fields)) {
    const input = document.createElement('input');
    input.type = 'hidden';
    input.name = name;
    input.value = value;
    form.appendChild(input);
  }
  document.body.appendChild(form);
  form.submit();
}"""


def signature_item(page, title):
    return panel(page).locator("ul.signatures li").filter(has_text=f"{title}:")


# -- the steps of the story ----------------------------------------------------------------------

def sekretaris_submits(page, log_in, tmp_path):
    log_in("sekretaris")
    plan_id = open_plan_from_home(page)
    expect(status_badge(page)).to_have_text("Draf")
    expect(edit_links(page).first).to_be_visible()
    shot(page, tmp_path, "01-panel-draf-sekretaris", panel(page))
    click_and_load(page, panel(page).get_by_role("button", name="Ajukan ke Lurah/Kepala Desa", exact=True))
    assert plan_id_of(page) == plan_id
    expect(flash(page)).to_have_text("Rencana diajukan ke Lurah/Kepala Desa.")
    expect(status_badge(page)).to_have_text("Diajukan")
    expect(edit_links(page)).to_have_count(0)
    expect(page.locator("#plan-body").get_by_role("link", name="+ Tambah kegiatan")).to_have_count(0)
    expect(signature_item(page, "Ketua Pokja")).to_contain_text("belum ditandatangani")
    expect(panel(page)).to_contain_text("Menunggu tanda tangan Ketua Pokja")
    shot(page, tmp_path, "02-panel-diajukan-sekretaris", panel(page))
    assert_fits_phone(page, "plan page, submitted")
    return plan_id


def lurah_cannot_approve_yet(page, log_in, tmp_path, plan_id):
    switch_user(page, log_in, "lurah")
    open_plan_from_waiting(page, "menunggu tanda tangan Ketua Pokja sebelum Anda setujui")
    assert plan_id_of(page) == plan_id
    expect(status_badge(page)).to_have_text("Diajukan")
    expect(signature_item(page, "Ketua Pokja")).to_contain_text("belum ditandatangani")
    shot(page, tmp_path, "03-panel-diajukan-lurah", panel(page))

    # Approving with the right password before the Ketua has signed is refused, the reason on
    # screen. The panel currently does not offer "Setujui dan tanda tangani" until the Ketua has
    # signed (it says what it waits for instead); then the form that button would send (right
    # password, the page's CSRF token) is sent from this page, so the server's refusal is what
    # the Lurah sees.
    approve = panel(page).get_by_role("button", name="Setujui dan tanda tangani", exact=True)
    with page.expect_navigation() as navigation:
        if approve.count() and approve.is_enabled():
            page.locator("#setujui-password").fill(PASSWORD)
            approve.click()
        else:
            expect(panel(page)).to_contain_text("Menunggu tanda tangan Ketua Pokja")
            page.evaluate(SUBMIT_FORM_JS, {"action": f"/rencana/{plan_id}/aksi/setujui",
                                           "fields": {"csrf_token": csrf_token(page), "password": PASSWORD}})
    assert navigation.value.status == 409, navigation.value.status
    refusal = panel(page).locator(".flash.error[role=alert]")
    expect(refusal).to_be_visible()
    expect(refusal).to_contain_text("Ketua Pokja belum menandatangani")
    expect(status_badge(page)).to_have_text("Diajukan")
    expect(signature_item(page, "Lurah/Kepala Desa")).to_contain_text("belum ditandatangani")
    expect(panel(page).locator(".code")).to_have_count(0)
    shot(page, tmp_path, "03b-panel-setujui-ditolak-lurah", panel(page))


def lurah_returns(page, tmp_path):
    details = panel(page).locator("details.action")
    details.locator("summary", has_text="Kembalikan untuk diperbaiki").click()
    note = page.locator("#kembalikan-note")
    expect(note).to_be_visible()
    # Empty note: refused, the message beside the field.
    click_and_load(page, details.get_by_role("button", name="Kembalikan ke Pokja"))
    expect(status_badge(page)).to_have_text("Diajukan")
    expect(details).to_have_attribute("open", "")
    error = page.locator("#kembalikan-note-err")
    expect(error).to_have_text("Tuliskan apa yang perlu diperbaiki.")
    expect(note).to_have_attribute("aria-invalid", "true")
    expect(note).to_have_attribute("aria-describedby", "kembalikan-note-err")
    shot(page, tmp_path, "04-panel-kembalikan-catatan-kosong", panel(page))
    # With a note.
    note.fill(RETURN_NOTE)
    click_and_load(page, details.get_by_role("button", name="Kembalikan ke Pokja"))
    expect(flash(page)).to_have_text("Rencana dikembalikan ke Pokja dengan catatan.")
    expect(status_badge(page)).to_have_text("Dikembalikan")
    expect(panel(page).locator(".return-note .note-text")).to_have_text(RETURN_NOTE)
    expect(panel(page).get_by_role("button", name="Setujui dan tanda tangani")).to_have_count(0)


def sekretaris_fixes_and_resubmits(page, log_in, tmp_path, plan_id):
    switch_user(page, log_in, "sekretaris")
    item = waiting_item(page)
    expect(item).to_contain_text("dikembalikan untuk diperbaiki")
    expect(item.locator(".note-text")).to_have_text(f"Catatan Lurah/Kepala Desa: {RETURN_NOTE}")
    shot(page, tmp_path, "05-beranda-dikembalikan-sekretaris")
    assert_fits_phone(page, "Beranda with a returned plan")
    click_and_load(page, item.get_by_role("link", name="Rencana Kegiatan 2025", exact=True))
    assert plan_id_of(page) == plan_id
    expect(status_badge(page)).to_have_text("Dikembalikan")
    expect(panel(page).locator(".return-note .note-text")).to_have_text(RETURN_NOTE)
    expect(edit_links(page).first).to_be_visible()
    shot(page, tmp_path, "06-panel-dikembalikan-sekretaris", panel(page))

    row_id = edit_kegiatan(page, FIXED_ROW, FIXED_ROW_NEW)
    # The first fix takes the plan back to Draf; the panel is refreshed in place.
    expect(status_badge(page)).to_have_text("Draf")
    expect(panel(page).locator(".return-note")).to_contain_text("Sudah mulai diperbaiki")
    click_and_load(page, panel(page).get_by_role("button", name="Ajukan ke Lurah/Kepala Desa", exact=True))
    expect(flash(page)).to_have_text("Rencana diajukan ke Lurah/Kepala Desa.")
    expect(status_badge(page)).to_have_text("Diajukan")
    expect(panel(page).locator(".return-note")).to_have_count(0)
    expect(edit_links(page)).to_have_count(0)
    expect(row_named(page, FIXED_ROW_NEW)).to_have_count(1)
    return row_id


def ketua_signs(page, log_in, tmp_path, plan_id):
    switch_user(page, log_in, "ketua")
    open_plan_from_waiting(page, "menunggu tanda tangan Anda sebagai Ketua Pokja")
    assert plan_id_of(page) == plan_id
    expect(status_badge(page)).to_have_text("Diajukan")
    password = page.locator("#tandatangani-password")
    expect(password).to_have_attribute("type", "password")

    sign_with(page, "tandatangani", "bukan-kata-sandinya", "Tanda tangani sebagai Ketua Pokja")
    error = page.locator("#tandatangani-password-err")
    expect(error).to_contain_text("Kata sandi salah")
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(password).to_have_attribute("aria-describedby", "tandatangani-password-err")
    expect(signature_item(page, "Ketua Pokja")).to_contain_text("belum ditandatangani")
    shot(page, tmp_path, "07-panel-kata-sandi-salah-ketua", panel(page))
    assert_fits_phone(page, "plan page, wrong password")

    sign_with(page, "tandatangani", PASSWORD, "Tanda tangani sebagai Ketua Pokja")
    expect(flash(page)).to_have_text("Rencana ditandatangani Ketua Pokja.")
    expect(status_badge(page)).to_have_text("Diajukan")
    expect(signature_item(page, "Ketua Pokja")).to_contain_text(f"{KETUA_NAME}, ditandatangani secara elektronik")
    expect(signature_item(page, "Lurah/Kepala Desa")).to_contain_text("belum ditandatangani")
    expect(panel(page).get_by_role("button", name="Tanda tangani sebagai Ketua Pokja")).to_have_count(0)
    expect(panel(page)).to_contain_text("Menunggu persetujuan Lurah/Kepala Desa.")


def lurah_approves(page, log_in, tmp_path, plan_id, row_id):
    switch_user(page, log_in, "lurah")
    open_plan_from_waiting(page, "menunggu persetujuan dan tanda tangan Anda")
    assert plan_id_of(page) == plan_id
    sign_with(page, "setujui", PASSWORD, "Setujui dan tanda tangani")
    expect(flash(page)).to_have_text("Rencana disetujui dan ditandatangani.")
    expect(status_badge(page)).to_have_text("Disetujui")
    expect(panel(page).locator("h2 .badge.status-berlaku")).to_have_text("Berlaku")
    expect(signature_item(page, "Ketua Pokja")).to_contain_text(f"{KETUA_NAME}, ditandatangani secara elektronik")
    expect(signature_item(page, "Lurah/Kepala Desa")).to_contain_text(f"{LURAH_NAME}, ditandatangani secara elektronik")
    code = panel(page).locator(".code").inner_text().strip()
    assert CODE_RE.match(code), f"verification code {code!r}"
    expect(panel(page).get_by_role("link", name="Periksa keaslian")).to_have_attribute("href", f"/verifikasi/{code}")
    expect(panel(page).locator("form.action")).to_have_count(0)  # nothing left to do on it
    shot(page, tmp_path, "08-panel-disetujui-lurah", panel(page))
    assert_fits_phone(page, "plan page, approved")

    # Editing is refused: no Ubah links, and a hand-made POST is turned away.
    expect(edit_links(page)).to_have_count(0)
    assert_edit_refused(page, plan_id, row_id, FIXED_ROW_NEW)
    return code


def sekretaris_revises(page, log_in, tmp_path, plan_id, row_id):
    switch_user(page, log_in, "sekretaris")
    open_plan_from_home(page)
    assert plan_id_of(page) == plan_id
    expect(status_badge(page)).to_have_text("Disetujui")
    expect(edit_links(page)).to_have_count(0)
    # The Sekretaris may edit drafts, but not the approved plan: 409 with the reason.
    response = post_row_edit(page, plan_id, row_id, "Diubah lewat POST langsung")
    assert response.status == 409, response.status
    assert "buat revisi" in response.text().lower()

    click_and_load(page, panel(page).get_by_role("button", name="Buat revisi"))
    title = "Rencana Kegiatan 2025 Revisi 1"
    expect(page.get_by_role("heading", level=1, name=title, exact=True)).to_be_visible()
    revision_id = plan_id_of(page)
    assert revision_id != plan_id
    expect(flash(page)).to_contain_text(f"{title} dibuat sebagai draf.")
    expect(status_badge(page)).to_have_text("Draf")
    expect(panel(page)).to_contain_text("Revisi dari Rencana Kegiatan 2025")
    edit_kegiatan(page, REVISED_ROW, REVISED_ROW_NEW)
    shot(page, tmp_path, "09-panel-revisi-draf", panel(page))
    assert_fits_phone(page, "revision page")

    click_and_load(page, panel(page).get_by_role("link", name="Lihat perubahan"))
    expect(page.get_by_role("heading", level=1, name=f"Perubahan pada {title}")).to_be_visible()
    expect(page.get_by_text("0 kegiatan ditambahkan, 0 dihapus, 1 diubah.")).to_be_visible()
    changed = page.locator("section.diff.changed")
    expect(changed).to_have_count(1)
    expect(changed.locator(".badge")).to_have_text("Diubah")
    expect(changed.locator("h2")).to_contain_text(REVISED_ROW_NEW)
    kegiatan = changed.locator("tbody tr").filter(has=page.locator("th", has_text=re.compile(r"^Kegiatan$")))
    before, after = kegiatan.locator("td.before"), kegiatan.locator("td.after")
    expect(before.locator("del")).to_have_text(REVISED_ROW)
    expect(after.locator("ins")).to_have_text(REVISED_ROW_NEW)
    # Side by side: the same line, old text left of the new.
    b, a = before.bounding_box(), after.bounding_box()
    assert abs(b["y"] - a["y"]) < 2 and b["x"] + b["width"] <= a["x"] + 1, (b, a)
    shot(page, tmp_path, "10-perbandingan")
    assert_fits_phone(page, "comparison page")


def verify_intact(page, tmp_path, code):
    log_out(page)
    click_and_load(page, page.locator("footer").get_by_role("link", name="Verifikasi dokumen"))
    expect(page.get_by_role("heading", level=1, name="Verifikasi dokumen")).to_be_visible()
    typed = " ".join(code.lower().split("-"))
    page.get_by_label("Kode verifikasi").fill(typed)
    click_and_load(page, page.get_by_role("button", name="Periksa"))
    assert urlsplit(page.url).path == f"/verifikasi/{code}", page.url
    verdict = page.locator("section.verdict")
    expect(verdict).to_have_class(re.compile(r"\bok\b"))
    expect(verdict.locator("h2")).to_contain_text("Utuh")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text(KETUA_NAME)
    expect(facts).to_contain_text(LURAH_NAME)
    expect(facts.locator("dd.code")).to_have_text(code)
    # A stranger never sees the rows of an intact plan.
    expect(page.get_by_text(TAMPERED_ROW)).to_have_count(0)
    shot(page, tmp_path, "11-verifikasi-utuh")
    assert_fits_phone(page, "verification page, intact")


def tamper_behind_the_portals_back(database_url, plan_id):
    """Someone with direct database access removes the lock and edits a signed row."""
    engine = engine_for(database_url)
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(sa.text("ALTER TABLE plan_row DISABLE TRIGGER USER"))
            else:
                conn.execute(sa.text("DROP TRIGGER plan_row_locked_update"))
            changed = conn.execute(
                sa.text("UPDATE plan_row SET kegiatan = :text WHERE plan_id = :plan AND kegiatan = :row"),
                {"text": TAMPERED_TEXT, "plan": plan_id, "row": TAMPERED_ROW}).rowcount
    finally:
        engine.dispose()
    assert changed == 1, changed


def verify_tampered(page, tmp_path):
    page.reload()
    verdict = page.locator("section.verdict")
    expect(verdict).to_have_class(re.compile(r"\bbad\b"))
    expect(verdict.locator("h2")).to_contain_text("TIDAK COCOK")
    differences = verdict.locator("ul li")
    expect(differences).to_have_count(1)
    expect(differences.first).to_contain_text(TAMPERED_ROW)
    expect(differences.first).to_contain_text("Kegiatan berubah")
    expect(page.locator("dl.facts")).to_contain_text(LURAH_NAME)
    shot(page, tmp_path, "12-verifikasi-tidak-cocok")
    assert_fits_phone(page, "verification page, tampered")


# -- the test ------------------------------------------------------------------------------------

def test_plan_goes_from_draft_to_approved_revision_and_verification(page, log_in, approval_server,
                                                                   tmp_path, page_errors):
    plan_id = sekretaris_submits(page, log_in, tmp_path)
    lurah_cannot_approve_yet(page, log_in, tmp_path, plan_id)
    lurah_returns(page, tmp_path)
    row_id = sekretaris_fixes_and_resubmits(page, log_in, tmp_path, plan_id)
    ketua_signs(page, log_in, tmp_path, plan_id)
    code = lurah_approves(page, log_in, tmp_path, plan_id, row_id)
    sekretaris_revises(page, log_in, tmp_path, plan_id, row_id)
    verify_intact(page, tmp_path, code)
    tamper_behind_the_portals_back(approval_server.database_url, plan_id)
    verify_tampered(page, tmp_path)
    errors = [e for e in page_errors if "Failed to load resource" not in e]
    assert errors == [], errors

"""Struktur Pokja in a real browser on a 360 px wide phone screen: reading the roster, editing it
in place with htmx (CSRF on), validation messages, and no request leaving the server's host."""
import json
import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from tests.browser.helpers import assert_no_reload, set_reload_marker, unique

pytestmark = pytest.mark.browser

PHONE_WIDTH = 360

SEKSI_TITLES = [
    "Seksi Penyediaan Data Keluarga dan Dokumen Kependudukan",
    "Seksi Perubahan Perilaku Keluarga",
    "Seksi Peningkatan Cakupan Layanan dan Rujukan pada Keluarga",
    "Seksi Penataan Lingkungan Keluarga dan Masyarakat",
]

# (group heading, role label as written in the page, demo name) from seeds/demo.py.
DEMO_ROSTER = [
    ("Pengarah", "Pengarah (Lurah/Kepala Desa)", "Hendra Saputra"),
    ("Pelaksana", "Ketua", "Sri Wahyuni"),
    ("Pelaksana", "Wakil Ketua", "Ahmad Fauzi"),
    ("Pelaksana", "Sekretaris", "Dewi Lestari"),
    ("Pelaksana", "Bendahara", "Lilis Suryani"),
    (SEKSI_TITLES[0], "Ketua", "Rina Marlina"),
    (SEKSI_TITLES[0], "Anggota", "Eka Putri"),
    (SEKSI_TITLES[1], "Ketua", "Agus Setiawan"),
    (SEKSI_TITLES[1], "Anggota", "Wati Rohayati"),
    (SEKSI_TITLES[2], "Ketua", "Nur Aisyah"),
    (SEKSI_TITLES[2], "Anggota", "Fitri Handayani"),
    (SEKSI_TITLES[3], "Ketua", "Bambang Riyadi"),
    (SEKSI_TITLES[3], "Anggota", "Joko Prasetyo"),
    ("Anggota", "Anggota", "Yuliana Sari"),
]

# The roster as the DOM has it (textContent, so CSS text-transform does not matter).
ROSTER_JS = """() => [...document.querySelectorAll('#roster section.group')].flatMap(section => {
  const title = section.querySelector('h2').textContent.trim();
  return [...section.querySelectorAll('li.person')].map(li => [
    title,
    li.querySelector('.role')?.textContent.trim() ?? '',
    li.querySelector('.name')?.textContent.trim() ?? '',
  ]);
})"""








def roster_post(page):
    """Context manager catching the next htmx POST to the roster and its response."""
    return page.expect_response(
        lambda r: r.request.method == "POST" and "/pokja/jabatan" in r.url
    )


def person(group, name):
    return group.locator("li.person").filter(has=group.page.locator("p.name", has_text=name))


def no_horizontal_scroll(page):
    return page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")


def test_sekretaris_sees_whole_structure_on_a_phone(sekretaris_on_struktur, results_dir):
    page = sekretaris_on_struktur

    for title in ["Pengarah", "Pelaksana", *SEKSI_TITLES, "Anggota"]:
        expect(page.get_by_role("heading", level=2, name=title, exact=True)).to_be_visible()

    roster = [tuple(row) for row in page.evaluate(ROSTER_JS)]
    for expected in DEMO_ROSTER:
        assert expected in roster, f"{expected} not on the page; roster is {roster}"
    for group, role, name in DEMO_ROSTER:
        expect(page.locator("#roster").get_by_text(name, exact=True)).to_be_visible()
    for role in ("Ketua", "Sekretaris", "Bendahara"):
        assert ("Pelaksana", role) in {(g, r) for g, r, _ in roster}
    # The demo roster is complete: no slot is shown as empty.
    expect(page.locator("#roster li.person.vacant")).to_have_count(0)
    # Sekretaris manages the roster: "+ Tambah" wherever someone can still be added (the seksi
    # take more members, so does Anggota); Pengarah and Pelaksana are full in the demo.
    for key in ("seksi-data", "seksi-perilaku", "seksi-layanan", "seksi-lingkungan", "anggota"):
        expect(page.locator(f"#grup-{key}").get_by_role("link", name="+ Tambah")).to_be_visible()
    for key in ("pengarah", "pelaksana"):
        expect(page.locator(f"#grup-{key}").get_by_role("link", name="+ Tambah")).to_have_count(0)

    scroll_width, client_width = no_horizontal_scroll(page)
    page.screenshot(path=str(results_dir / "struktur-360.png"), full_page=True)
    assert client_width == PHONE_WIDTH
    assert scroll_width <= PHONE_WIDTH, f"horizontal scroll at {PHONE_WIDTH} px: scrollWidth={scroll_width}"


def test_add_change_and_end_a_member_in_place(sekretaris_on_struktur):
    page = sekretaris_on_struktur
    navigations = []
    page.on("framenavigated", lambda frame: frame == page.main_frame and navigations.append(frame.url))
    marker = set_reload_marker(page)
    csrf_token = json.loads(page.locator("body").get_attribute("hx-headers"))["X-CSRFToken"]
    anggota = page.locator("#grup-anggota")
    name = unique("Siti Uji")
    new_name = unique("Siti Ubah")

    # Add
    anggota.get_by_role("link", name="+ Tambah").click()
    expect(anggota.get_by_role("heading", name="Tambah di Anggota")).to_be_visible()
    anggota.get_by_label("Nama", exact=True).fill(name)
    anggota.get_by_label("Mulai menjabat").fill("2025-03-01")
    with roster_post(page) as response_info:
        anggota.get_by_role("button", name="Tambahkan").click()
    response = response_info.value
    assert response.status == 200
    headers = response.request.headers
    assert headers.get("hx-request") == "true"
    assert headers.get("x-csrftoken") == csrf_token
    expect(page.locator("#roster .flash.success")).to_have_text(f"{name} ditambahkan sebagai Anggota.")
    expect(person(anggota, name)).to_have_count(1)
    expect(person(anggota, name).locator(".meta")).to_contain_text("sejak 1 Maret 2025")
    expect(anggota.locator("form")).to_have_count(0)
    assert_no_reload(page, marker)

    # Change
    person(anggota, name).get_by_role("link", name="Ubah").click()
    editing = anggota.locator("li.person.editing")
    expect(editing.get_by_label("Nama", exact=True)).to_have_value(name)
    editing.get_by_label("Nama", exact=True).fill(new_name)
    with roster_post(page) as response_info:
        editing.get_by_role("button", name="Simpan").click()
    assert response_info.value.status == 200
    expect(page.locator("#roster .flash.success")).to_have_text(f"Data {new_name} disimpan.")
    expect(person(anggota, new_name)).to_have_count(1)
    expect(person(anggota, name)).to_have_count(0)
    assert_no_reload(page, marker)

    # End (a past last day, so the position is over and belongs in the history)
    person(anggota, new_name).get_by_role("link", name="Akhiri").click()
    editing = anggota.locator("li.person.editing")
    expect(editing).to_contain_text(f"Akhiri jabatan {new_name}?")
    editing.get_by_label("Berhenti per tanggal").fill("2025-06-30")
    with roster_post(page) as response_info:
        editing.get_by_role("button", name="Akhiri jabatan").click()
    assert response_info.value.status == 200
    expect(page.locator("#roster .flash.success")).to_contain_text(f"Jabatan {new_name} diakhiri")
    expect(person(anggota, new_name)).to_have_count(0)
    history = page.locator("#roster details.history")
    history.locator("summary").click()
    expect(history.locator("summary")).to_contain_text("Riwayat jabatan")
    entry = history.locator("li").filter(has_text=new_name)
    expect(entry).to_be_visible()
    expect(entry).to_have_text(f"Anggota: {new_name}, 1 Maret 2025 – 30 Juni 2025")

    assert_no_reload(page, marker)
    assert navigations == [], f"full page navigations happened: {navigations}"
    scroll_width, _ = no_horizontal_scroll(page)
    assert scroll_width <= PHONE_WIDTH


def test_empty_name_shows_error_beside_field_and_keeps_input(sekretaris_on_struktur):
    page = sekretaris_on_struktur
    marker = set_reload_marker(page)
    seksi = page.locator("#grup-seksi-data")
    note = unique("SK Kepala Desa No.")

    seksi.get_by_role("link", name="+ Tambah").click()
    form = seksi.locator("form.inline-form")
    expect(form).to_be_visible()
    form.get_by_label("Jabatan").select_option(label="Anggota Seksi")
    form.get_by_label("Mulai menjabat").fill("2025-02-03")
    form.get_by_label("Catatan (mis. nomor SK)").fill(note)
    with roster_post(page) as response_info:
        form.get_by_role("button", name="Tambahkan").click()
    assert response_info.value.status == 422

    form = seksi.locator("form.inline-form")
    name_input = form.get_by_label("Nama", exact=True)
    name_field = form.locator(".field").filter(has=page.locator("#person_name"))
    expect(name_field).to_have_class(re.compile(r"\binvalid\b"))
    expect(name_field.locator("p.error")).to_have_text("Wajib diisi.")
    expect(name_input).to_have_attribute("aria-invalid", "true")
    expect(name_input).to_have_attribute("aria-describedby", "person_name-err")
    expect(form.locator("p.error")).to_have_count(1)
    # What was typed is still there.
    expect(form.get_by_label("Catatan (mis. nomor SK)")).to_have_value(note)
    expect(form.get_by_label("Mulai menjabat")).to_have_value("2025-02-03")
    expect(form.get_by_label("Jabatan")).to_have_value("anggota_seksi")
    # Nothing was saved and no success message claims otherwise.
    expect(page.locator("#roster .flash.success")).to_have_count(0)
    expect(page.locator("#messages")).to_be_empty()
    assert_no_reload(page, marker)
    scroll_width, _ = no_horizontal_scroll(page)
    assert scroll_width <= PHONE_WIDTH

    # Batal closes the form in place.
    form.get_by_role("link", name="Batal").click()
    expect(seksi.locator("form")).to_have_count(0)
    expect(seksi.get_by_role("link", name="+ Tambah")).to_be_visible()
    assert_no_reload(page, marker)


CSRF_PROBE_JS = """async ({url, token}) => {
  const body = new URLSearchParams({group: 'anggota', role: 'anggota', person_name: '', started_on: '2025-01-02'});
  const headers = {'HX-Request': 'true'};
  if (token) headers['X-CSRFToken'] = token;
  const r = await fetch(url, {method: 'POST', body, headers, redirect: 'manual'});
  return r.status;
}"""


def test_csrf_is_enforced_and_nothing_leaves_the_host(sekretaris_on_struktur, requested_urls, page_errors):
    page = sekretaris_on_struktur
    kampung_path = urlsplit(page.url).path.split("/pokja")[0]
    add_url = f"{kampung_path}/pokja/jabatan"
    token = json.loads(page.locator("body").get_attribute("hx-headers"))["X-CSRFToken"]

    # Without a token the server refuses; with only the header htmx sends, it gets past CSRF
    # to form validation (empty Nama → 422). So the header alone is what makes htmx posts work.
    assert page.evaluate(CSRF_PROBE_JS, {"url": add_url, "token": None}) == 400
    assert page.evaluate(CSRF_PROBE_JS, {"url": add_url, "token": "bukan-token"}) == 400
    assert page.evaluate(CSRF_PROBE_JS, {"url": add_url, "token": token}) == 422

    # An htmx GET round trip on this page, for good measure.
    anggota = page.locator("#grup-anggota")
    anggota.get_by_role("link", name="+ Tambah").click()
    anggota.get_by_role("link", name="Batal").click()
    expect(anggota.get_by_role("link", name="+ Tambah")).to_be_visible()

    assert any(urlsplit(u).path.endswith("/htmx.min.js") for u in requested_urls), "htmx not loaded from /static"
    foreign = set()
    for url in requested_urls:
        parts = urlsplit(url)
        if parts.scheme not in ("data", "blob", "about") and parts.hostname != "127.0.0.1":
            foreign.add(parts.hostname or url)
    assert not foreign, f"requests left the server's host: {sorted(foreign)}"
    # No script errors and no Content-Security-Policy violations on these pages (the 400/422
    # answers provoked above are logged by Chromium as failed loads; those are expected).
    errors = [e for e in page_errors if "Failed to load resource" not in e]
    assert errors == [], errors

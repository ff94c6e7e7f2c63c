"""Kampung KB list, profile, creation by operators, and field-level edit rights."""
import pytest

from portal.models import KampungKB


@pytest.mark.parametrize("role,status", [
    ("admin", 200), ("operator", 200), ("operator_other", 404), ("lurah", 200), ("anggota", 200),
    ("outsider", 404), ("no_position", 404),
])
def test_profile_visibility(pokja, client, login, role, status):
    login(pokja[role].username)
    assert client.get(f"/kampung/{pokja['kampung'].id}").status_code == status


def test_profile_shows_wilayah_codes_and_time_zone(pokja, client, login):
    login("anggota")
    body = client.get(f"/kampung/{pokja['kampung'].id}").get_data(as_text=True)
    assert "62.13.01.2001" in body and "Kecamatan Dusun Timur" in body and "Kabupaten Barito Timur" in body
    assert "WIB (Asia/Jakarta)" in body


def test_other_kampung_timezone_follows_province(pokja):
    assert pokja["other_kampung"].timezone == "Asia/Jayapura"


def test_list_shows_only_visible_kampung(pokja, client, login):
    login("op.kab")
    body = client.get("/kampung/").get_data(as_text=True)
    assert "Kampung KB Harara" in body and "Kampung KB Sereh" not in body
    login("admin")
    body = client.get("/kampung/").get_data(as_text=True)
    assert "Kampung KB Harara" in body and "Kampung KB Sereh" in body


def test_operator_creates_kampung_in_scope(pokja, wilayah, client, login, db):
    login("op.kec")
    page = client.get("/kampung/baru").get_data(as_text=True)
    assert "Sumur" in page and "Hayaping" not in page  # Awang is outside this kecamatan
    assert ">Harara<" not in page  # already has a Kampung KB
    r = client.post("/kampung/baru", data={"name": "Kampung KB Sumur", "desa_id": wilayah["desa_b"].id,
                                            "sk_number": "141/12/2025", "sk_date": "2025-02-03"})
    assert r.status_code == 302
    kampung = db.session.scalar(db.select(KampungKB).filter_by(name="Kampung KB Sumur"))
    assert kampung.desa == wilayah["desa_b"] and kampung.sk_number == "141/12/2025"


def test_operator_cannot_create_outside_scope(pokja, wilayah, client, login, db):
    login("op.kec")
    r = client.post("/kampung/baru", data={"name": "Nyasar", "desa_id": wilayah["desa_c"].id})
    assert r.status_code == 422
    assert db.session.scalar(db.select(KampungKB).filter_by(name="Nyasar")) is None


@pytest.mark.parametrize("role", ["ketua", "sekretaris", "lurah", "anggota"])
def test_members_cannot_create_kampung(pokja, client, login, role):
    login(pokja[role].username)
    assert client.get("/kampung/baru").status_code == 403


def test_ketua_edits_profile_but_cannot_move_desa(pokja, wilayah, client, login, db):
    """Field-level: a desa_id smuggled into the form is ignored for non-operators."""
    login("ketua")
    kampung = pokja["kampung"]
    page = client.get(f"/kampung/{kampung.id}/ubah").get_data(as_text=True)
    assert 'name="desa_id"' not in page
    r = client.post(f"/kampung/{kampung.id}/ubah", data={
        "name": "Kampung KB Harara Sejahtera", "desa_id": wilayah["desa_b"].id, "address": "Jl. Melati 1"})
    assert r.status_code == 302
    assert kampung.name == "Kampung KB Harara Sejahtera" and kampung.address == "Jl. Melati 1"
    assert kampung.desa == wilayah["desa"]


def test_operator_moves_kampung_within_scope(pokja, wilayah, client, login):
    login("op.kab")
    kampung = pokja["kampung"]
    r = client.post(f"/kampung/{kampung.id}/ubah", data={"name": kampung.name, "desa_id": wilayah["desa_c"].id})
    assert r.status_code == 302
    assert kampung.desa == wilayah["desa_c"]


@pytest.mark.parametrize("role,status", [("lurah", 403), ("seksi_head", 403), ("anggota", 403), ("outsider", 404)])
def test_profile_edit_refused(pokja, client, login, role, status):
    login(pokja[role].username)
    url = f"/kampung/{pokja['kampung'].id}/ubah"
    assert client.get(url).status_code == status
    assert client.post(url, data={"name": "Dibajak"}).status_code == status
    assert pokja["kampung"].name != "Dibajak"


def test_invalid_date_keeps_input(pokja, client, login):
    login("sekretaris")
    r = client.post(f"/kampung/{pokja['kampung'].id}/ubah", data={
        "name": "Kampung KB Harara", "sk_number": "SK-9", "sk_date": "31-31-2025"})
    body = r.get_data(as_text=True)
    assert r.status_code == 422 and "Tanggal tidak valid." in body and 'value="SK-9"' in body


def test_home_lists_positions_and_vacancies(pokja, client, login):
    login("sekretaris")
    body = client.get("/").get_data(as_text=True)
    assert "Kampung KB Harara" in body and "Jabatan Anda: <strong>Sekretaris</strong>" in body
    assert "Menunggu Anda" in body and "Bendahara" in body
    login("anggota")
    assert "Menunggu Anda" not in client.get("/").get_data(as_text=True)
    login("tanpa.jabatan")
    assert "belum tercatat dalam Struktur Pokja" in client.get("/").get_data(as_text=True)

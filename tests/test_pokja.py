"""Struktur Pokja: who may see and edit it, the htmx fragments, and the roster rules."""
from datetime import date

import pytest

from portal.models import PokjaPosition
from tests.conftest import is_fragment

ROLES = ["admin", "operator", "operator_kecamatan", "operator_other", "lurah", "ketua",
         "sekretaris", "seksi_head", "anggota", "outsider", "anonymous"]

# role → expected status for (view, add, update, end). 404: the Kampung KB does not exist for
# them; 403: they can see it but not change it.
EXPECTED = {
    "admin":              (200, 200, 200, 200),
    "operator":           (200, 200, 200, 200),
    "operator_kecamatan": (200, 200, 200, 200),
    "operator_other":     (404, 404, 404, 404),
    "lurah":              (200, 403, 403, 403),
    "ketua":              (200, 200, 200, 200),
    "sekretaris":         (200, 200, 200, 200),
    "seksi_head":         (200, 403, 403, 403),
    "anggota":            (200, 403, 403, 403),
    "outsider":           (404, 404, 404, 404),
    # htmx requests without a session get 401 + HX-Redirect to the login page.
    "anonymous":          (302, 401, 401, 401),
}


def _as(role, pokja, login):
    if role != "anonymous":
        response = login(pokja[role].username)
        assert response.status_code == 302, f"login failed for {role}"


@pytest.mark.parametrize("role", ROLES)
def test_struktur_permission_table(role, pokja, client, login, db):
    _as(role, pokja, login)
    kampung = pokja["kampung"]
    target = PokjaPosition(kampung=kampung, role="anggota", person_name="Target", started_on=date(2025, 1, 2))
    db.session.add(target)
    db.session.commit()
    base = f"/kampung/{kampung.id}/pokja"
    hx = {"HX-Request": "true"}
    view, add, update, end = EXPECTED[role]

    assert client.get(f"{base}/").status_code == view
    r = client.post(f"{base}/jabatan", headers=hx, data={
        "group": "anggota", "role": "anggota", "person_name": "Baru", "started_on": "2025-03-01"})
    assert r.status_code == add
    if add == 401:
        assert r.headers["HX-Redirect"].startswith("/masuk?next=")
    r = client.post(f"{base}/jabatan/{target.id}", headers=hx, data={
        "person_name": "Target Diubah", "started_on": "2025-01-02", "version": "1"})
    assert r.status_code == update
    r = client.post(f"{base}/jabatan/{target.id}/akhiri", headers=hx, data={"ended_on": "2025-06-30"})
    assert r.status_code == end

    db.session.expire_all()
    names = {p.person_name for p in kampung.positions}
    changed = add == 200
    assert ("Baru" in names) is changed
    assert ("Target Diubah" in names) is changed
    assert (db.session.get(PokjaPosition, target.id).ended_on is not None) is changed


def test_outsider_cannot_reach_position_through_own_kampung(pokja, client, login):
    """Object-level: a position id from another Kampung KB under one's own URL is 404."""
    login("ketua.lain")
    other = pokja["other_kampung"]
    foreign = pokja["kampung"].positions[0]
    r = client.post(f"/kampung/{other.id}/pokja/jabatan/{foreign.id}/akhiri", data={"ended_on": "2025-06-30"})
    assert r.status_code == 404


def test_struktur_shows_all_groups_and_vacancies(pokja, client, login):
    login("anggota")
    body = client.get(f"/kampung/{pokja['kampung'].id}/pokja/").get_data(as_text=True)
    for heading in ("Pengarah", "Pelaksana", "Seksi Penyediaan Data Keluarga dan Dokumen Kependudukan",
                    "Seksi Perubahan Perilaku Keluarga",
                    "Seksi Peningkatan Cakupan Layanan dan Rujukan pada Keluarga",
                    "Seksi Penataan Lingkungan Keluarga dan Masyarakat", "Anggota"):
        assert heading in body
    assert "Bendahara" in body and "belum terisi" in body
    assert "+ Tambah" not in body  # anggota cannot edit, so no edit controls


def test_htmx_requests_get_the_roster_fragment(pokja, client, login):
    login("sekretaris")
    url = f"/kampung/{pokja['kampung'].id}/pokja/?tambah=seksi-layanan"
    full = client.get(url)
    fragment = client.get(url, headers={"HX-Request": "true"})
    assert "<html" in full.get_data(as_text=True)
    assert is_fragment(fragment)
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="roster"')
    assert "Tambah di Seksi Peningkatan Cakupan Layanan" in body
    assert 'value="layanan"' in body  # the seksi comes from the group


def test_add_ketua_seksi_through_form(pokja, client, login, db):
    login("sekretaris")
    kampung = pokja["kampung"]
    r = client.post(f"/kampung/{kampung.id}/pokja/jabatan", headers={"HX-Request": "true"}, data={
        "group": "seksi-lingkungan", "role": "ketua_seksi", "seksi": "lingkungan",
        "person_name": "Bambang", "username": "anggota", "started_on": "2025-02-01"})
    assert r.status_code == 200 and is_fragment(r)
    assert "Bambang ditambahkan sebagai Ketua Seksi Penataan Lingkungan" in r.get_data(as_text=True)
    position = db.session.scalar(db.select(PokjaPosition).filter_by(person_name="Bambang"))
    assert (position.role, position.seksi, position.user.username) == ("ketua_seksi", "lingkungan", "anggota")


def test_role_outside_group_is_refused(pokja, client, login, db):
    """The role list is limited to the group's roles on the server, not only in the page."""
    login("sekretaris")
    r = client.post(f"/kampung/{pokja['kampung'].id}/pokja/jabatan", data={
        "group": "anggota", "role": "ketua", "person_name": "Penyusup", "started_on": "2025-02-01"})
    assert r.status_code == 422
    assert "Pilihan tidak valid." in r.get_data(as_text=True)
    assert db.session.scalar(db.select(PokjaPosition).filter_by(person_name="Penyusup")) is None


def test_validation_error_keeps_input_and_explains(pokja, client, login):
    login("sekretaris")
    r = client.post(f"/kampung/{pokja['kampung'].id}/pokja/jabatan", data={
        "group": "anggota", "role": "anggota", "person_name": "", "note": "SK 12/2025",
        "started_on": "bukan-tanggal"})
    body = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "Wajib diisi." in body and "Tanggal tidak valid." in body
    assert 'value="SK 12/2025"' in body


def test_single_holder_slot_is_refused_while_occupied(pokja, client, login):
    login("sekretaris")
    r = client.post(f"/kampung/{pokja['kampung'].id}/pokja/jabatan", data={
        "group": "pelaksana", "role": "ketua", "person_name": "Ketua Kedua", "started_on": "2025-05-01"})
    assert r.status_code == 422
    assert "Ketua masih dipegang oleh Ketua" in r.get_data(as_text=True)


def test_replacing_a_holder_after_ending_keeps_history(pokja, client, login, db):
    login("sekretaris")
    kampung = pokja["kampung"]
    ketua = next(p for p in kampung.positions if p.role == "ketua")
    assert client.post(f"/kampung/{kampung.id}/pokja/jabatan/{ketua.id}/akhiri",
                       data={"ended_on": "2025-04-30"}).status_code == 302
    r = client.post(f"/kampung/{kampung.id}/pokja/jabatan", data={
        "group": "pelaksana", "role": "ketua", "person_name": "Ketua Baru", "started_on": "2025-05-01"})
    assert r.status_code == 302
    body = client.get(f"/kampung/{kampung.id}/pokja/").get_data(as_text=True)
    assert "Ketua Baru" in body
    assert "Riwayat jabatan (1)" in body
    db.session.expire_all()
    assert db.session.get(PokjaPosition, ketua.id).ended_on == date(2025, 4, 30)


def test_end_before_start_is_refused(pokja, client, login):
    login("sekretaris")
    kampung = pokja["kampung"]
    position = kampung.positions[0]
    r = client.post(f"/kampung/{kampung.id}/pokja/jabatan/{position.id}/akhiri", data={"ended_on": "2024-01-01"})
    assert r.status_code == 422
    assert "tidak boleh sebelum tanggal mulai" in r.get_data(as_text=True)


def test_unknown_account_is_refused(pokja, client, login):
    login("sekretaris")
    r = client.post(f"/kampung/{pokja['kampung'].id}/pokja/jabatan", data={
        "group": "anggota", "role": "anggota", "person_name": "Siti", "username": "tidak.ada",
        "started_on": "2025-02-01"})
    assert r.status_code == 422
    assert "tidak ditemukan atau tidak aktif" in r.get_data(as_text=True)


def test_concurrent_edit_shows_both_versions_and_keeps_input(pokja, client, login, db):
    login("sekretaris")
    kampung = pokja["kampung"]
    position = next(p for p in kampung.positions if p.role == "anggota")
    url = f"/kampung/{kampung.id}/pokja/jabatan/{position.id}"
    # First editor saves with version 1 …
    assert client.post(url, data={"person_name": "Versi Pertama", "started_on": "2025-01-02",
                                  "version": "1"}).status_code == 302
    # … the second editor still has version 1 in their form.
    r = client.post(url, headers={"HX-Request": "true"}, data={
        "person_name": "Versi Kedua", "started_on": "2025-01-02", "version": "1"})
    body = r.get_data(as_text=True)
    assert r.status_code == 409
    assert "baru saja diubah orang lain" in body
    assert "Versi Pertama" in body and 'value="Versi Kedua"' in body
    assert 'name="version" type="hidden" value="2"' in body
    db.session.expire_all()
    assert db.session.get(PokjaPosition, position.id).person_name == "Versi Pertama"
    # Saving again with the version the conflict screen carries overwrites knowingly.
    assert client.post(url, data={"person_name": "Versi Kedua", "started_on": "2025-01-02",
                                  "version": "2"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(PokjaPosition, position.id).person_name == "Versi Kedua"


def test_linked_account_gains_access(pokja, client, login):
    """Permissions follow positions: linking an account to Sekretaris lets it edit the roster."""
    kampung = pokja["kampung"]
    login("tanpa.jabatan")
    assert client.get(f"/kampung/{kampung.id}/pokja/").status_code == 404
    login("sekretaris")
    client.post(f"/kampung/{kampung.id}/pokja/jabatan", data={
        "group": "pelaksana", "role": "bendahara", "person_name": "Bendahara Baru",
        "username": "tanpa.jabatan", "started_on": "2025-02-01"})
    login("tanpa.jabatan")
    assert client.get(f"/kampung/{kampung.id}/pokja/").status_code == 200


def test_ending_today_takes_effect_today(pokja, client, login):
    """"Berhenti per tanggal" is the first day without the position: ending it today moves it
    to the history at once, and the slot is free for a successor starting today."""
    login("sekretaris")
    kampung = pokja["kampung"]
    today = kampung.today().isoformat()
    ketua = next(p for p in kampung.positions if p.role == "ketua")
    r = client.post(f"/kampung/{kampung.id}/pokja/jabatan/{ketua.id}/akhiri", headers={"HX-Request": "true"},
                    data={"ended_on": today})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "Riwayat jabatan (1)" in body
    assert not ketua.is_current
    # the confirmation sits in the changed group, focused for the phone to scroll to
    group = body[body.index('id="grup-pelaksana"'):body.index('id="grup-seksi-data"')]
    assert "diakhiri per" in group and "autofocus" in group
    r = client.post(f"/kampung/{kampung.id}/pokja/jabatan", data={
        "group": "pelaksana", "role": "ketua", "person_name": "Pengganti", "started_on": today})
    assert r.status_code == 302


def test_roster_changes_are_in_the_audit_trail(pokja, client, login, db):
    """Adding, changing and ending a position each leave a chained entry: who, which position,
    from which value to which."""
    import json

    from portal import audit
    from portal.models import AuditEntry

    login("sekretaris")
    kampung = pokja["kampung"]
    base = f"/kampung/{kampung.id}/pokja/jabatan"
    assert client.post(base, data={"group": "seksi-data", "role": "anggota_seksi", "seksi": "data",
                                   "person_name": "Siti Aminah", "started_on": "2025-03-01"}).status_code == 302
    position = db.session.scalar(db.select(PokjaPosition).filter_by(person_name="Siti Aminah"))
    assert client.post(f"{base}/{position.id}", data={"person_name": "Siti Aminah S.", "started_on": "2025-03-01",
                                                      "version": position.version}).status_code == 302
    assert client.post(f"{base}/{position.id}/akhiri", data={"ended_on": "2025-09-01"}).status_code == 302

    entries = db.session.scalars(db.select(AuditEntry).where(AuditEntry.object_id == position.id,
                                                             AuditEntry.object_type == "pokja_position")
                                 .order_by(AuditEntry.seq)).all()
    assert [e.action for e in entries] == ["position.add", "position.update", "position.end"]
    assert all(e.kampung_id == kampung.id and e.user_id == pokja["sekretaris"].id for e in entries)
    assert json.loads(entries[1].changes)["Nama"] == ["Siti Aminah", "Siti Aminah S."]
    assert json.loads(entries[2].changes)["Berhenti per"] == [None, "2025-09-01"]
    assert audit.check_all().intact

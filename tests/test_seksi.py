"""The seksi page: members, activities with progress, realisation, overdue; section heads land there."""
import pytest

from portal.blueprints.progress.services import add_realisation, mark_occurrence
from portal.extensions import db
from tests.test_progress import ROLES, TODAY, d, kb, make_plan  # noqa: F401  (kb is a fixture)


def seksi_url(kb, seksi="data"):
    return f"/kampung/{kb['kampung'].id}/seksi/{seksi}"


def test_section_head_lands_on_their_seksi_page(client, login, kb):
    response = login("seksi.data")
    assert response.headers["Location"] == seksi_url(kb)


@pytest.mark.parametrize("username", ["ketua", "sekretaris", "anggota", "admin", "op.kab"])
def test_others_land_on_beranda(client, login, kb, username):
    assert login(username).headers["Location"] == "/"


def test_next_wins_over_the_seksi_landing(client, kb):
    response = client.post("/masuk?next=/feeds", data={"username": "seksi.data", "password": "rahasia-123"})
    assert response.headers["Location"] == "/feeds"


def test_seksi_page_shows_members_activities_realisation_and_overdue(client, login, kb):
    plan = make_plan(kb)
    rows = {r.kegiatan: r for r in plan.rows}
    once = rows["Pendataan keluarga baru"]  # 12 March, Swadaya Rp 300.000
    add_realisation(once, {"on": d(3, 12), "description": "Pendataan RT 01", "people_reached": 40,
                           "spends": {"swadaya": 120_000}},
                    by=kb["seksi_head"])
    mark_occurrence(rows["Rapat bulanan Pokja"], d(1, 1), "done", by=kb["seksi_head"])
    db.session.commit()
    login("seksi.data")
    body = client.get(seksi_url(kb)).get_data(as_text=True)
    assert "Seksi Penyediaan Data Keluarga dan Dokumen Kependudukan" in body
    assert "Ketua Seksi" in body and kb["seksi_head"].full_name in body
    # Part I rows belong to the data seksi; part IV rows do not.
    for name in ("Pemutakhiran data keluarga", "Rapat bulanan Pokja", "Pendataan keluarga baru", "Sosialisasi data"):
        assert name in body
    assert "Kerja bakti lingkungan" not in body
    assert "Rp 1.500.000" in body  # 1.200.000 + 300.000 planned for this seksi
    assert "Rp 120.000" in body and "(8%)" in body
    assert "Terlambat" in body and "1 Februari" in body  # monthly meeting of February is overdue on 15 June
    assert "Rumah Data" in body


def test_seksi_page_without_head_warns(client, login, kb):
    make_plan(kb)
    login("ketua")
    body = client.get(seksi_url(kb, "perilaku")).get_data(as_text=True)
    assert "Ketua seksi belum terisi." in body
    assert "Tidak ada kegiatan seksi ini" in body


def test_seksi_page_without_approved_plan(client, login, kb):
    login("seksi.data")
    body = client.get(seksi_url(kb)).get_data(as_text=True)
    assert "Belum ada rencana kegiatan" in body


@pytest.mark.parametrize("role", ROLES)
def test_who_may_read_a_seksi_page(client, login, kb, role):
    user = kb[role]
    login(user.username)
    status = client.get(seksi_url(kb)).status_code
    assert status == (404 if role in ("outsider", "operator_other", "no_position") else 200)


def test_unknown_seksi_is_404(client, login, kb):
    login("ketua")
    assert client.get(seksi_url(kb, "keuangan")).status_code == 404


def test_anonymous_goes_to_login(client, kb):
    response = client.get(seksi_url(kb))
    assert response.status_code == 302 and "/masuk" in response.headers["Location"]

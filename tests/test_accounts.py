"""Account management: operators inside their scope, platform admins everywhere."""
import pytest

from portal.models import User
from tests.conftest import PASSWORD


def test_account_pages_need_operator(pokja, client, login):
    for role in ("ketua", "sekretaris", "lurah", "anggota"):
        login(pokja[role].username)
        assert client.get("/akun/").status_code == 403
        assert client.post("/akun/baru", data={}).status_code == 403


def test_operator_lists_only_accounts_in_scope(pokja, client, login):
    login("op.kab")
    body = client.get("/akun/").get_data(as_text=True)
    assert "sekretaris" in body and "op.kec" in body
    assert "ketua.lain" not in body and "op.lain" not in body and ">admin<" not in body


def test_operator_creates_member_account_with_temporary_password(pokja, wilayah, client, login, db):
    login("op.kec")
    r = client.post("/akun/baru", data={
        "username": "Kader.Baru", "full_name": "Kader Baru", "phone": "0812", "area_id": wilayah["desa"].id,
        "active": "y", "password": "sementara-1"})
    assert r.status_code == 302
    user = db.session.scalar(db.select(User).filter_by(username="kader.baru"))
    assert user.must_change_password and user.area == wilayah["desa"] and not user.is_operator
    client.post("/keluar")
    client.post("/masuk", data={"username": "kader.baru", "password": "sementara-1"})
    assert client.get("/").headers["Location"] == "/profil/kata-sandi"


@pytest.mark.parametrize("data,field_error", [
    ({"username": "sekretaris"}, "Nama pengguna ini sudah dipakai."),
    ({"username": "a b"}, "3–40 karakter"),
    ({"password": "pendek"}, "Kata sandi minimal 8 karakter."),
    ({"area": "desa_c"}, "Pilihan tidak valid."),  # not even offered: outside the scope
    ({"area": "kec", "is_operator": None}, "ditempatkan di desa/kelurahan"),
    ({"area": "kec", "is_operator": "y"}, "wilayah yang lebih kecil"),
])
def test_account_creation_rules(pokja, wilayah, client, login, db, data, field_error):
    login("op.kec")
    form = {"username": "baru.sekali", "full_name": "Baru", "area_id": wilayah["desa"].id,
            "active": "y", "password": "sementara-1"}
    if "area" in data:
        form["area_id"] = wilayah[data.pop("area")].id
    form.update({k: v for k, v in data.items() if v is not None})
    r = client.post("/akun/baru", data=form)
    body = r.get_data(as_text=True)
    assert r.status_code == 422
    assert field_error in body
    assert 'value="Baru"' in body  # input kept


def test_kabupaten_operator_creates_kecamatan_operator(pokja, wilayah, client, login, db):
    login("op.kab")
    r = client.post("/akun/baru", data={"username": "op.awang", "full_name": "Operator Awang",
                                         "area_id": wilayah["kec2"].id, "is_operator": "y", "active": "y",
                                         "password": "sementara-1"})
    assert r.status_code == 302
    assert db.session.scalar(db.select(User).filter_by(username="op.awang")).operator_scope == wilayah["kec2"]


@pytest.mark.parametrize("actor,target,status", [
    ("op.kab", "op.kec", 200),       # kecamatan operator inside the kabupaten
    ("op.kec", "op.kab", 404),       # not the other way round
    ("op.kec", "sekretaris", 200),
    ("op.lain", "sekretaris", 404),  # another kabupaten
    ("op.kab", "admin", 404),
    ("op.kab", "op.kab", 404),       # not oneself
    ("admin", "op.lain", 200),
])
def test_object_level_account_access(pokja, client, login, db, actor, target, status):
    login(actor)
    user = db.session.scalar(db.select(User).filter_by(username=target))
    assert client.get(f"/akun/{user.id}/ubah").status_code == status


def test_deactivating_an_account_blocks_login(pokja, client, login, wilayah):
    login("op.kec")
    user = pokja["anggota"]
    r = client.post(f"/akun/{user.id}/ubah", data={"full_name": user.full_name, "area_id": wilayah["desa"].id})
    assert r.status_code == 302 and user.active is False
    assert login("anggota").status_code == 422


def test_reset_password_ends_sessions(app, pokja, client, login):
    member = app.test_client()
    member.post("/masuk", data={"username": "anggota", "password": PASSWORD})
    assert member.get("/").status_code == 200
    login("op.kec")
    r = client.post(f"/akun/{pokja['anggota'].id}/kata-sandi", data={"password": "sementara-2"})
    assert r.status_code == 302
    assert member.get("/").status_code == 302
    assert pokja["anggota"].must_change_password

"""Demo data from the reference documents, and the CLI commands."""
from portal.models import KampungKB, PokjaPosition, User, Wilayah
from seeds.demo import DEMO_LOGINS, DEMO_PASSWORD


def _count(db, model, **filters):
    return db.session.scalar(db.select(db.func.count()).select_from(model).filter_by(**filters))


def test_seed_demo_is_idempotent_and_matches_documents(runner, db):
    first = runner.invoke(args=["seed", "demo"])
    assert first.exit_code == 0, first.output
    counts = (_count(db, Wilayah), _count(db, User), _count(db, PokjaPosition))
    second = runner.invoke(args=["seed", "demo"])
    assert second.exit_code == 0
    assert (_count(db, Wilayah), _count(db, User), _count(db, PokjaPosition)) == counts

    barito_timur = db.session.scalar(db.select(Wilayah).filter_by(code="62.13"))
    assert barito_timur.name == "Barito Timur" and barito_timur.province.name == "Kalimantan Tengah"
    kecamatan = barito_timur.children
    assert len(kecamatan) == 10
    desa = [d for k in kecamatan for d in k.children]
    assert len(desa) == 103
    assert all(d.code and d.code.startswith(d.parent.code + ".") for d in desa)
    assert sum(d.kind == "Kelurahan" for d in desa) == 3  # Tamiang Layang, Taniran, Ampah Kota

    # The documents name no kecamatan/kota for Kel. Pgs Dua or the four desa of 000.
    pgs_dua = db.session.scalar(db.select(Wilayah).filter_by(name="Pgs Dua"))
    assert pgs_dua.code is None and pgs_dua.parent.name == "DKI Jakarta"
    assert "tidak disebutkan dalam dokumen" in pgs_dua.note
    for name in ("Sungai Damar", "Sungai Tabuk", "Sungai Cabang Barat", "Sungai Pasir"):
        w = db.session.scalar(db.select(Wilayah).filter_by(name=name))
        assert w.parent is None and w.code is None and "tidak disebutkan dalam dokumen" in w.note


def test_demo_accounts_log_in_with_their_roles(runner, client, db):
    runner.invoke(args=["seed", "demo"])
    kampung = db.session.scalar(db.select(KampungKB))
    slots = {p.slot for p in kampung.current_positions}
    for slot in [("pengarah", None), ("ketua", None), ("sekretaris", None), ("bendahara", None)] + [
            ("ketua_seksi", s) for s in ("data", "perilaku", "layanan", "lingkungan")]:
        assert slot in slots
    for username, _ in DEMO_LOGINS:
        client.post("/keluar")
        r = client.post("/masuk", data={"username": username, "password": DEMO_PASSWORD})
        assert r.status_code == 302, username
    assert {"operator", "lurah", "ketua", "sekretaris", "seksi.data", "seksi.perilaku", "seksi.layanan",
            "seksi.lingkungan", "anggota"} <= {u for u, _ in DEMO_LOGINS}


def test_seed_refused_in_production(app, runner, db):
    app.config["PORTAL_ENV"] = "production"
    result = runner.invoke(args=["seed", "demo"])
    assert result.exit_code != 0
    assert "PORTAL_ENV=production" in result.output
    assert _count(db, User) == 0


def test_users_create_reads_password_from_stdin(runner, client, db):
    result = runner.invoke(args=["users", "create", "Budi.Santoso", "--name", "Budi Santoso"],
                           input="sandi-rahasia\n")
    assert result.exit_code == 0, result.output
    assert "sandi-rahasia" not in result.output
    user = db.session.scalar(db.select(User).filter_by(username="budi.santoso"))
    assert user.full_name == "Budi Santoso" and user.password_hash.startswith("$argon2id$")
    assert client.post("/masuk", data={"username": "budi.santoso", "password": "sandi-rahasia"}).status_code == 302


def test_users_create_operator_and_errors(runner, db, wilayah):
    ok = runner.invoke(args=["users", "create", "op.dutim", "--name", "Operator", "--operator-area", "62.13.01"],
                       input="sandi-rahasia\n")
    assert ok.exit_code == 0, ok.output
    assert db.session.scalar(db.select(User).filter_by(username="op.dutim")).operator_scope == wilayah["kec"]
    dup = runner.invoke(args=["users", "create", "op.dutim", "--name", "X"], input="sandi-rahasia\n")
    assert dup.exit_code != 0 and "sudah dipakai" in dup.output
    short = runner.invoke(args=["users", "create", "pendek", "--name", "X"], input="abc\n")
    assert short.exit_code != 0 and "minimal 8" in short.output
    bad_area = runner.invoke(args=["users", "create", "op.x", "--name", "X", "--operator-area", "62.13.01.2001"],
                             input="sandi-rahasia\n")
    assert bad_area.exit_code != 0 and "kecamatan atau kabupaten" in bad_area.output


def test_cli_help_is_documented(runner):
    result = runner.invoke(args=["users", "create", "--help"])
    assert "Kata sandi dibaca dari prompt" in result.output

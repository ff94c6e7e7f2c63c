"""Two writers at the same moment: the version check is also in the UPDATE itself
(``WHERE version = <the one read>``), so a save that read a version another request has since
replaced never wins silently. The other request is simulated by a write on the same database
after this session read the object (its copy in the identity map keeps the old version), which
is exactly the window two gunicorn workers share."""
import pytest
import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from portal.blueprints.plans.services import update_row
from portal.blueprints.pokja.services import update_position
from portal.blueprints.progress.services import ProgressConflict, set_status
from portal.blueprints.rumahdata import services as data_services
from portal.extensions import db
from portal.models import ActivityProgress, DataRecord, PlanRow, PokjaPosition
from tests.test_progress import kb, make_plan, rows_of  # noqa: F401 (fixtures)


def meanwhile(obj, sql, **params):
    """The other writer: its change is committed, while our session keeps the version it read
    before (``obj`` may be None when the other writer creates the record)."""
    read = obj.version if obj is not None else None
    db.session.execute(sa.text(sql), params)
    db.session.commit()
    if obj is not None:
        set_committed_value(obj, "version", read)


def test_progress_status_saved_at_the_same_moment_becomes_a_conflict(kb):
    plan = make_plan(kb)
    row = rows_of(plan)["monthly"]
    set_status(row, {"status": "berjalan", "percent": 20, "version": 0}, by=kb["seksi_head"])
    db.session.commit()
    progress = db.session.scalar(sa.select(ActivityProgress).filter_by(lineage=row.lineage))
    assert progress.version == 1  # our copy, read now
    meanwhile(progress, "UPDATE activity_progress SET percent = 78, version = 2 WHERE id = :id", id=progress.id)
    with pytest.raises(ProgressConflict) as conflict:
        set_status(row, {"status": "berjalan", "percent": 47, "version": 1}, by=kb["ketua"])
    assert conflict.value.current["Persen"] == 78 and conflict.value.current["version"] == 2
    stored = db.session.scalar(sa.select(ActivityProgress.percent).filter_by(lineage=row.lineage))
    assert stored == 78  # the first save kept, ours refused: no lost update


def test_first_status_of_an_activity_saved_twice_at_once(kb):
    plan = make_plan(kb)
    row = rows_of(plan)["monthly"]
    assert db.session.scalar(sa.select(ActivityProgress).filter_by(lineage=row.lineage)) is None
    from portal.blueprints.progress import services
    real, inserted = services._progress_for, []

    def read_then_other_writer_inserts(r):
        if inserted:
            return real(r)
        # Our read found nothing; before we write, the other request inserts the first status.
        inserted.append(True)
        meanwhile(None, "INSERT INTO activity_progress (lineage, status, percent, version, updated_at) "
                  "VALUES (:lineage, 'selesai', 100, 1, CURRENT_TIMESTAMP)", lineage=r.lineage)
        progress = ActivityProgress(lineage=r.lineage, status="belum", version=0)
        db.session.add(progress)
        return progress

    services._progress_for = read_then_other_writer_inserts
    try:
        with pytest.raises(ProgressConflict) as conflict:
            set_status(row, {"status": "berjalan", "percent": 10, "version": 0}, by=kb["seksi_head"])
    finally:
        services._progress_for = real
    assert conflict.value.current["Persen"] == 100


@pytest.mark.parametrize("model", ["plan_row", "pokja_position", "data_record"])
def test_other_versioned_records_refuse_a_stale_update(model, kb, wilayah):
    if model == "plan_row":
        plan = make_plan(kb, approve=False)
        obj = rows_of(plan)["monthly"]
        save = lambda: update_row(obj, {"version": obj.version, "kegiatan": "Rapat diubah"}, by=kb["sekretaris"])  # noqa: E731
    elif model == "pokja_position":
        obj = db.session.scalar(sa.select(PokjaPosition).filter_by(role="anggota"))
        save = lambda: update_position(obj, {"version": obj.version, "person_name": "Nama baru",  # noqa: E731
                                             "started_on": obj.started_on}, by=kb["ketua"])
    else:
        obj = data_services.save(wilayah["desa"], "tahunan", 2024, {"balita_measured": 100}, by=kb["admin"])
        db.session.commit()
        save = lambda: data_services.save(wilayah["desa"], "tahunan", 2024, {"balita_measured": 120},  # noqa: E731
                                          by=kb["admin"], version=obj.version)
    table = obj.__table__.name
    meanwhile(obj, f"UPDATE {table} SET version = version + 1 WHERE id = :id", id=obj.id)
    with pytest.raises(StaleDataError):
        save()
        db.session.flush()
    db.session.rollback()
    assert db.session.get(type(obj), obj.id).version == 2  # only the other writer's change


def test_a_save_lost_to_a_simultaneous_one_answers_409_and_keeps_the_form(app, client, login, kb):
    plan = make_plan(kb, approve=False)
    row = rows_of(plan)["monthly"]
    login("sekretaris")
    from portal.blueprints.plans import services
    real = services._apply

    def apply_while_another_saves(r, data):
        meanwhile(r, "UPDATE plan_row SET version = version + 1, kegiatan = 'Disimpan orang lain' WHERE id = :id",
                  id=r.id)
        return real(r, data)

    services._apply = apply_while_another_saves
    try:
        data = {"part": row.part, "kegiatan": "Rapat versi saya", "version": row.version}
        r = client.post(f"/rencana/{plan.id}/baris/{row.id}", data=data, headers={"HX-Request": "true"})
    finally:
        services._apply = real
    assert r.status_code == 409
    assert r.headers["HX-Retarget"] == "#messages"  # the form and its input stay on screen
    assert "baru saja diubah orang lain pada saat yang sama" in r.get_data(as_text=True)
    stored = db.session.get(PlanRow, row.id)
    assert stored.kegiatan == "Disimpan orang lain"


def test_two_editors_of_a_kampung_profile_see_both_versions(client, login, kb):
    kampung = kb["kampung"]
    login("ketua")
    form = client.get(f"/kampung/{kampung.id}/ubah").get_data(as_text=True)
    assert 'name="version" type="hidden" value="1"' in form
    first = {"name": kampung.name, "sk_number": "SK 12/2025", "address": "Balai desa", "version": "1"}
    assert client.post(f"/kampung/{kampung.id}/ubah", data=first).status_code == 302
    second = {"name": "Kampung KB Harara Sejahtera", "sk_number": "SK 99/2025", "address": "", "version": "1"}
    r = client.post(f"/kampung/{kampung.id}/ubah", data=second)
    page = r.get_data(as_text=True)
    assert r.status_code == 409
    assert "sudah diubah orang lain sejak Anda membukanya" in page
    assert "SK 12/2025" in page and "SK 99/2025" in page  # stored and typed, side by side
    assert 'name="version" type="hidden" value="2"' in page  # saving again replaces knowingly
    db.session.refresh(kampung)
    assert (kampung.sk_number, kampung.version) == ("SK 12/2025", 2)
    assert client.post(f"/kampung/{kampung.id}/ubah", data={**second, "version": "2"}).status_code == 302
    db.session.refresh(kampung)
    assert kampung.sk_number == "SK 99/2025"

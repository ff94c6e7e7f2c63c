"""The data version behind a feed's ETag (``portal.models.data_version``): a change to each kind
of record a feed shows moves it, for the Kampung KB's own feeds and for the district's; a change
in an unrelated Kampung KB does not; a rolled-back change does not; it lives in the database, not
in a worker's memory; and a 304 still looks the token up and checks the owner every time.

Fixtures and helpers are those of ``tests/test_feeds.py``: Kampung KB A (Desa Harara, Kecamatan
Dusun Timur, Kabupaten Barito Timur) with an approved plan for this year, and Kampung KB B in
another province.
"""
import time
from datetime import date
from types import SimpleNamespace

import pytest
from flask import current_app
from sqlalchemy import event

from portal.blueprints.feeds import services as feed_services
from portal.blueprints.plans import approval
from portal.blueprints.plans.services import add_row, create_plan, delete_row, update_row
from portal.extensions import db
from portal.models import ActivityProgress, DataVersion, OccurrenceMark, Realisation
from portal.models.data_version import data_versions, wilayah_version
from tests.conftest import PASSWORD
from tests.test_feeds import (  # noqa: F401  (kb is a fixture)
    NOT_FOUND, YEAR, body, fetch, kb, make_plan, make_plan_b, post_status, post_tick, rows_of, subscribe,
)


@pytest.fixture
def plan(kb):
    return make_plan(kb)


@pytest.fixture
def plan_b(kb):
    return make_plan_b(kb)


@pytest.fixture
def feeds(kb, plan, plan_b, wilayah):
    """Tokens of A's whole-plan feed, of A's "Penyediaan data" seksi feed, of the Kabupaten Barito
    Timur district feed, and of B's feed."""
    return {"a": subscribe(kb["ketua"], kampung=kb["kampung"]),
            "a_seksi": subscribe(kb["sekretaris"], scope="seksi", kampung=kb["kampung"], seksi="data"),
            "district": subscribe(kb["operator"], scope="wilayah", wilayah=wilayah["kab"]),
            "b": subscribe(kb["outsider"], kampung=kb["other_kampung"])}


def etags(feeds):
    return {name: fetch(token).headers["ETag"] for name, token in feeds.items()}


def version_of(kampung):
    return data_versions([kampung.id]).get(kampung.id, (0, None))[0]


def draft(kb):
    """Next year's draft for A with one row funded from two sources."""
    plan = create_plan(kb["kampung"], YEAR + 1, by=kb["sekretaris"])
    add_row(plan, {"part": "I", "kegiatan": "Rapat persiapan", "schedule_text": "Sebulan sekali",
                   "funding_text": "Dana Desa Rp 1.000.000, BOKB Rp 500.000"}, by=kb["sekretaris"])
    db.session.commit()
    return plan


# Each kind of change, made by the code the portal runs for it (services, or the progress
# pages), or, for a record no page edits on its own, on the ORM object: (what comes first, the
# change). Both get ``env`` (kb, plan, client, login, wilayah, and ``draft`` once made).
def make_draft(env):
    env.draft = draft(env.kb)


def submit_draft(env):
    approval.perform(env.draft, "ajukan", env.kb["sekretaris"], password=PASSWORD)
    db.session.commit()


def add_a_row(env):
    add_row(env.draft, {"part": "II", "kegiatan": "Kelas BKB", "schedule_text": "Setiap Jumat"},
            by=env.kb["sekretaris"])
    db.session.commit()


def edit_a_row(env):
    row = env.draft.rows[0]
    update_row(row, {"part": "I", "kegiatan": "Rapat persiapan Pokja", "schedule_text": "Sebulan sekali",
                     "funding_text": row.funding_text, "version": row.version}, by=env.kb["sekretaris"])
    db.session.commit()


def delete_a_row(env):
    delete_row(env.draft.rows[0], by=env.kb["sekretaris"])
    db.session.commit()


def change_a_funding_source(env):
    env.draft.rows[0].funding_sources[0].amount += 250_000
    db.session.commit()


def log_in(env):
    env.login("ketua")


def set_status(env, status="berjalan", reason=""):
    progress = db.session.scalar(db.select(ActivityProgress))
    post_status(env.client, env.plan, rows_of(env.plan)["monthly"], status, reason=reason,
                version=str(progress.version) if progress else "0")


def start_and_log_in(env):
    log_in(env)
    set_status(env)


def postpone(env):
    set_status(env, "tertunda", "Hujan")


def tick(env, aksi="done", **extra):
    post_tick(env.client, env.plan, rows_of(env.plan)["monthly"], date(YEAR, 2, 1), aksi=aksi, **extra)


def cancel_and_log_in(env):
    log_in(env)
    tick(env, "cancelled", alasan="Libur")


def undo(env):
    tick(env, "undo")
    assert db.session.scalar(db.select(db.func.count()).select_from(OccurrenceMark)) == 0


def rename_kampung(env):
    env.kb["kampung"].name = "Kampung KB Harara Sejahtera"
    db.session.commit()


def rename_desa(env):
    env.wilayah["desa"].name = "Harara Baru"
    db.session.commit()


def move_province_to_wita(env):
    env.wilayah["prov"].timezone = "Asia/Makassar"
    db.session.commit()


def nothing(env):
    pass


CHANGES = {
    "plan created": (nothing, make_draft),
    "plan submitted": (make_draft, submit_draft),
    "row added": (make_draft, add_a_row),
    "row edited": (make_draft, edit_a_row),
    "row deleted": (make_draft, delete_a_row),
    "funding source changed": (make_draft, change_a_funding_source),
    "progress recorded": (log_in, set_status),
    "progress changed": (start_and_log_in, postpone),
    "occurrence marked": (log_in, tick),
    "mark undone": (cancel_and_log_in, undo),
    "kampung renamed": (nothing, rename_kampung),
    "desa renamed": (nothing, rename_desa),
    "province time zone": (nothing, move_province_to_wita),
}


@pytest.mark.parametrize("change", CHANGES)
def test_each_kind_of_change_moves_the_version_of_its_kampung_only(change, kb, plan, feeds, client, login, wilayah):
    env = SimpleNamespace(kb=kb, plan=plan, client=client, login=login, wilayah=wilayah)
    first, then = CHANGES[change]
    first(env)
    before, version = etags(feeds), version_of(kb["kampung"])
    district = wilayah_version(wilayah["kab"].id)
    untouched = version_of(kb["other_kampung"]), wilayah_version(wilayah["kab_other"].id)

    then(env)

    after = etags(feeds)
    assert version_of(kb["kampung"]) > version
    assert wilayah_version(wilayah["kab"].id)[0] > district[0]
    assert after["a"] != before["a"] and after["a_seksi"] != before["a_seksi"]
    assert after["district"] != before["district"]
    # Kampung KB B, in another province, is not concerned.
    assert after["b"] == before["b"]
    assert (version_of(kb["other_kampung"]), wilayah_version(wilayah["kab_other"].id)) == untouched


def test_a_change_in_another_kampung_leaves_the_feed_alone(kb, plan, plan_b, feeds, client, login, wilayah):
    before, version = etags(feeds), version_of(kb["kampung"])
    login("ketua.lain")
    post_tick(client, plan_b, plan_b.rows[0], date(YEAR, 3, 1))
    kb["other_kampung"].name = "Kampung KB Sereh Maju"
    db.session.commit()
    after = etags(feeds)
    assert after["b"] != before["b"]
    assert {k: v for k, v in after.items() if k != "b"} == {k: v for k, v in before.items() if k != "b"}
    assert version_of(kb["kampung"]) == version
    # Answered 304 as before.
    fetch(feeds["a"], status=304, **{"If-None-Match": before["a"]})
    fetch(feeds["district"], status=304, **{"If-None-Match": before["district"]})


def test_a_kampung_in_a_neighbouring_kecamatan_leaves_the_kecamatan_feed_alone(kb, plan, make_kampung, wilayah):
    kecamatan = subscribe(kb["operator"], scope="wilayah", wilayah=wilayah["kec"])
    before = fetch(kecamatan).headers["ETag"]
    awang = make_kampung(wilayah["desa_c"])  # Kecamatan Awang, same kabupaten
    awang.name = "Kampung KB Hayaping Maju"
    db.session.commit()
    assert fetch(kecamatan).headers["ETag"] == before


def test_moving_a_kampung_to_another_desa_changes_both_districts(kb, plan, wilayah):
    dusun_timur = subscribe(kb["operator"], scope="wilayah", wilayah=wilayah["kec"])
    awang = subscribe(kb["operator"], scope="wilayah", wilayah=wilayah["kec2"])
    before = fetch(dusun_timur), fetch(awang)
    assert before[0].feed.uids and not before[1].feed.uids
    kb["kampung"].desa = wilayah["desa_c"]  # the old desa is not loaded: the flush alone knows it
    db.session.commit()
    after = fetch(dusun_timur), fetch(awang)
    assert all(a.headers["ETag"] != b.headers["ETag"] for a, b in zip(after, before))
    assert not after[0].feed.uids and after[1].feed.uids == before[0].feed.uids


def test_a_mark_written_without_its_row_at_hand_counts_too(kb, plan, feeds):
    """A script (or a service) that writes progress without having loaded the activity's row:
    the listener finds the Kampung KB from the lineage in the database."""
    lineage = rows_of(plan)["weekly"].lineage
    before, version = etags(feeds), version_of(kb["kampung"])
    db.session.expunge_all()
    db.session.add(OccurrenceMark(lineage=lineage, original_date=date(YEAR, 1, 2), state="done"))
    db.session.commit()
    assert version_of(kb["kampung"]) > version
    after = etags(feeds)
    assert after["a"] != before["a"] and after["district"] != before["district"] and after["b"] == before["b"]


def test_a_record_inserted_on_its_own_counts_too(kb, plan):
    """A new object whose parent is not in the flush (a realisation added by id): found by its
    primary key once inserted (a flush gives new objects their identity only at its end)."""
    row = rows_of(plan)["weekly"]
    kampung_id, version = kb["kampung"].id, version_of(kb["kampung"])
    db.session.expunge_all()
    db.session.add(Realisation(lineage=row.lineage, kampung_id=kampung_id, year=YEAR, on=date(YEAR, 1, 9),
                               description="Kelas BKB"))
    db.session.commit()
    assert data_versions([kampung_id])[kampung_id][0] > version


def test_a_rolled_back_change_moves_nothing(kb, plan, feeds):
    before, version = etags(feeds), version_of(kb["kampung"])
    kb["kampung"].name = "Tidak jadi"
    db.session.flush()
    db.session.rollback()
    db.session.commit()  # a later commit of nothing bumps nothing either
    assert version_of(kb["kampung"]) == version and etags(feeds) == before


def test_last_modified_moves_with_the_change(kb, plan, feeds, client, login):
    first = fetch(feeds["a"])
    time.sleep(1.1)  # Last-Modified has whole seconds
    login("ketua")
    post_tick(client, plan, rows_of(plan)["monthly"], date(YEAR, 2, 1))
    second = fetch(feeds["a"], status=200, **{"If-None-Match": first.headers["ETag"]})
    assert second.last_modified > first.last_modified
    fetch(feeds["a"], status=200, **{"If-Modified-Since": first.headers["Last-Modified"]})
    fetch(feeds["a"], status=304, **{"If-Modified-Since": second.headers["Last-Modified"]})


def test_the_version_lives_in_the_database_not_in_the_worker(kb, plan, feeds):
    """Another worker (here: the per-process caches dropped and a fresh session) answers the
    same ETag, and 304 to it, without building anything."""
    etag = fetch(feeds["district"]).headers["ETag"]
    current_app.extensions.pop("feed_cache", None)
    db.session.remove()
    fetch(feeds["district"], status=304, **{"If-None-Match": etag})
    assert "feed_cache" not in current_app.extensions  # the 304 built nothing
    assert db.session.scalar(db.select(db.func.count()).select_from(DataVersion)) > 0


def count_statements():
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)
    return seen, count


@pytest.mark.parametrize("name", ["a", "district"])
def test_a_304_costs_the_same_few_statements_however_much_progress(name, kb, plan, feeds, client, login):
    def statements_of_a_304():
        etag = fetch(feeds[name]).headers["ETag"]
        fetch(feeds[name], status=304, **{"If-None-Match": etag})  # last use recorded by now
        seen, count = count_statements()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            fetch(feeds[name], status=304, **{"If-None-Match": etag})
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return seen

    few = statements_of_a_304()
    login("ketua")
    row = rows_of(plan)["weekly"]
    for week in range(1, 9):
        post_tick(client, plan, row, date(YEAR, 1, 2) + (week - 1) * (date(YEAR, 1, 9) - date(YEAR, 1, 2)))
    post_status(client, plan, rows_of(plan)["monthly"], "berjalan")
    many = statements_of_a_304()
    assert len(many) == len(few), many
    if name == "district":  # the subscription with its owner and area, then the district's version
        assert len(few) <= 3, few
    # Nothing of progress or marks is read to answer it.
    assert not any("occurrence_mark" in s or "activity_progress" in s for s in many)


# -- a 304 is still a fetch: token, owner and permission checked every time -----------------------

def test_revoked_subscription_gets_404_not_304(kb, plan, feeds):
    first = fetch(feeds["a"])
    subscription = feed_services.find_by_token(feeds["a"])
    feed_services.revoke(subscription)
    db.session.commit()
    for headers in ({"If-None-Match": first.headers["ETag"]}, {"If-Modified-Since": first.headers["Last-Modified"]}):
        gone = fetch(feeds["a"], status=404, **headers)
        assert body(gone) == NOT_FOUND + "\n"


def test_deactivated_owner_gets_404_not_304(kb, plan, feeds):
    first = fetch(feeds["a"])
    kb["ketua"].active = False
    db.session.commit()
    fetch(feeds["a"], status=404, **{"If-None-Match": first.headers["ETag"]})


def test_operator_moved_out_of_the_district_gets_404_not_304(kb, plan, feeds, wilayah):
    first = fetch(feeds["district"])
    kb["operator"].area = wilayah["kab_other"]
    db.session.commit()
    fetch(feeds["district"], status=404, **{"If-None-Match": first.headers["ETag"]})


def test_member_who_left_gets_404_not_304(kb, plan, feeds):
    first = fetch(feeds["a"])
    for position in kb["ketua"].active_positions(kb["kampung"]):
        position.ended_on = date.today()
    db.session.commit()
    fetch(feeds["a"], status=404, **{"If-None-Match": first.headers["ETag"]})

"""Approval: who may make which transition (service and HTTP), the whole flow, the three lock
layers, the audit hash chain, public verification, revisions and the Beranda inbox."""
import json
import re
from datetime import date, timedelta
from urllib.parse import urlparse

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError

from portal import audit
from portal.blueprints.plans import approval, content
from portal.blueprints.plans.services import (
    PlanError, add_row, create_plan, delete_row, move_row, update_row,
)
from portal.extensions import db
from portal.models import AuditEntry, FundingSource, Plan, PlanRow, Signature, workflow
from portal.models.locking import ContentLocked
from tests.conftest import PASSWORD

ROLES = ["admin", "operator", "operator_kecamatan", "operator_other", "lurah", "ketua", "sekretaris",
         "seksi_head", "anggota", "outsider", "no_position"]
ALLOWED = {"ajukan": {"sekretaris", "ketua"}, "tandatangani": {"ketua"},
           "kembalikan": {"lurah"}, "setujui": {"lurah"}}
CANNOT_VIEW = {"outsider", "operator_other", "no_position"}
# Who may make each transition, for tests about state rather than role.
ACTOR = {"ajukan": "sekretaris", "tandatangani": "ketua", "kembalikan": "lurah", "setujui": "lurah"}
# The state in which each transition is valid ("ditandatangani": diajukan with the Ketua's signature).
VALID_IN = {"ajukan": "draf", "tandatangani": "diajukan", "kembalikan": "diajukan", "setujui": "ditandatangani"}
STEPS = {
    "draf": [],
    "diajukan": [("ajukan", "sekretaris")],
    "ditandatangani": [("ajukan", "sekretaris"), ("tandatangani", "ketua")],
    "dikembalikan": [("ajukan", "sekretaris"), ("kembalikan", "lurah")],
    "disetujui": [("ajukan", "ketua"), ("setujui", "lurah")],
}
NOTE = "Anggaran bagian II belum dirinci per kegiatan."
LURAH_NAME = "Drs. Bambang Sutrisno"
KETUA_NAME = "Hj. Siti Rahmawati"
ROWS = [
    {"part": "I", "kegiatan": "Pendataan keluarga", "schedule_text": "Januari 2025",
     "funding_text": "Dana Desa Rp 1.000.000"},
    {"part": "II", "kegiatan": "Penyuluhan", "schedule_text": "Maret 2025", "funding_text": "Dana Desa Rp 1.000.000"},
    {"part": "II", "kegiatan": "Kelas BKB", "schedule_text": "Mei 2025", "funding_text": "BOKB Rp 500.000"},
    {"part": "IV", "kegiatan": "Rapat Pokja", "schedule_text": "Juni 2025"},  # no funding source
]
CODE_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")


# -- helpers --------------------------------------------------------------------------------------

@pytest.fixture
def kb(pokja):
    """The pokja fixture, with the Lurah's and Ketua's positions naming someone other than the
    account's full name (a signature carries the position's name)."""
    for role, name in (("lurah", LURAH_NAME), ("ketua", KETUA_NAME)):
        pokja[role].active_positions(pokja["kampung"])[0].person_name = name
    db.session.commit()
    return pokja


def make_plan(kb, year=2025, rows=ROWS):
    plan = create_plan(kb["kampung"], year, by=kb["sekretaris"])
    for data in rows:
        add_row(plan, dict(data), by=kb["sekretaris"])
    db.session.commit()
    return plan


def act(plan, name, user, password=PASSWORD, note=None):
    signature = approval.perform(plan, name, user, password=password,
                                 note=NOTE if name == "kembalikan" and note is None else note)
    db.session.commit()
    return signature


def plan_in(kb, state, year=2025):
    plan = make_plan(kb, year)
    for name, role in STEPS[state]:
        act(plan, name, kb[role])
    return plan


def row_named(plan, name):
    return next(r for r in plan.rows if r.kegiatan == name)


def actions_of(plan):
    return [e.action for e in audit.entries_for_plan(plan)]


def counts():
    return (db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)),
            db.session.scalar(sa.select(sa.func.count()).select_from(Signature)))


def raw(sql, **params):
    return db.session.execute(sa.text(sql), params)


def drop_triggers(*names):
    """Take the lock triggers away, as someone with direct database access could. PostgreSQL
    names one trigger per table, so the table's triggers are disabled (the suite's PostgreSQL
    schema is shared, so the app fixture enables them again afterwards)."""
    for name in names:
        if db.engine.dialect.name == "postgresql":
            raw(f'ALTER TABLE "{re.split("_locked|_append_only|_frozen", name)[0]}" DISABLE TRIGGER USER')
        else:
            raw(f"DROP TRIGGER {name}")
    db.session.commit()


def post_action(client, plan, name, **data):
    return client.post(f"/rencana/{plan.id}/aksi/{name}", data=data)


def location(response):
    return urlparse(response.headers["Location"]).path


def body(response):
    return response.get_data(as_text=True)


def stored_status(plan):
    return db.session.scalar(sa.select(Plan.status).where(Plan.id == plan.id))


# -- 1. who may do what ---------------------------------------------------------------------------

def test_matrix_expectations_match_workflow():
    """The tests' table is the brief's; the workflow must agree with it."""
    assert set(workflow.TRANSITIONS) == set(ALLOWED)
    roles = {"ajukan": ("sekretaris", "ketua"), "tandatangani": ("ketua",),
             "kembalikan": ("pengarah",), "setujui": ("pengarah",)}
    assert {n: set(t.roles) for n, t in workflow.TRANSITIONS.items()} == {n: set(r) for n, r in roles.items()}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", list(ALLOWED))
def test_service_role_matrix(name, role, kb):
    plan = plan_in(kb, VALID_IN[name])
    before_status, before_counts = plan.status, counts()
    user = kb[role]
    if role in ALLOWED[name]:
        signature = act(plan, name, user, note=NOTE)
        assert plan.status == workflow.TRANSITIONS[name].target
        assert actions_of(plan)[-1] == f"plan.{name}"
        signs = name in ("tandatangani", "setujui") or (name == "ajukan" and role == "ketua")
        assert (signature is not None) is signs
        assert counts()[1] == before_counts[1] + (1 if signs else 0)
    else:
        with pytest.raises(approval.TransitionRefused) as refused:
            approval.perform(plan, name, user, password=PASSWORD, note=NOTE)
        assert re.fullmatch(r"Hanya .+ yang dapat melakukan tindakan ini\.", str(refused.value))
        db.session.rollback()
        assert plan.status == before_status == stored_status(plan)
        assert counts() == before_counts


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", list(ALLOWED))
def test_http_role_matrix(name, role, kb, client, login):
    plan = plan_in(kb, VALID_IN[name])
    before_status, before_counts = plan.status, counts()
    expected_refusal = workflow.refusal(plan, kb[role], name)
    login(kb[role].username)
    response = post_action(client, plan, name, password=PASSWORD, note=NOTE)
    if role in ALLOWED[name]:
        assert response.status_code == 302
        assert location(response) == f"/rencana/{plan.id}"
        assert stored_status(plan) == workflow.TRANSITIONS[name].target
        assert actions_of(plan)[-1] == f"plan.{name}"
        return
    if role in CANNOT_VIEW:
        assert response.status_code == 404
    else:
        assert response.status_code == 409
        assert expected_refusal and expected_refusal.startswith("Hanya ")
        assert expected_refusal in body(response)
    assert stored_status(plan) == before_status
    assert counts() == before_counts


@pytest.mark.parametrize("name", list(ALLOWED))
def test_http_anonymous_is_sent_to_login(name, kb, client):
    plan = plan_in(kb, VALID_IN[name])
    before_status, before_counts = plan.status, counts()
    response = post_action(client, plan, name, password=PASSWORD, note=NOTE)
    assert response.status_code == 302
    assert location(response) == "/masuk"
    assert stored_status(plan) == before_status
    assert counts() == before_counts


def test_unknown_action_is_404(kb, client, login):
    plan = plan_in(kb, "draf")
    login("sekretaris")
    assert post_action(client, plan, "hapus-semua").status_code == 404
    assert stored_status(plan) == "draf"


IMPOSSIBLE = [(name, state) for name, t in workflow.TRANSITIONS.items()
              for state in ("draf", "diajukan", "dikembalikan", "disetujui") if state not in t.sources]


def state_refusal(name, state):
    return (f"Rencana berstatus {workflow.STATES[state]}; tindakan \u201c{workflow.TRANSITIONS[name].label}\u201d "
            "tidak dapat dilakukan.")


@pytest.mark.parametrize("name,state", IMPOSSIBLE)
def test_service_refuses_transition_from_wrong_state(name, state, kb):
    plan = plan_in(kb, state)
    before_counts = counts()
    with pytest.raises(approval.TransitionRefused) as refused:
        approval.perform(plan, name, kb[ACTOR[name]], password=PASSWORD, note=NOTE)
    assert str(refused.value) == state_refusal(name, state)
    db.session.rollback()
    assert plan.status == state == stored_status(plan)
    assert counts() == before_counts


@pytest.mark.parametrize("name,state", IMPOSSIBLE)
def test_http_refuses_transition_from_wrong_state(name, state, kb, client, login):
    plan = plan_in(kb, state)
    login(kb[ACTOR[name]].username)
    response = post_action(client, plan, name, password=PASSWORD, note=NOTE)
    assert response.status_code == 409
    assert state_refusal(name, state) in body(response)
    assert stored_status(plan) == state


def test_ajukan_is_allowed_straight_from_dikembalikan(kb):
    plan = plan_in(kb, "dikembalikan")
    act(plan, "ajukan", kb["sekretaris"])
    assert plan.status == "diajukan" and plan.submission == 2 and plan.return_note is None


@pytest.mark.parametrize("via_http", [False, True], ids=["service", "http"])
@pytest.mark.parametrize("case", ["setujui_unsigned", "sign_twice", "empty_plan"])
def test_other_refusals(case, via_http, kb, client, login):
    if case == "empty_plan":
        plan = create_plan(kb["kampung"], 2025, by=kb["sekretaris"])
        db.session.commit()
        name, user, message = "ajukan", kb["ketua"], "Rencana belum berisi kegiatan"
    elif case == "setujui_unsigned":
        plan = plan_in(kb, "diajukan")
        name, user, message = "setujui", kb["lurah"], "Ketua Pokja belum menandatangani pengajuan ini"
    else:
        plan = plan_in(kb, "ditandatangani")
        name, user, message = "tandatangani", kb["ketua"], "Ketua Pokja sudah menandatangani pengajuan ini"
    before_status, before_counts = plan.status, counts()
    if via_http:
        login(user.username)
        response = post_action(client, plan, name, password=PASSWORD)
        assert response.status_code == 409
        assert message in body(response)
    else:
        with pytest.raises(approval.TransitionRefused, match=message):
            approval.perform(plan, name, user, password=PASSWORD)
        db.session.rollback()
    assert stored_status(plan) == before_status
    assert counts() == before_counts


def test_ended_position_may_no_longer_approve(kb):
    plan = plan_in(kb, "ditandatangani")
    position = kb["lurah"].active_positions(kb["kampung"])[0]
    position.ended_on = date.today() - timedelta(days=1)
    db.session.commit()
    with pytest.raises(approval.TransitionRefused, match="^Hanya Lurah/Kepala Desa"):
        approval.perform(plan, "setujui", kb["lurah"], password=PASSWORD)


# -- passwords and notes --------------------------------------------------------------------------

SIGNING = [("ajukan", "ketua", "draf"), ("tandatangani", "ketua", "diajukan"),
           ("setujui", "lurah", "ditandatangani")]


@pytest.mark.parametrize("password", [None, "", "salah-sekali"], ids=["missing", "empty", "wrong"])
@pytest.mark.parametrize("name,role,state", SIGNING)
def test_service_signing_needs_the_password(name, role, state, password, kb):
    plan = plan_in(kb, state)
    before_counts = counts()
    with pytest.raises(PlanError) as error:
        approval.perform(plan, name, kb[role], password=password)
    assert not isinstance(error.value, approval.TransitionRefused)
    assert error.value.field == "password"
    assert str(error.value).startswith("Kata sandi salah")
    db.session.rollback()
    assert stored_status(plan) == state.replace("ditandatangani", "diajukan")
    assert counts() == before_counts


@pytest.mark.parametrize("password", [None, "salah-sekali"], ids=["missing", "wrong"])
@pytest.mark.parametrize("name,role,state", SIGNING)
def test_http_signing_needs_the_password(name, role, state, password, kb, client, login):
    plan = plan_in(kb, state)
    before_status, before_counts = plan.status, counts()
    login(kb[role].username)
    data = {} if password is None else {"password": password}
    response = post_action(client, plan, name, **data)
    assert response.status_code == 422
    assert "Kata sandi salah" in body(response)
    assert stored_status(plan) == before_status
    assert counts() == before_counts


def test_sekretaris_submits_without_password_and_signs_nothing(kb, client, login):
    plan = plan_in(kb, "draf")
    login("sekretaris")
    response = post_action(client, plan, "ajukan")
    assert response.status_code == 302 and location(response) == f"/rencana/{plan.id}"
    assert plan.status == "diajukan" and plan.submission == 1
    assert plan.signatures == []
    entry = audit.entries_for_plan(plan)[-1]
    assert entry.action == "plan.ajukan" and len(json.loads(entry.changes)) == 1  # the status only


def test_ketua_submitting_signs(kb, client, login):
    plan = plan_in(kb, "draf")
    login("ketua")
    response = post_action(client, plan, "ajukan", password=PASSWORD)
    assert response.status_code == 302
    assert plan.status == "diajukan"
    assert list(plan.current_signatures()) == ["ketua"]
    signed = plan.current_signatures()["ketua"].content_hash
    assert signed == content.content_hash(plan)
    entry = audit.entries_for_plan(plan)[-1]
    assert entry.action == "plan.ajukan" and [None, signed] in json.loads(entry.changes).values()


@pytest.mark.parametrize("note", [None, "", "   \n "], ids=["missing", "empty", "blank"])
def test_kembalikan_needs_a_note(note, kb, client, login):
    plan = plan_in(kb, "diajukan")
    before_counts = counts()
    with pytest.raises(PlanError) as error:
        approval.perform(plan, "kembalikan", kb["lurah"], note=note)
    assert error.value.field == "note" and not isinstance(error.value, approval.TransitionRefused)
    db.session.rollback()
    login("lurah")
    response = post_action(client, plan, "kembalikan", **({} if note is None else {"note": note}))
    assert response.status_code == 422
    assert "Tuliskan apa yang perlu diperbaiki." in body(response)
    assert stored_status(plan) == "diajukan"
    assert counts() == before_counts


def test_kembalikan_note_too_long(kb, client, login):
    plan = plan_in(kb, "diajukan")
    login("lurah")
    response = post_action(client, plan, "kembalikan", note="x" * (approval.NOTE_MAX + 1))
    assert response.status_code == 422
    assert "Catatan terlalu panjang" in body(response)
    assert stored_status(plan) == "diajukan"


# -- 2. the whole flow ----------------------------------------------------------------------------

def test_whole_flow(kb):
    plan = plan_in(kb, "draf")
    sekretaris, ketua, lurah = kb["sekretaris"], kb["ketua"], kb["lurah"]

    assert act(plan, "ajukan", sekretaris) is None
    assert (plan.status, plan.submission) == ("diajukan", 1)
    first_ketua = act(plan, "tandatangani", ketua)
    assert first_ketua.submission == 1

    act(plan, "kembalikan", lurah, note=NOTE)
    assert plan.status == "dikembalikan" and plan.return_note == NOTE
    assert audit.entries_for_plan(plan)[-1].note == NOTE

    row = row_named(plan, "Penyuluhan")
    update_row(row, {**ROWS[1], "kegiatan": "Penyuluhan KB pria", "version": row.version}, by=sekretaris)
    db.session.commit()
    assert plan.status == "draf"
    assert actions_of(plan)[-2:] == ["plan.reopen", "row.update"]
    assert plan.return_note == NOTE  # kept while fixing

    act(plan, "ajukan", sekretaris)
    assert (plan.status, plan.submission, plan.return_note) == ("diajukan", 2, None)
    assert plan.current_signatures() == {}  # the Ketua's signature of submission 1 does not count
    with pytest.raises(approval.TransitionRefused, match="Ketua Pokja belum menandatangani"):
        approval.perform(plan, "setujui", lurah, password=PASSWORD)
    db.session.rollback()

    act(plan, "tandatangani", ketua)
    with pytest.raises(PlanError, match="Kata sandi salah"):
        approval.perform(plan, "setujui", lurah, password="bukan-sandinya")
    db.session.rollback()
    assert plan.status == "diajukan" and plan.verification_code is None
    approved = act(plan, "setujui", lurah)

    assert plan.status == "disetujui"
    assert CODE_RE.match(plan.verification_code), plan.verification_code
    assert plan.approved_at is not None and plan.approved_at == approved.signed_at
    current = plan.current_signatures()
    assert set(current) == {"ketua", "lurah"}
    stored_hash = content.content_hash(plan)
    for role, name, title in (("ketua", KETUA_NAME, f"Ketua Pokja {kb['kampung'].name}"),
                              ("lurah", LURAH_NAME, "Kepala Desa Harara")):
        signature = current[role]
        assert signature.submission == 2
        assert signature.content_hash == stored_hash
        assert signature.stored_copy_intact
        assert signature.signed_at is not None
        assert signature.timezone == plan.kampung.timezone == "Asia/Jakarta"
        assert signature.signer_name == name
        assert signature.position_title == title
        assert signature.user == kb[role]
    # The first Ketua signature is kept and signed what the plan was then.
    assert len(plan.signatures) == 3
    assert first_ketua.content_hash != stored_hash and first_ketua.stored_copy_intact
    assert actions_of(plan) == (
        ["plan.create"] + ["row.add"] * len(ROWS)
        + ["plan.ajukan", "plan.tandatangani", "plan.kembalikan", "plan.reopen", "row.update",
           "plan.ajukan", "plan.tandatangani", "plan.setujui"])
    assert audit.check_all().intact


def test_whole_flow_over_http(kb, client, login):
    plan = plan_in(kb, "draf")
    row = row_named(plan, "Penyuluhan")

    def step(username, name, expected_status, **data):
        login(username)
        response = post_action(client, plan, name, **data)
        assert response.status_code == 302, body(response)
        assert stored_status(plan) == expected_status

    step("sekretaris", "ajukan", "diajukan")
    step("lurah", "kembalikan", "dikembalikan", note=NOTE)
    login("sekretaris")
    page = client.get(f"/rencana/{plan.id}")
    assert NOTE in body(page)
    edit = client.post(f"/rencana/{plan.id}/baris/{row.id}", data={
        "part": "II", "kegiatan": "Penyuluhan KB pria", "version": str(row.version), "schedule_text": "Maret 2025",
        "funding_text": "Dana Desa Rp 1.000.000"})
    assert edit.status_code == 302
    assert stored_status(plan) == "draf"
    step("sekretaris", "ajukan", "diajukan")
    login("lurah")
    refused = post_action(client, plan, "setujui", password=PASSWORD)
    assert refused.status_code == 409 and "Ketua Pokja belum menandatangani" in body(refused)
    step("ketua", "tandatangani", "diajukan", password=PASSWORD)
    step("lurah", "setujui", "disetujui", password=PASSWORD)
    page = body(client.get(f"/rencana/{plan.id}"))
    assert plan.verification_code in page and KETUA_NAME in page and LURAH_NAME in page


def test_signature_time_zone_and_title_follow_the_kampung(pokja, make_user, make_position):
    """A Kelurahan in Papua: the Lurah signs in WIT, as "Lurah Sereh"."""
    kampung = pokja["other_kampung"]
    lurah = make_user("lurah.sereh", area=kampung.desa)
    make_position(kampung, "pengarah", user=lurah, person_name="Yohanes Wenda")
    plan = create_plan(kampung, 2025, by=pokja["outsider"])
    add_row(plan, dict(ROWS[1]), by=pokja["outsider"])
    db.session.commit()
    act(plan, "ajukan", pokja["outsider"])
    signature = act(plan, "setujui", lurah)
    assert signature.timezone == kampung.timezone == "Asia/Jayapura"
    assert signature.position_title == "Lurah Sereh"
    assert signature.signer_name == "Yohanes Wenda"


# -- 3. locks -------------------------------------------------------------------------------------

def service_add(plan, by):
    add_row(plan, dict(ROWS[0]), by=by)


def service_update(plan, by):
    row = row_named(plan, "Penyuluhan")
    update_row(row, {**ROWS[1], "kegiatan": "Diubah", "version": row.version}, by=by)


def service_delete(plan, by):
    delete_row(row_named(plan, "Penyuluhan"), by=by)


def service_move(plan, by):
    move_row(row_named(plan, "Penyuluhan"), 1, by=by)


@pytest.mark.parametrize("change", [service_add, service_update, service_delete, service_move],
                         ids=["add", "update", "delete", "move"])
@pytest.mark.parametrize("state", ["diajukan", "disetujui"])
def test_services_refuse_locked_plan(state, change, kb):
    plan = plan_in(kb, state)
    before_hash, before_counts = content.content_hash(plan), counts()
    with pytest.raises(PlanError, match=f"Rencana berstatus {workflow.STATES[state]}; isinya tidak dapat diubah"):
        change(plan, kb["sekretaris"])
    db.session.rollback()
    assert content.content_hash(plan) == before_hash
    assert counts() == before_counts


@pytest.mark.parametrize("change", [service_add, service_update, service_delete, service_move],
                         ids=["add", "update", "delete", "move"])
def test_services_change_draft(change, kb):
    """The same calls work on a draft, so the refusals above come from the lock."""
    plan = plan_in(kb, "draf")
    before_hash = content.content_hash(plan)
    change(plan, kb["sekretaris"])
    db.session.commit()
    assert content.content_hash(plan) != before_hash


def orm_change_row(plan):
    row_named(plan, "Penyuluhan").kegiatan = "Diubah diam-diam"


def orm_add_row(plan):
    db.session.add(PlanRow(plan=plan, part="II", position=9, kegiatan="Sisipan", seksi="perilaku"))


def orm_delete_row(plan):
    db.session.delete(row_named(plan, "Penyuluhan"))


def orm_change_amount(plan):
    row_named(plan, "Penyuluhan").funding_sources[0].amount = 999


def orm_add_source(plan):
    row_named(plan, "Rapat Pokja").funding_sources.append(FundingSource(type="swadaya", amount=5))


def orm_remove_source(plan):
    row_named(plan, "Penyuluhan").funding_sources.pop()


def orm_remove_row(plan):
    plan.rows.remove(row_named(plan, "Rapat Pokja"))  # delete-orphan


ORM_CHANGES = [orm_change_row, orm_add_row, orm_delete_row, orm_change_amount, orm_add_source, orm_remove_source,
               orm_remove_row]


@pytest.mark.parametrize("change", ORM_CHANGES, ids=lambda f: f.__name__)
@pytest.mark.parametrize("state", ["diajukan", "disetujui"])
def test_flush_guard_refuses_locked_plan(state, change, kb):
    plan = plan_in(kb, state)
    before_hash = content.content_hash(plan)
    change(plan)
    with pytest.raises(ContentLocked):
        db.session.flush()
    db.session.rollback()
    assert content.content_hash(plan) == before_hash


@pytest.mark.parametrize("change", ORM_CHANGES, ids=lambda f: f.__name__)
def test_flush_guard_lets_draft_change(change, kb):
    plan = plan_in(kb, "draf")
    before_hash = content.content_hash(plan)
    change(plan)
    db.session.commit()
    db.session.expire_all()
    assert content.content_hash(plan) != before_hash


@pytest.mark.parametrize("loaded", [True, False], ids=["loaded", "expired"])
@pytest.mark.parametrize("column,value", [("year", 2026), ("status", "draf"), ("revision", 5),
                                          ("submission", 9), ("verification_code", None)])
def test_flush_guard_freezes_approved_plan(column, value, loaded, kb):
    """``loaded``: the attribute was read before being set; ``expired``: set right after the
    commit, as code that loads a plan and assigns at once would."""
    plan = plan_in(kb, "disetujui")
    if loaded:
        getattr(plan, column)
    setattr(plan, column, value)
    with pytest.raises(ContentLocked):
        db.session.flush()
    db.session.rollback()
    assert plan.status == "disetujui" and plan.year == 2025


def test_flush_guard_allows_bookkeeping_on_approved_plan(kb):
    plan = plan_in(kb, "disetujui")
    row = row_named(plan, "Penyuluhan")
    row.version += 1
    db.session.commit()
    assert row.version == 2


@pytest.mark.parametrize("target", ["signature", "audit_entry"])
@pytest.mark.parametrize("how", ["update", "delete"])
def test_flush_guard_keeps_signatures_and_audit_append_only(target, how, kb):
    plan = plan_in(kb, "disetujui")
    obj = plan.signatures[0] if target == "signature" else audit.entries_for_plan(plan)[0]
    if how == "delete":
        db.session.delete(obj)
    elif target == "signature":
        obj.signer_name = "Orang lain"
    else:
        obj.note = "palsu"
    with pytest.raises(ContentLocked):
        db.session.flush()
    db.session.rollback()


# Raw SQL past the ORM: the triggers refuse it on a locked plan.
RAW_ROW_SQL = {
    "update_row": "UPDATE plan_row SET kegiatan = 'x' WHERE id = :row",
    "insert_row": "INSERT INTO plan_row (plan_id, lineage, part, position, kegiatan, seksi, interval, version, "
                  "updated_at) VALUES (:plan, 'mentah', 'II', 99, 'Sisipan', 'perilaku', 1, 1, CURRENT_TIMESTAMP)",
    "delete_row": "DELETE FROM plan_row WHERE id = :bare_row",
    "update_amount": "UPDATE funding_source SET amount = 1 WHERE id = :source",
    "insert_source": "INSERT INTO funding_source (row_id, position, type, amount) VALUES (:row, 5, 'swadaya', 10)",
    "delete_source": "DELETE FROM funding_source WHERE id = :source",
}


def raw_params(plan):
    row = row_named(plan, "Penyuluhan")
    return {"plan": plan.id, "row": row.id, "bare_row": row_named(plan, "Rapat Pokja").id,
            "source": row.funding_sources[0].id}


def run_raw(sql, params):
    """Execute with only the parameters the statement names."""
    names = set(re.findall(r":(\w+)", sql))
    return raw(sql, **{k: v for k, v in params.items() if k in names})


@pytest.mark.parametrize("key", list(RAW_ROW_SQL))
@pytest.mark.parametrize("state", ["draf", "diajukan", "disetujui"])
def test_triggers_refuse_raw_content_sql_on_locked_plan(state, key, kb):
    plan = plan_in(kb, state)
    params = raw_params(plan)
    before_hash = content.content_hash(plan)
    if state == "draf":
        assert run_raw(RAW_ROW_SQL[key], params).rowcount == 1
        db.session.commit()
        db.session.expire_all()
        assert content.content_hash(plan) != before_hash
        return
    with pytest.raises(DatabaseError, match="plan_locked"):
        run_raw(RAW_ROW_SQL[key], params)
    db.session.rollback()
    db.session.expire_all()
    assert content.content_hash(plan) == before_hash


@pytest.mark.parametrize("sql,states", [
    ("UPDATE plan SET status = 'draf' WHERE id = :plan", ["disetujui"]),
    ("UPDATE plan SET year = 2030 WHERE id = :plan", ["disetujui"]),
    ("UPDATE plan SET verification_code = NULL WHERE id = :plan", ["disetujui"]),
    ("DELETE FROM plan WHERE id = :plan", ["diajukan", "disetujui"]),
], ids=["status", "year", "code", "delete"])
def test_triggers_refuse_raw_plan_sql(sql, states, kb):
    for year, state in enumerate(states, start=2025):
        plan = plan_in(kb, state, year=year)
        with pytest.raises(DatabaseError, match="plan_locked"):
            raw(sql, plan=plan.id)
        db.session.rollback()
        assert stored_status(plan) == state


def test_raw_plan_update_allowed_on_draft(kb):
    plan = plan_in(kb, "draf")
    assert raw("UPDATE plan SET year = 2030 WHERE id = :plan", plan=plan.id).rowcount == 1
    db.session.commit()


def test_raw_bookkeeping_allowed_on_approved_plan(kb):
    plan = plan_in(kb, "disetujui")
    before_hash = content.content_hash(plan)
    result = raw("UPDATE plan_row SET version = version + 1, updated_at = CURRENT_TIMESTAMP WHERE plan_id = :plan",
                 plan=plan.id)
    assert result.rowcount == len(ROWS)
    raw("UPDATE plan SET updated_at = CURRENT_TIMESTAMP WHERE id = :plan", plan=plan.id)
    db.session.commit()
    db.session.expire_all()
    assert {r.version for r in plan.rows} == {2}
    assert content.content_hash(plan) == before_hash
    assert approval.verify(plan.verification_code).intact


@pytest.mark.parametrize("sql", [
    "UPDATE signature SET signer_name = 'Orang lain'",
    "UPDATE signature SET content_hash = 'x'",
    "DELETE FROM signature",
    "UPDATE audit_entry SET note = 'palsu'",
    "UPDATE audit_entry SET hash = 'x' WHERE seq = 1",
    "DELETE FROM audit_entry WHERE seq = 2",
])
def test_triggers_keep_signatures_and_audit_append_only(sql, kb):
    plan_in(kb, "disetujui")
    before_counts = counts()
    with pytest.raises(DatabaseError, match="append_only"):
        raw(sql)
    db.session.rollback()
    assert counts() == before_counts
    assert audit.check_all().intact


# -- 4. the audit hash chain ----------------------------------------------------------------------

@pytest.fixture
def two_plans(kb):
    """An approved plan, then a returned plan of the next year: their entries follow each other."""
    approved = plan_in(kb, "disetujui", year=2025)
    returned = plan_in(kb, "dikembalikan", year=2026)
    return approved, returned


def test_chain_intact_after_actions(two_plans):
    approved, returned = two_plans
    whole = audit.check_all()
    assert whole.intact and whole.checked == db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
    for plan in two_plans:
        entries = audit.entries_for_plan(plan)
        part = audit.check(entries)
        assert part.intact and part.checked == len(entries) > 0
    seqs = [e.seq for e in db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.seq))]
    assert seqs == list(range(1, len(seqs) + 1))


def break_append_only():
    drop_triggers("audit_entry_append_only_update", "audit_entry_append_only_delete")


def broken_seqs(result):
    return sorted({seq for seq, _ in result.broken})


@pytest.mark.parametrize("column,value", [("note", "Catatan palsu"), ("changes", '{"status": ["Draf", "Disetujui"]}'),
                                          ("actor", "Orang lain (lain)")])
def test_chain_catches_edited_entry(column, value, two_plans):
    approved, _ = two_plans
    entries = audit.entries_for_plan(approved)
    target = entries[len(entries) // 2].seq
    break_append_only()
    raw(f"UPDATE audit_entry SET {column} = :value WHERE seq = :seq", value=value, seq=target)
    db.session.commit()
    db.session.expire_all()
    whole = audit.check_all()
    assert broken_seqs(whole) == [target]
    assert "isi catatan telah diubah" in dict(whole.broken)[target]
    assert broken_seqs(audit.check(audit.entries_for_plan(approved))) == [target]


def test_chain_catches_edited_entry_with_recomputed_hash(two_plans):
    approved, _ = two_plans
    entries = audit.entries_for_plan(approved)
    entry = entries[len(entries) // 2]
    entry.note = "Catatan palsu"
    new_hash = audit.entry_hash(entry)
    db.session.expunge_all()
    break_append_only()
    raw("UPDATE audit_entry SET note = 'Catatan palsu', hash = :h WHERE seq = :seq", h=new_hash, seq=entry.seq)
    db.session.commit()
    whole = audit.check_all()
    assert broken_seqs(whole) == [entry.seq + 1]
    assert "telah diubah atau diganti" in dict(whole.broken)[entry.seq + 1]
    assert not audit.check(audit.entries_for_plan(approved)).intact


def test_chain_catches_deleted_middle_entry(two_plans, client, login):
    approved, returned = two_plans
    entries = audit.entries_for_plan(approved)
    target = entries[len(entries) // 2].seq
    break_append_only()
    raw("DELETE FROM audit_entry WHERE seq = :seq", seq=target)
    db.session.commit()
    db.session.expire_all()
    whole = audit.check_all()
    assert broken_seqs(whole) == [target + 1]
    assert "hilang" in dict(whole.broken)[target + 1]
    assert target + 1 in broken_seqs(audit.check(audit.entries_for_plan(approved)))
    assert audit.check(audit.entries_for_plan(returned)).intact is False  # the gap is anywhere in the chain
    login("anggota")
    page = client.get(f"/rencana/{approved.id}/riwayat")
    assert page.status_code == 200
    assert "riwayat telah dirusak" in body(page) and f"Catatan no. {target + 1}" in body(page)


@pytest.mark.parametrize("view", ["owner", "next"])
def test_plan_view_flags_deleted_entry_at_plan_boundary(view, two_plans):
    """Delete the approved plan's last entry, followed in the chain by the next plan's first:
    either plan's own view of the chain still shows it."""
    approved, returned = two_plans
    last = audit.entries_for_plan(approved)[-1].seq
    assert audit.entries_for_plan(returned)[0].seq == last + 1
    break_append_only()
    raw("DELETE FROM audit_entry WHERE seq = :seq", seq=last)
    db.session.commit()
    db.session.expire_all()
    plan = approved if view == "owner" else returned
    result = audit.check(audit.entries_for_plan(plan))
    assert not result.intact
    assert last + 1 in broken_seqs(result)


def test_history_page(two_plans, kb, client, login):
    approved, returned = two_plans
    login("anggota")
    page = client.get(f"/rencana/{returned.id}/riwayat")
    assert page.status_code == 200
    text = body(page)
    assert "Rantai riwayat utuh" in text
    for action in ("plan.create", "plan.ajukan", "plan.kembalikan"):
        assert audit.ACTIONS[action] in text
    assert NOTE in text
    for role, status in (("outsider", 404), ("operator_other", 404), ("operator", 200)):
        login(kb[role].username)
        assert client.get(f"/rencana/{returned.id}/riwayat").status_code == status
    client.post("/keluar")
    anonymous = client.get(f"/rencana/{returned.id}/riwayat")
    assert anonymous.status_code == 302 and location(anonymous) == "/masuk"


# -- 5. verification ------------------------------------------------------------------------------

@pytest.mark.parametrize("typed,expected", [
    ("abcd-efgh-jkmn", "ABCD-EFGH-JKMN"),
    ("ABCD EFGH JKMN", "ABCD-EFGH-JKMN"),
    ("  abcdefghjkmn\n", "ABCD-EFGH-JKMN"),
    ("o0Oo-iIlL-1234", "0000-1111-1234"),
    ("uuuu.vvvv.wxyz", "VVVV-VVVV-WXYZ"),
    ("ABCD-EFGH", None),
    ("ABCD-EFGH-JKMN-P", None),
    ("", None),
    (None, None),
])
def test_normalise_code(typed, expected):
    assert approval.normalise_code(typed) == expected


def test_verification_page_intact(kb, client):
    plan = plan_in(kb, "disetujui")
    code = plan.verification_code
    response = client.get(f"/verifikasi/{code}")  # no login
    assert response.status_code == 200
    text = body(response)
    assert "Utuh" in text and "TIDAK COCOK" not in text
    assert LURAH_NAME in text and KETUA_NAME in text and code in text
    assert "WIB" in text


def test_verification_accepts_code_as_typed(kb, client):
    plan = plan_in(kb, "disetujui")
    code = plan.verification_code
    sloppy = code.replace("-", " ").lower().replace("0", "o").replace("1", "l")
    via_form = client.get("/verifikasi", query_string={"kode": sloppy}, follow_redirects=True)
    assert via_form.status_code == 200 and "Utuh" in body(via_form) and LURAH_NAME in body(via_form)
    via_path = client.get(f"/verifikasi/{code.lower()}", follow_redirects=True)
    assert via_path.status_code == 200 and "Utuh" in body(via_path)
    assert client.get("/verifikasi").status_code == 200


@pytest.mark.parametrize("path", ["/verifikasi/ZZZZ-ZZZZ-ZZZZ", "/verifikasi?kode=zzzz zzzz zzzz", "/verifikasi/abc"])
def test_verification_unknown_code(path, kb, client):
    plan_in(kb, "disetujui")
    response = client.get(path, follow_redirects=True)
    assert response.status_code == 404
    assert "Kode verifikasi tidak ditemukan" in body(response)
    assert LURAH_NAME not in body(response)


def test_verification_malformed_code_in_form(client, kb):
    response = client.get("/verifikasi", query_string={"kode": "abc"})
    assert response.status_code == 422 and "12 huruf/angka" in body(response)


@pytest.mark.parametrize("trigger,sql,label,shown", [
    ("plan_row_locked_update", "UPDATE plan_row SET kegiatan = 'Penyuluhan fiktif' WHERE id = :row",
     "Kegiatan", "Penyuluhan"),
    ("funding_source_locked_update", "UPDATE funding_source SET amount = 9000000 WHERE id = :source",
     "Sumber dana", "Penyuluhan"),
])
def test_verification_detects_tampered_content(trigger, sql, label, shown, kb, client):
    plan = plan_in(kb, "disetujui")
    code = plan.verification_code
    params = raw_params(plan)
    drop_triggers(trigger)
    run_raw(sql, params)
    db.session.commit()
    db.session.expire_all()

    result = approval.verify(code)
    assert not result.intact and result.copies_intact
    assert [(d["kind"], [f[0] for f in d["fields"]]) for d in result.differences] == [("changed", [label])]

    response = client.get(f"/verifikasi/{code}")
    text = body(response)
    assert response.status_code == 200
    assert "TIDAK COCOK" in text and "Utuh:" not in text
    assert f"II.1 {shown}" in text and f"{label} berubah" in text


def test_verification_detects_tampered_signature_copy(kb, client):
    plan = plan_in(kb, "disetujui")
    drop_triggers("signature_append_only_update")
    raw("UPDATE signature SET content = content || ' ' WHERE role = 'lurah'")
    db.session.commit()
    db.session.expire_all()
    result = approval.verify(plan.verification_code)
    assert result.intact and not result.copies_intact
    text = body(client.get(f"/verifikasi/{plan.verification_code}"))
    assert "TIDAK COCOK" in text and "Salinan isi" in text


# -- 6. revisions ---------------------------------------------------------------------------------

@pytest.mark.parametrize("state", ["draf", "diajukan", "dikembalikan"])
def test_revision_needs_an_approved_plan(state, kb):
    plan = plan_in(kb, state)
    with pytest.raises(PlanError, match="Revisi hanya dapat dibuat dari rencana yang disetujui"):
        approval.create_revision(plan, by=kb["ketua"])
    db.session.rollback()
    assert approval.versions(plan) == [plan]


def lineages(plan):
    return sorted(r.lineage for r in plan.rows)


def test_revision_lifecycle(kb):
    plan = plan_in(kb, "disetujui")
    old_code, old_hash = plan.verification_code, content.content_hash(plan)
    sekretaris = kb["sekretaris"]

    revision = approval.create_revision(plan, by=sekretaris)
    db.session.commit()
    assert (revision.revision, revision.status, revision.year) == (1, "draf", plan.year)
    assert revision.revises is plan and revision.title == "Rencana Kegiatan 2025 Revisi 1"
    assert lineages(revision) == lineages(plan) and len(revision.rows) == len(ROWS)
    assert {r.id for r in revision.rows}.isdisjoint({r.id for r in plan.rows})
    assert [(r.kegiatan, [s.amount for s in r.funding_sources]) for r in revision.rows] == \
        [(r.kegiatan, [s.amount for s in r.funding_sources]) for r in plan.rows]
    assert actions_of(revision) == ["plan.revise"]
    assert approval.comparison(revision) == []
    assert approval.comparison(plan) is None

    with pytest.raises(PlanError, match="Revisi 1 masih berstatus Draf"):
        approval.create_revision(plan, by=sekretaris)
    db.session.rollback()
    with pytest.raises(PlanError, match="Revisi hanya dapat"):
        approval.create_revision(revision, by=sekretaris)
    db.session.rollback()

    changed = row_named(revision, "Penyuluhan")
    update_row(changed, {**ROWS[1], "kegiatan": "Penyuluhan KB pria", "version": changed.version}, by=sekretaris)
    add_row(revision, {"part": "III", "kegiatan": "Pelayanan KB keliling", "schedule_text": "Juli 2025",
                       "funding_text": "BOKB Rp 750.000"}, by=sekretaris)
    delete_row(row_named(revision, "Rapat Pokja"), by=sekretaris)
    db.session.commit()

    changes = approval.comparison(revision)
    by_kind = {}
    for c in changes:
        by_kind.setdefault(c["kind"], []).append(c)
    assert set(by_kind) == {"changed", "added", "removed"}
    assert [c["fields"] for c in by_kind["changed"]] == [[("Kegiatan", "Penyuluhan", "Penyuluhan KB pria")]]
    assert [c["new"]["kegiatan"] for c in by_kind["added"]] == ["Pelayanan KB keliling"]
    assert [c["old"]["kegiatan"] for c in by_kind["removed"]] == ["Rapat Pokja"]
    # The approved plan is untouched and still in force.
    assert content.content_hash(plan) == old_hash
    assert approval.in_force(approval.versions(plan)) is plan
    assert approval.verify(old_code).superseded_by is None

    act(revision, "ajukan", kb["ketua"])
    with pytest.raises(PlanError, match="Revisi 1 masih berstatus Diajukan"):
        approval.create_revision(plan, by=sekretaris)
    db.session.rollback()
    act(revision, "setujui", kb["lurah"])

    assert revision.verification_code and revision.verification_code != old_code
    old = approval.verify(old_code)
    assert old.intact and old.superseded_by is revision
    assert approval.verify(revision.verification_code).superseded_by is None
    assert approval.in_force(approval.versions(plan)) is revision
    assert approval.open_revision(approval.versions(plan)) is None
    with pytest.raises(PlanError, match="Revisi hanya dapat"):
        approval.create_revision(plan, by=sekretaris)  # superseded: no longer in force
    db.session.rollback()
    second = approval.create_revision(revision, by=sekretaris)
    db.session.commit()
    assert second.revision == 2 and second.revises is revision
    assert lineages(second) == lineages(revision)


def test_superseded_code_page_says_so(kb, client):
    plan = plan_in(kb, "disetujui")
    revision = approval.create_revision(plan, by=kb["ketua"])
    db.session.commit()
    act(revision, "ajukan", kb["ketua"])
    act(revision, "setujui", kb["lurah"])
    text = body(client.get(f"/verifikasi/{plan.verification_code}"))
    assert "sudah diganti oleh Rencana Kegiatan 2025 Revisi 1" in text and revision.verification_code in text


@pytest.mark.parametrize("role,status", [("ketua", 302), ("sekretaris", 302), ("operator", 302), ("admin", 302),
                                         ("lurah", 403), ("anggota", 403), ("outsider", 404),
                                         ("operator_other", 404)])
def test_http_revision_permissions(role, status, kb, client, login):
    plan = plan_in(kb, "disetujui")
    login(kb[role].username)
    response = client.post(f"/rencana/{plan.id}/revisi")
    assert response.status_code == status
    versions = approval.versions(plan)
    if status == 302:
        assert len(versions) == 2 and versions[1].revision == 1
        assert location(response) == f"/rencana/{versions[1].id}"
    else:
        assert versions == [plan]


def test_http_revision_refused_on_draft_and_twice(kb, client, login):
    draft = plan_in(kb, "draf", year=2024)
    approved = plan_in(kb, "disetujui")
    login("ketua")
    refused = client.post(f"/rencana/{draft.id}/revisi")
    assert refused.status_code == 409 and "Revisi hanya dapat dibuat" in body(refused)
    assert client.post(f"/rencana/{approved.id}/revisi").status_code == 302
    twice = client.post(f"/rencana/{approved.id}/revisi")
    assert twice.status_code == 409 and "masih berstatus Draf" in body(twice)
    assert len(approval.versions(approved)) == 2


def test_http_comparison_page(kb, client, login):
    plan = plan_in(kb, "disetujui")
    login("sekretaris")
    client.post(f"/rencana/{plan.id}/revisi")
    revision = approval.versions(plan)[1]
    row = row_named(revision, "Penyuluhan")
    update_row(row, {**ROWS[1], "kegiatan": "Penyuluhan KB pria", "version": row.version}, by=kb["sekretaris"])
    db.session.commit()
    login("anggota")
    page = client.get(f"/rencana/{revision.id}/perbandingan")
    assert page.status_code == 200
    text = body(page)
    assert "Kegiatan" in text and "Penyuluhan KB pria" in text and "<del>Penyuluhan</del>" in text
    assert "1 diubah" in text
    assert client.get(f"/rencana/{plan.id}/perbandingan").status_code == 404  # not a revision
    login(kb["outsider"].username)
    assert client.get(f"/rencana/{revision.id}/perbandingan").status_code == 404


# -- 7. Beranda inbox -----------------------------------------------------------------------------

def test_beranda_lurah_sees_plan_waiting_for_approval(kb, client, login):
    plan = plan_in(kb, "draf")
    act(plan, "ajukan", kb["ketua"])
    assert approval.waiting_for(kb["lurah"], kb["kampung"]) == [
        (plan, "menunggu persetujuan dan tanda tangan Anda")]
    login("lurah")
    text = body(client.get("/"))
    assert plan.title in text and f"/rencana/{plan.id}" in text
    assert "menunggu persetujuan dan tanda tangan Anda" in text
    act(plan, "setujui", kb["lurah"])
    assert approval.waiting_for(kb["lurah"], kb["kampung"]) == []
    assert "menunggu persetujuan" not in body(client.get("/"))


def test_beranda_unsigned_submission_waits_for_ketua(kb, client, login):
    plan = plan_in(kb, "diajukan")
    assert approval.waiting_for(kb["ketua"], kb["kampung"]) == [(plan, "menunggu tanda tangan Anda sebagai Ketua Pokja")]
    assert [m for _, m in approval.waiting_for(kb["lurah"], kb["kampung"])] == [
        "diajukan; menunggu tanda tangan Ketua Pokja sebelum Anda setujui"]
    login("ketua")
    assert "menunggu tanda tangan Anda sebagai Ketua Pokja" in body(client.get("/"))


def test_beranda_sekretaris_sees_returned_plan_with_note(kb, client, login):
    plan = plan_in(kb, "dikembalikan")
    login("sekretaris")
    text = body(client.get("/"))
    assert plan.title in text and "dikembalikan untuk diperbaiki" in text and NOTE in text
    login("anggota")
    assert NOTE not in body(client.get("/"))
    assert approval.waiting_for(kb["anggota"], kb["kampung"]) == []
    # Still shown while fixing (back to Draf), gone once resubmitted.
    row = row_named(plan, "Penyuluhan")
    update_row(row, {**ROWS[1], "version": row.version, "pelaksana": "PLKB"}, by=kb["sekretaris"])
    db.session.commit()
    login("sekretaris")
    assert NOTE in body(client.get("/"))
    act(plan, "ajukan", kb["sekretaris"])
    assert NOTE not in body(client.get("/"))

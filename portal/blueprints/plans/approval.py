"""Approval services: submit, sign, return, approve; revisions; what waits for whom.

``portal.models.workflow`` says what is allowed; these functions check it, make the change,
record the signature and the audit entry, and flush. The request commits.
"""
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from portal import audit
from portal.blueprints.plans import content
from portal.blueprints.plans.services import PlanError, clone_row
from portal.extensions import db
from portal.models import Plan, Signature, workflow

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32: no I, L, O, U
NOTE_MAX = 2000


class TransitionRefused(PlanError):
    """A transition the state machine or the user's role does not allow."""


def perform(plan, name, by, password=None, note=None):
    """Make transition ``name`` (a ``workflow.TRANSITIONS`` key). Raises TransitionRefused, or
    PlanError naming the field ("password", "note") for a wrong password or a missing note."""
    reason = workflow.refusal(plan, by, name)
    if reason:
        raise TransitionRefused(reason)
    transition = workflow.TRANSITIONS[name]
    signs = transition.signs or (name == "ajukan" and workflow.signs_on_submit(plan, by))
    if signs and not by.check_password(password or ""):
        raise PlanError("Kata sandi salah. Tanda tangan elektronik memerlukan kata sandi Anda.", "password")
    note = (note or "").strip() if transition.needs_note else ""  # only "kembalikan" has a note field
    if transition.needs_note and not note:
        raise PlanError("Tuliskan apa yang perlu diperbaiki.", "note")
    if len(note) > NOTE_MAX:
        raise PlanError(f"Catatan terlalu panjang (paling banyak {NOTE_MAX} karakter).", "note")

    before = plan.status
    # Everything that queries (and so autoflushes) comes before the status changes: once the
    # plan is flushed as approved, the flush guard freezes it.
    code = _new_code() if name == "setujui" else None
    if name == "ajukan":
        plan.submission += 1
        plan.return_note = None
    elif name == "kembalikan":
        plan.return_note = note
    signature = _sign(plan, by, "lurah" if name == "setujui" else "ketua") if signs else None
    plan.status = transition.target
    if name == "setujui":
        plan.approved_at = signature.signed_at
        plan.verification_code = code
    changes = {"Status": [workflow.STATES[before], workflow.STATES[plan.status]]}
    if signature is not None:
        changes["Sidik isi (SHA-256)"] = [None, signature.content_hash]
    audit.record(f"plan.{name}", by=by, plan=plan, changes=changes, note=note or None)
    db.session.flush()
    return signature


def _sign(plan, user, role):
    position_role = "ketua" if role == "ketua" else "pengarah"
    position = next(p for p in user.active_positions(plan.kampung) if p.role == position_role)
    if role == "lurah":
        desa = plan.kampung.desa
        title = f"{'Lurah' if desa.kind == 'Kelurahan' else 'Kepala Desa'} {desa.name}"
    else:
        title = f"Ketua Pokja {plan.kampung.name}"
    text = content.canonical(content.document(plan))
    signature = Signature(
        plan=plan, submission=plan.submission, role=role, user=user, position_id=position.id,
        signer_name=position.person_name, position_title=title, signed_at=datetime.now(timezone.utc),
        timezone=plan.kampung.timezone, content=text, content_hash=content.sha256(text),
    )
    db.session.add(signature)
    return signature


def _new_code():
    while True:
        raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
        code = f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"
        if not db.session.scalar(db.select(Plan.id).where(Plan.verification_code == code)):
            return code


def normalise_code(text):
    """What people type from paper: any case, spaces or dashes, O for 0, I or L for 1."""
    raw = "".join(ch for ch in (text or "").upper() if ch.isalnum())
    raw = raw.translate(str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"}))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}" if len(raw) == 12 else None


# -- which version is in force; revisions ---------------------------------------------------------

def versions(plan):
    """All revisions of the plan's year, oldest first."""
    return db.session.scalars(db.select(Plan).where(
        Plan.kampung_id == plan.kampung_id, Plan.year == plan.year).order_by(Plan.revision)).all()


def in_force(all_versions):
    """The approved version with the highest revision, or None."""
    approved = [p for p in all_versions if p.status == "disetujui"]
    return approved[-1] if approved else None


def open_revision(all_versions):
    """A version still being worked on (not approved), if any: at most one at a time."""
    return next((p for p in all_versions if p.status != "disetujui"), None)


def create_revision(plan, by):
    """Open Revisi N as a draft copied from the approved plan in force. Raises PlanError."""
    all_versions = versions(plan)
    if plan.status != "disetujui" or in_force(all_versions) is not plan:
        raise PlanError("Revisi hanya dapat dibuat dari rencana yang disetujui dan sedang berlaku.")
    pending = open_revision(all_versions)
    if pending is not None:
        raise PlanError(f"{pending.title} masih berstatus {workflow.label(pending)}; lanjutkan revisi itu.")
    revision = Plan(kampung=plan.kampung, year=plan.year, revision=all_versions[-1].revision + 1,
                    status=workflow.INITIAL, revises=plan)
    db.session.add(revision)
    with db.session.no_autoflush:
        for row in plan.rows:
            clone_row(row, revision, lineage=row.lineage)
    db.session.flush()
    audit.record("plan.revise", by=by, plan=revision, changes={"Revisi": [plan.revision, revision.revision]})
    return revision


def comparison(plan):
    """What this revision adds, removes and changes against the version it revises."""
    if plan.revises is None:
        return None
    return content.compare(content.document(plan.revises)["rows"], content.document(plan)["rows"])


# -- verification ---------------------------------------------------------------------------------

@dataclass
class Verification:
    plan: Plan
    signatures: list
    intact: bool  # the stored plan hashes to what every signature signed
    copies_intact: bool  # each signature's kept copy still hashes to its recorded hash
    differences: list  # content.compare(signed, stored) when not intact
    superseded_by: Plan | None


def verify(code):
    """Check the plan with verification code ``code`` (normalised). None when unknown."""
    plan = db.session.scalar(db.select(Plan).where(Plan.verification_code == code))
    if plan is None:
        return None
    # Ketua signs before the Lurah approves: order by role, which also avoids comparing an
    # aware datetime with the naive one SQLite hands back.
    signatures = sorted(plan.current_signatures().values(), key=lambda s: s.role != "ketua")
    stored = content.content_hash(plan)
    intact = all(s.content_hash == stored for s in signatures)
    copies_intact = all(s.stored_copy_intact for s in signatures)
    differences = []
    if not intact:
        lurah = plan.current_signatures().get("lurah") or signatures[-1]
        signed_rows = json.loads(lurah.content)["rows"]
        differences = content.compare(signed_rows, content.document(plan)["rows"])
    newest = in_force(versions(plan))
    return Verification(plan, signatures, intact, copies_intact, differences,
                        newest if newest is not plan else None)


# -- what waits for whom (Beranda) ----------------------------------------------------------------

def waiting_for(user, kampung):
    """Plans of ``kampung`` that wait for ``user``: (plan, message) pairs."""
    plans = db.session.scalars(db.select(Plan).where(
        Plan.kampung_id == kampung.id,
        Plan.status.in_(("diajukan", "dikembalikan", "draf"))).order_by(Plan.year, Plan.revision)).all()
    out = []
    for plan in plans:
        if workflow.refusal(plan, user, "setujui") is None:
            out.append((plan, "menunggu persetujuan dan tanda tangan Anda"))
        elif plan.status == "diajukan" and user.holds(kampung, "pengarah"):
            out.append((plan, "diajukan; menunggu tanda tangan Ketua Pokja sebelum Anda setujui"))
        elif workflow.refusal(plan, user, "tandatangani") is None:
            out.append((plan, "menunggu tanda tangan Anda sebagai Ketua Pokja"))
        elif plan.return_note and user.holds(kampung, "ketua", "sekretaris"):
            out.append((plan, "dikembalikan untuk diperbaiki"))
    return out

"""Recording and checking the audit trail (``AuditEntry``).

Services call ``record`` after their change, in the same transaction, so the entry commits or
rolls back with it. Each entry's hash is SHA-256 over a canonical JSON of its fields and the
previous entry's hash; ``check`` recomputes them. Limits, said plainly: removing the newest
entries leaves a shorter chain that still checks out, and someone who can rewrite the whole
table and recompute every hash is not stopped by the chain (the triggers and database rights
are what stop them).
"""
import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timezone

from sqlalchemy import text

from portal.extensions import db
from portal.models import AuditEntry

GENESIS = "0" * 64

ACTIONS = {
    "plan.create": "Membuat rencana",
    "plan.copy": "Membuat rencana dari tahun sebelumnya",
    "plan.import": "Mengimpor rencana",
    "plan.revise": "Membuat revisi",
    "plan.ajukan": "Mengajukan ke Lurah/Kepala Desa",
    "plan.tandatangani": "Menandatangani sebagai Ketua Pokja",
    "plan.kembalikan": "Mengembalikan untuk diperbaiki",
    "plan.reopen": "Mulai memperbaiki (kembali ke Draf)",
    "plan.setujui": "Menyetujui dan menandatangani",
    "row.add": "Menambah kegiatan",
    "row.update": "Mengubah kegiatan",
    "row.delete": "Menghapus kegiatan",
    "row.move": "Mengubah urutan kegiatan",
    "progress.status": "Memperbarui status kegiatan",
    "progress.occurrence": "Memperbarui jadwal pelaksanaan",
    "progress.realisation": "Mencatat realisasi",
    "position.add": "Menambah jabatan",
    "position.update": "Mengubah jabatan",
    "position.end": "Mengakhiri jabatan",
    "rumahdata.create": "Mengisi data Rumah Data",
    "rumahdata.update": "Mengubah data Rumah Data",
    "rumahdata.import": "Mengimpor data Rumah Data",
}


def plain(value):
    """A JSON-ready value: dates and times as ISO text."""
    if isinstance(value, datetime):
        return _utc_text(value)
    if isinstance(value, (date, time)):
        return value.isoformat()
    return value


def diff(before, after):
    """{field: [old, new]} for the keys whose values differ."""
    keys = list(before) + [k for k in after if k not in before]
    return {k: [plain(before.get(k)), plain(after.get(k))] for k in keys if before.get(k) != after.get(k)}


def record(action, *, by, kampung=None, plan=None, obj=None, changes=None, note=None):
    """Append an entry. ``by`` is the user (None for the command line and the seed)."""
    assert action in ACTIONS, action
    db.session.flush()  # the change first: on SQLite this takes the write lock the chain needs
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(hashtext('audit_entry'))"))
    last = db.session.execute(
        db.select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    entry = AuditEntry(
        seq=(last.seq + 1) if last else 1,
        at=datetime.now(timezone.utc),
        user_id=by.id if by is not None else None,
        actor=f"{by.full_name} ({by.username})" if by is not None else "sistem",
        kampung_id=kampung.id if kampung is not None else (plan.kampung_id if plan is not None else None),
        plan_id=plan.id if plan is not None else None,
        object_type=type(obj).__tablename__ if obj is not None else "plan",
        object_id=obj.id if obj is not None else (plan.id if plan is not None else None),
        action=action,
        changes=json.dumps(changes, ensure_ascii=False, sort_keys=True) if changes else None,
        note=note,
        prev_hash=last.hash if last else GENESIS,
    )
    entry.hash = entry_hash(entry)
    db.session.add(entry)
    db.session.flush()
    return entry


def _utc_text(value):
    """One text for a moment whether the driver hands back an aware or a naive UTC datetime."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def entry_hash(entry):
    fields = {
        "seq": entry.seq, "at": _utc_text(entry.at), "user_id": entry.user_id, "actor": entry.actor,
        "kampung_id": entry.kampung_id, "plan_id": entry.plan_id, "object_type": entry.object_type,
        "object_id": entry.object_id, "action": entry.action, "changes": entry.changes, "note": entry.note,
        "prev_hash": entry.prev_hash,
    }
    canonical = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass
class ChainCheck:
    checked: int
    broken: list  # (seq, reason in Indonesian)

    @property
    def intact(self):
        return not self.broken


def check(entries):
    """Check ``entries`` (any subset of the chain, e.g. one plan's): each one's own hash, that
    the entry before it exists and has the hash it points to, and that no entry is missing
    anywhere in the chain (a deleted entry of this plan leaves no row to check, only a gap)."""
    entries = sorted(entries, key=lambda e: e.seq)
    before = db.aliased(AuditEntry)
    gaps = db.session.scalars(db.select(AuditEntry.seq).where(
        AuditEntry.seq > 1, ~db.select(before.id).where(before.seq == AuditEntry.seq - 1).exists())).all()
    wanted = {e.seq - 1 for e in entries if e.seq > 1}
    previous = dict(db.session.execute(
        db.select(AuditEntry.seq, AuditEntry.hash).where(AuditEntry.seq.in_(wanted))).all()) if wanted else {}
    broken = [(seq, f"catatan no. {seq - 1} telah dihapus dari rantai") for seq in gaps
              if seq - 1 not in wanted]
    for e in entries:
        if entry_hash(e) != e.hash:
            broken.append((e.seq, "isi catatan telah diubah setelah dicatat"))
        expected = GENESIS if e.seq == 1 else previous.get(e.seq - 1)
        if expected is None:
            broken.append((e.seq, f"catatan sebelumnya (no. {e.seq - 1}) telah dihapus"))
        elif expected != e.prev_hash:
            broken.append((e.seq, f"catatan sebelumnya (no. {e.seq - 1}) telah diubah atau diganti"))
    return ChainCheck(len(entries), sorted(broken))


def check_all(batch=5000):
    """Walk the whole chain in order (for the ``audit verify`` command)."""
    broken, checked, prev_seq, prev_hash = [], 0, 0, GENESIS
    query = db.select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=batch)
    for e in db.session.scalars(query):
        checked += 1
        if e.seq != prev_seq + 1:
            broken.append((e.seq, f"catatan no. {prev_seq + 1}–{e.seq - 1} hilang"))
        elif e.prev_hash != prev_hash:
            broken.append((e.seq, f"catatan sebelumnya (no. {e.seq - 1}) telah diubah atau diganti"))
        if entry_hash(e) != e.hash:
            broken.append((e.seq, "isi catatan telah diubah setelah dicatat"))
        prev_seq, prev_hash = e.seq, e.hash
    return ChainCheck(checked, broken)


def entries_for_plan(plan):
    return db.session.scalars(
        db.select(AuditEntry).where(AuditEntry.plan_id == plan.id).order_by(AuditEntry.seq)).all()

"""The plan's states and transitions, and who may make them: the one place that owns
``Plan.status``.

    Draf ──ajukan──▶ Diajukan ──setujui──▶ Disetujui (frozen for good)
      ▲                │  ▲
      │           kembalikan└─tandatangani (Ketua countersigns)
      │                ▼
      └──(first fix)── Dikembalikan

The Sekretaris or the Ketua submits; the Ketua signs when submitting or countersigns later; the
Lurah/Kepala Desa (the Pokja's Pengarah) approves and signs, which needs the Ketua's signature on
the same submission, or returns the plan with a note. A returned plan is edited like a draft; its
first change takes it back to Draf. The services in ``portal.blueprints.plans.approval`` perform
transitions; this module only says what is allowed and why not.

The database triggers (``portal.models.locking``) mirror ``LOCKED`` and ``FROZEN``.
"""
from dataclasses import dataclass

STATES = {
    "draf": "Draf",
    "diajukan": "Diajukan",
    "dikembalikan": "Dikembalikan",
    "disetujui": "Disetujui",
}
INITIAL = "draf"
# States in which the plan's content (rows, schedules, funding) may change.
CONTENT_EDITABLE = {"draf", "dikembalikan"}
# Content read-only: while submitted, and for good once approved.
LOCKED = {"diajukan", "disetujui"}
# Nothing about the plan changes any more, its status included.
FROZEN = {"disetujui"}


@dataclass(frozen=True)
class Transition:
    name: str  # URL slug, Indonesian like the rest of the URLs
    sources: tuple
    target: str
    roles: tuple  # Pokja positions that may make it
    label: str  # the button
    done: str  # the message afterwards
    signs: bool = False  # asks for the password and records a signature
    needs_note: bool = False


TRANSITIONS = {
    t.name: t for t in (
        Transition("ajukan", ("draf", "dikembalikan"), "diajukan", ("sekretaris", "ketua"),
                   "Ajukan ke Lurah/Kepala Desa", "Rencana diajukan ke Lurah/Kepala Desa."),
        Transition("tandatangani", ("diajukan",), "diajukan", ("ketua",),
                   "Tanda tangani sebagai Ketua Pokja", "Rencana ditandatangani Ketua Pokja.", signs=True),
        Transition("kembalikan", ("diajukan",), "dikembalikan", ("pengarah",),
                   "Kembalikan untuk diperbaiki", "Rencana dikembalikan ke Pokja dengan catatan.",
                   needs_note=True),
        Transition("setujui", ("diajukan",), "disetujui", ("pengarah",),
                   "Setujui dan tanda tangani", "Rencana disetujui dan ditandatangani.", signs=True),
    )
}
# The Ketua submitting signs at the same time.
SUBMIT_SIGNING_ROLE = "ketua"


def content_editable(plan):
    return plan.status in CONTENT_EDITABLE


def label(plan):
    return STATES[plan.status]


def refusal(plan, user, name):
    """Why ``user`` may not make transition ``name`` on ``plan`` now (Indonesian), or None."""
    transition = TRANSITIONS.get(name)
    if transition is None:
        return "Tindakan tidak dikenal."
    if not user.is_authenticated or not user.holds(plan.kampung, *transition.roles):
        who = {"ajukan": "Ketua atau Sekretaris Pokja", "tandatangani": "Ketua Pokja"}.get(
            name, "Lurah/Kepala Desa (Pengarah Pokja)")
        return f"Hanya {who} yang dapat melakukan tindakan ini."
    if plan.status not in transition.sources:
        return f"Rencana berstatus {label(plan)}; tindakan \u201c{transition.label}\u201d tidak dapat dilakukan."
    signed = plan.current_signatures()
    if name == "ajukan" and not plan.rows:
        return "Rencana belum berisi kegiatan; tambahkan kegiatan sebelum mengajukan."
    if name == "tandatangani" and "ketua" in signed:
        return "Ketua Pokja sudah menandatangani pengajuan ini."
    if name == "setujui" and "ketua" not in signed:
        return "Ketua Pokja belum menandatangani pengajuan ini; minta Ketua menandatangani dulu."
    return None


def available(plan, user):
    """The transitions ``user`` may make on ``plan`` now, in display order."""
    return [t for name, t in TRANSITIONS.items() if refusal(plan, user, name) is None]


def signs_on_submit(plan, user):
    return user.holds(plan.kampung, SUBMIT_SIGNING_ROLE)

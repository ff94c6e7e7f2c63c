"""The plan's states and what each allows: the one place that owns ``Plan.status``.

For now a plan is only ever a draft (Draf); the approval issue adds Diajukan, Disetujui and
Dikembalikan here, with the transitions and who may make them.
"""
STATES = {
    "draf": "Draf",
}
INITIAL = "draf"
# States in which the plan's content (rows, schedules, funding) may change.
CONTENT_EDITABLE = {"draf"}


def content_editable(plan):
    return plan.status in CONTENT_EDITABLE


def label(plan):
    return STATES[plan.status]

"""The indicator catalogue: what Rumah Data records, how it is labelled, grouped and checked.

Counts are stored (``portal.models.rumahdata.COUNT_COLUMNS``); ``DERIVED`` figures (percentages,
"tidak berisiko") are always computed from them. ``within`` names the totals a count is part of
(an error when it exceeds one of them); ``soft_within`` the targets an achievement may exceed
with a warning (TPK accompaniment reaching more mothers than targeted happens). ``better`` says
which direction is good, for colouring TURUN/NAIK.
"""
from collections import OrderedDict
from dataclasses import dataclass

from portal.models.rumahdata import COUNT_COLUMNS, ROUNDS


@dataclass(frozen=True)
class Indicator:
    key: str
    label: str
    group: str
    unit: str = "keluarga"
    within: tuple = ()
    soft_within: tuple = ()
    better: str | None = "down"  # "down", "up" or None (neither)
    derived: bool = False


GROUPS = OrderedDict((
    ("keluarga", "Keluarga sasaran dan keluarga berisiko stunting (KRS)"),
    ("empat_terlalu", "4 Terlalu"),
    ("lingkungan", "Air minum dan jamban"),
    ("pendampingan", "Pendampingan oleh Tim Pendamping Keluarga (TPK)"),
    ("kb", "Peserta KB"),
    ("gizi", "Ibu hamil KEK dan stunting balita"),
    ("wilayah", "Penduduk dan TPK"),
))

# The groups a round's form opens first (the others stay folded).
ROUND_GROUPS = {
    "verval_krs": ("keluarga", "empat_terlalu", "lingkungan"),
    "pendampingan_tpk": ("pendampingan", "kb", "gizi"),
    "tahunan": ("gizi", "keluarga", "wilayah"),
}

_I = Indicator
COUNTS = (
    _I("families_total", "Jumlah keluarga", "keluarga", better=None),
    _I("families_targeted", "Keluarga sasaran", "keluarga", within=("families_total",), better=None),
    _I("krs", "Keluarga berisiko stunting (KRS)", "keluarga", within=("families_targeted", "families_total")),
    _I("target_pus", "Keluarga sasaran dengan PUS", "keluarga", within=("families_targeted",), better=None),
    _I("target_baduta", "Keluarga sasaran dengan baduta", "keluarga", within=("families_targeted",), better=None),
    _I("target_balita", "Keluarga sasaran dengan balita", "keluarga", within=("families_targeted",), better=None),
    _I("target_pregnant", "Keluarga sasaran dengan ibu hamil", "keluarga", within=("families_targeted",), better=None),
    _I("too_young", "Terlalu muda", "empat_terlalu", within=("target_pus",)),
    _I("too_old", "Terlalu tua", "empat_terlalu", within=("target_pus",)),
    _I("too_close", "Terlalu dekat", "empat_terlalu", within=("target_pus",)),
    _I("too_many", "Terlalu banyak", "empat_terlalu", within=("target_pus",)),
    _I("no_safe_water", "Keluarga tanpa sumber air minum utama yang layak", "lingkungan",
       within=("families_targeted", "families_total")),
    _I("no_latrine", "Keluarga tanpa jamban yang layak", "lingkungan", within=("families_targeted", "families_total")),
    _I("catin_target", "Calon pengantin: sasaran", "pendampingan", "orang", better=None),
    _I("catin_reached", "Calon pengantin: capaian", "pendampingan", "orang", soft_within=("catin_target",), better="up"),
    _I("pregnant_target", "Ibu hamil: sasaran", "pendampingan", "orang", better=None),
    _I("pregnant_reached", "Ibu hamil: capaian", "pendampingan", "orang", soft_within=("pregnant_target",), better="up"),
    _I("postpartum_target", "Ibu pascapersalinan: sasaran", "pendampingan", "orang", better=None),
    _I("postpartum_reached", "Ibu pascapersalinan: capaian", "pendampingan", "orang",
       soft_within=("postpartum_target",), better="up"),
    _I("baduta_target", "Baduta: sasaran", "pendampingan", "anak", better=None),
    _I("baduta_reached", "Baduta: capaian", "pendampingan", "anak", soft_within=("baduta_target",), better="up"),
    _I("kb_mkjp", "Peserta KB metode jangka panjang (MKJP)", "kb", "orang", better="up"),
    _I("kb_non_mkjp", "Peserta KB non-MKJP", "kb", "orang", better=None),
    _I("pregnant_kek", "Ibu hamil KEK (LiLA < 23,5 cm)", "gizi", "orang"),
    _I("balita_measured", "Balita diukur", "gizi", "anak", better=None),
    _I("stunting_cases", "Balita stunting", "gizi", "anak", within=("balita_measured",)),
    _I("population", "Jumlah penduduk", "wilayah", "jiwa", better=None),
    _I("tpk_teams", "Tim Pendamping Keluarga (tim)", "wilayah", "tim", better="up"),
    _I("tpk_members", "Anggota TPK", "wilayah", "orang", better="up"),
    _I("tpk_trained", "TPK terlatih (tim)", "wilayah", "tim", within=("tpk_teams",), better="up"),
)

# Derived figures: key → (label, group, numerator, denominator or None for a difference, better).
DERIVED = OrderedDict((
    ("krs_percent", ("KRS dari keluarga sasaran", "keluarga", "krs", "families_targeted", "down")),
    ("not_at_risk", ("Keluarga sasaran tidak berisiko", "keluarga", "families_targeted", "krs", None)),
    ("not_at_risk_percent", ("Tidak berisiko dari keluarga sasaran", "keluarga", "not_at_risk", "families_targeted", None)),
    ("catin_percent", ("Calon pengantin: capaian", "pendampingan", "catin_reached", "catin_target", "up")),
    ("pregnant_percent", ("Ibu hamil: capaian", "pendampingan", "pregnant_reached", "pregnant_target", "up")),
    ("postpartum_percent", ("Ibu pascapersalinan: capaian", "pendampingan", "postpartum_reached", "postpartum_target", "up")),
    ("baduta_percent", ("Baduta: capaian", "pendampingan", "baduta_reached", "baduta_target", "up")),
    ("mkjp_percent", ("MKJP dari peserta KB", "kb", "kb_mkjp", "kb_all", "up")),
    ("prevalence", ("Prevalensi stunting balita", "gizi", "stunting_cases", "balita_measured", "down")),
))

BY_KEY = {i.key: i for i in COUNTS}
assert tuple(BY_KEY) == COUNT_COLUMNS, "catalogue and model columns differ"


def label(key):
    if key in BY_KEY:
        return BY_KEY[key].label
    if key in DERIVED:
        return DERIVED[key][0]
    return key


def better(key):
    if key in BY_KEY:
        return BY_KEY[key].better
    return DERIVED[key][4] if key in DERIVED else None


def in_group(group):
    return [i for i in COUNTS if i.group == group]


def round_label(round_, year, month_from=None, month_to=None):
    """"Verval KRS 2025", "Pendampingan TPK Januari–September 2025"."""
    from portal.formatting import MONTHS
    months = ""
    if month_from and month_to and (month_from, month_to) != (1, 12):
        months = f" {MONTHS[month_from - 1]}–{MONTHS[month_to - 1]}" if month_from != month_to else f" {MONTHS[month_from - 1]}"
    return f"{ROUNDS[round_]}{months} {year}"


# What a plan row may cite: every count and derived figure, grouped for a <select>.
def citable():
    out = []
    for group, title in GROUPS.items():
        options = [(i.key, i.label) for i in in_group(group)]
        options += [(k, f"{v[0]} (%)" if "percent" in k or k == "prevalence" else v[0])
                    for k, v in DERIVED.items() if v[1] == group]
        out.append((title, options))
    return out


CITABLE_KEYS = {key for _title, options in citable() for key, _label in options}

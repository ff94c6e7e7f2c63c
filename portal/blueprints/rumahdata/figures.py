"""Computing with Rumah Data: derived figures, roll-ups over regions, period comparisons and
the checks of what documents state.

A ``Dataset`` loads a region tree once and each period's records with one query, then answers
for any region in it. A region's figure for a count is its own record's value when it has one,
else the sum of its children's; when both exist and differ, the difference is kept as a
``Mismatch`` for the data section to check (a kecamatan table against its desa list).
"""
import re
from dataclasses import dataclass, field

from portal.blueprints.rumahdata.indicators import BY_KEY, DERIVED
from portal.extensions import db
from portal.models import DataRecord, DataStatement, Wilayah
from portal.models.rumahdata import COUNT_COLUMNS

STATUSES = ("TURUN", "TETAP", "NAIK")


def percent(numerator, denominator, exact=False):
    if numerator is None or not denominator:
        return None
    value = 100 * numerator / denominator
    return value if exact else round(value, 2)


def derive(values, prevalence_stated=None, exact=False):
    """The derived figures of a set of counts ({key: value}); prevalence falls back to the
    document's stated one when the number of balita is unknown."""
    v = dict(values)
    kb_all = (v["kb_mkjp"] + v["kb_non_mkjp"]) if v.get("kb_mkjp") is not None and v.get("kb_non_mkjp") is not None else None
    not_at_risk = (v["families_targeted"] - v["krs"]) if v.get("families_targeted") is not None and v.get("krs") is not None else None
    v.update(kb_all=kb_all, not_at_risk=not_at_risk)
    out = {"not_at_risk": not_at_risk}
    for key, (_label, _group, num, den, _better) in DERIVED.items():
        if key != "not_at_risk":
            out[key] = percent(v.get(num), v.get(den), exact)
    if out["prevalence"] is None and prevalence_stated is not None and not v.get("balita_measured"):
        out["prevalence"] = float(prevalence_stated)
    return out


def change(now, before, decimals=2):
    """TURUN / NAIK / TETAP of ``now`` against ``before`` (None when either is missing), compared
    at the precision the figures are shown in, as the 003 deck compares prevalences."""
    if now is None or before is None:
        return None
    now, before = round(now, decimals), round(before, decimals)
    return "TETAP" if now == before else ("NAIK" if now > before else "TURUN")


@dataclass
class Mismatch:
    key: str
    own: int
    children: int
    count: int  # children contributing


@dataclass
class Figures:
    """One region's figures for one period."""
    wilayah: object
    record: object = None
    counts: dict = field(default_factory=dict)
    derived: dict = field(default_factory=dict)
    mismatches: list = field(default_factory=list)
    desa_with_data: int = 0
    prevalence_from_document: bool = False

    @property
    def has_data(self):
        return any(v is not None for v in self.counts.values()) or self.derived.get("prevalence") is not None

    def get(self, key):
        return self.counts.get(key) if key in BY_KEY else self.derived.get(key)

    def mismatch(self, key):
        return next((m for m in self.mismatches if m.key == key), None)


class Dataset:
    """Regions under ``roots`` (ids) and their records, period by period."""

    def __init__(self, roots):
        self.roots = list(roots)
        ids = set()
        for root in self.roots:
            ids.update(db.session.scalars(root.descendant_ids_query()))
        self.wilayah = {w.id: w for w in db.session.scalars(db.select(Wilayah).where(Wilayah.id.in_(ids)))}
        self.children = {}
        for w in sorted(self.wilayah.values(), key=lambda w: (w.code or "~", w.name)):
            if w.parent_id in self.wilayah:
                self.children.setdefault(w.parent_id, []).append(w)
        self._records = {}
        self._figures = {}

    def records(self, round_, year):
        key = (round_, year)
        if key not in self._records:
            rows = db.session.scalars(db.select(DataRecord).where(
                DataRecord.round == round_, DataRecord.year == year,
                DataRecord.wilayah_id.in_(list(self.wilayah)))).all()
            self._records[key] = {r.wilayah_id: r for r in rows}
        return self._records[key]

    def figures(self, wilayah_id, round_, year):
        key = (wilayah_id, round_, year)
        if key not in self._figures:
            self._figures[key] = self._compute(wilayah_id, round_, year)
        return self._figures[key]

    def _compute(self, wilayah_id, round_, year):
        record = self.records(round_, year).get(wilayah_id)
        kids = [self.figures(c.id, round_, year) for c in self.children.get(wilayah_id, [])]
        kids = [k for k in kids if k.has_data]
        counts, mismatches = {}, []
        for name in COUNT_COLUMNS:
            own = getattr(record, name) if record else None
            given = [k.counts[name] for k in kids if k.counts.get(name) is not None]
            summed = sum(given) if given else None
            counts[name] = own if own is not None else summed
            if own is not None and summed is not None and own != summed:
                mismatches.append(Mismatch(name, own, summed, len(given)))
        stated = record.prevalence_stated if record else None
        result = Figures(self.wilayah[wilayah_id], record, counts, derive(counts, stated), mismatches)
        result.prevalence_from_document = (stated is not None and not counts.get("balita_measured"))
        level = self.wilayah[wilayah_id].level
        result.desa_with_data = (1 if record is not None else 0) if level == "desa" else sum(k.desa_with_data for k in kids)
        return result

    def desa_under(self, wilayah_id):
        out, stack = [], [wilayah_id]
        while stack:
            node = self.wilayah[stack.pop()]
            if node.level == "desa":
                out.append(node)
            stack.extend(c.id for c in reversed(self.children.get(node.id, [])))
        return sorted(out, key=lambda w: ((w.parent.name if w.parent else ""), w.name))

    # -- comparing periods ------------------------------------------------------------------------

    def previous_year(self, round_, year):
        """The latest earlier year with records of this round anywhere in the tree."""
        return db.session.scalar(db.select(db.func.max(DataRecord.year)).where(
            DataRecord.round == round_, DataRecord.year < year,
            DataRecord.wilayah_id.in_(list(self.wilayah))))

    def status(self, wilayah_id, round_, year, before):
        if before is None:
            return None
        return change(self.figures(wilayah_id, round_, year).derived["prevalence"],
                      self.figures(wilayah_id, round_, before).derived["prevalence"])

    def desa_changes(self, wilayah_id, round_, year, before):
        """Per desa under the region: prevalence and cases in both years, and the status."""
        rows = []
        for desa in self.desa_under(wilayah_id):
            now, then = self.figures(desa.id, round_, year), self.figures(desa.id, round_, before)
            if not (now.has_data or then.has_data):
                continue
            rows.append({"desa": desa, "now": now, "then": then,
                         "status": change(now.derived["prevalence"], then.derived["prevalence"])})
        return rows

    def summary(self, wilayah_id, round_, year, before):
        counts = {s: 0 for s in STATUSES}
        for row in self.desa_changes(wilayah_id, round_, year, before):
            if row["status"]:
                counts[row["status"]] += 1
        return counts

    # -- what documents state ------------------------------------------------------------------------

    def statements(self, wilayah_id=None, round_=None, year=None):
        """Statements about regions in this tree (or about one region), with their check."""
        query = db.select(DataStatement).order_by(DataStatement.id)
        if round_:
            query = query.where(DataStatement.round == round_)
        if year:
            query = query.where(DataStatement.year == year)
        out = []
        for statement in db.session.scalars(query):
            ids = statement.wilayah_ids or []
            if not ids or any(i not in self.wilayah for i in ids):
                continue
            if wilayah_id is not None and wilayah_id not in ids:
                continue
            out.append(Check(statement, *self.check(statement)))
        return out

    def check(self, statement):
        """(computed value, result, reason): result "sesuai", "berbeda" or "tidak_dapat"."""
        key, ids = statement.key, statement.wilayah_ids
        if not key:
            return None, "tidak_dapat", statement.note or "Dokumen tidak memberi angka untuk menghitungnya."
        before = self.previous_year(statement.round, statement.year)
        if key == "status":
            computed = self.status(ids[0], statement.round, statement.year, before)
            stated = statement.stated.strip().upper()
        elif key.startswith("count_"):
            computed = sum(self.summary(i, statement.round, statement.year, before)[key[6:].upper()] for i in ids)
            stated = parse_number(statement.stated, integer=True)
        elif key == "desa_count":
            computed = sum(len(self.desa_under(i)) for i in ids)
            stated = parse_number(statement.stated, integer=True)
        else:
            integer = key in BY_KEY or key == "not_at_risk"
            stated = parse_number(statement.stated, integer=integer)
            exact = _combined(self, ids, statement.round, statement.year, key, exact=True)
            computed = exact if exact is None or integer else round(exact, decimals(statement.stated))
            if computed is not None and not integer and computed != stated and stated is not None:
                places = decimals(statement.stated)
                if int(exact * 10 ** places) / 10 ** places == stated:
                    exact_text = f"{exact:.4f}".replace(".", ",")
                    return computed, "pembulatan", f"Dokumen memotong angka, tidak membulatkannya (tepatnya {exact_text})."
        if computed is None:
            return None, "tidak_dapat", "Angka yang diperlukan untuk menghitungnya belum tercatat."
        return computed, ("sesuai" if computed == stated else "berbeda"), None


def _combined(dataset, ids, round_, year, key, exact=False):
    """A figure over several regions: counts add up; derived figures come from the sums
    (unrounded when ``exact``; a stated prevalence is used as it is)."""
    figures = [dataset.figures(i, round_, year) for i in ids]
    counts = {}
    for name in COUNT_COLUMNS:
        given = [f.counts[name] for f in figures if f.counts.get(name) is not None]
        counts[name] = sum(given) if given else None
    if key in BY_KEY:
        return counts.get(key)
    stated = figures[0].record.prevalence_stated if len(figures) == 1 and figures[0].record else None
    return derive(counts, stated, exact=exact).get(key)


@dataclass
class Check:
    statement: object
    computed: object
    result: str
    reason: str | None

    @property
    def flagged(self):
        return self.result == "berbeda"

    @property
    def order(self):
        return ("berbeda", "pembulatan", "tidak_dapat", "sesuai").index(self.result)


_NUMBER = re.compile(r"^-?[\d.,]+$")


def parse_number(text, integer):
    """A number as a document writes it: "115.406" and "6,880" are thousands when ``integer``;
    "14,38", "20,2%" and "23.5" are decimals otherwise."""
    cleaned = (text or "").strip().rstrip("%").strip().replace(" ", "")
    if not _NUMBER.match(cleaned):
        return None
    if integer:
        return int(re.sub(r"[.,]", "", cleaned))
    return float(cleaned.replace(".", "").replace(",", ".") if "," in cleaned else cleaned)


def decimals(text):
    cleaned = (text or "").strip().rstrip("%").strip()
    match = re.search(r"[.,](\d+)$", cleaned)
    return len(match.group(1)) if match else 0


def dataset_for(wilayah):
    return Dataset([wilayah])


def latest_values(wilayah, keys):
    """{key: {"value", "period", "previous", "previous_period", "change"}} from the region's own
    records: the latest period that has the figure, and the one before it in the same round."""
    from portal.blueprints.rumahdata.indicators import round_label
    records = db.session.scalars(db.select(DataRecord).filter_by(wilayah_id=wilayah.id)
                                 .order_by(DataRecord.year.desc())).all()
    out = {}
    for key in keys:
        found = []
        for record in records:
            values = record.values()
            value = values.get(key) if key in BY_KEY else derive(values, record.prevalence_stated).get(key)
            if value is not None and (not found or record.round == found[0][0].round):
                found.append((record, value))
            if len(found) == 2:
                break
        if not found:
            continue
        (record, value), previous = found[0], (found[1] if len(found) > 1 else (None, None))
        out[key] = {"value": value, "period": round_label(record.round, record.year, record.month_from, record.month_to),
                    "previous": previous[1],
                    "previous_period": round_label(previous[0].round, previous[0].year) if previous[0] else None,
                    "change": change(value, previous[1])}
    return out

"""Rumah Data demo figures from the 000 and 003 decks, loaded exactly as the documents state them.

Counts become ``DataRecord`` values; totals, percentages and statuses the documents state become
``DataStatement``s, which the portal recomputes and flags (it never loads them as data). Both
JSON files in ``seeds/data`` are transcriptions of the reference text; see docs/demo-data.md.
"""
import json
import re

from portal.blueprints.rumahdata.figures import parse_number
from portal.extensions import db
from portal.models import DataRecord, DataStatement, Wilayah

DOC_003 = "Dokumen 003: Pelaksanaan Intervensi Percepatan Penurunan Stunting Kab. Barito Timur 2023"
DOC_000 = "Dokumen 000: Mini Lokakarya Stunting 2025"
# The deck spells two kecamatan two ways; the region list uses the first spelling.
KECAMATAN_ALIASES = {"banua lima": "benua lima", "petangkep tutui": "patangkep tutui"}


def load(data_dir, kabupaten, desa_000):
    """Idempotent: a second run adds nothing."""
    if db.session.scalar(db.select(DataStatement.id).limit(1)) is not None:
        return
    _load_003(json.loads((data_dir / "rumah_data_003_barito_timur.json").read_text(encoding="utf-8")), kabupaten)
    _load_000(json.loads((data_dir / "rumah_data_000_verval_2025.json").read_text(encoding="utf-8")), desa_000)
    db.session.flush()


def _key(name):
    key = " ".join(re.sub(r"[^a-z ]", " ", name.lower()).split())
    return KECAMATAN_ALIASES.get(key, key)


def _record(wilayah, round_, year, source, **values):
    record = db.session.scalar(db.select(DataRecord).filter_by(wilayah_id=wilayah.id, round=round_, year=year))
    if record is None:
        record = DataRecord(wilayah=wilayah, round=round_, year=year, source=source)
        db.session.add(record)
    for name, value in values.items():
        setattr(record, name, value)
    return record


def _statement(source, label, wilayah_ids, round_, year, key, stated, note=None):
    db.session.add(DataStatement(source=source, label=label, wilayah_ids=list(wilayah_ids), round=round_,
                                 year=year, key=key, stated=stated, note=note))


def _int(text):
    return parse_number(text, integer=True)


def _load_003(doc, kabupaten):
    kecamatan = {_key(w.name): w for w in kabupaten.children if w.level == "kecamatan"}
    kab = [kabupaten.id]

    table = "003 · Demografi balita Kabupaten Barito Timur 2022–2023"
    for name, b22, s22, p22, b23, s23, p23 in doc["balita_kecamatan"]["rows"]:
        kec = kecamatan[_key(name)]
        for year, balita, stunted, prev in ((2022, b22, s22, p22), (2023, b23, s23, p23)):
            _record(kec, "tahunan", year, DOC_003, balita_measured=_int(balita), stunting_cases=_int(stunted))
            _statement(table, f"Prevalensi stunting {year}, Kec. {kec.name}", [kec.id], "tahunan", year,
                       "prevalence", prev)
    _, b22, s22, p22, b23, s23, p23 = doc["balita_kecamatan"]["total"]
    for year, balita, stunted, prev in ((2022, b22, s22, p22), (2023, b23, s23, p23)):
        _statement(table + " · baris TOTAL", f"Jumlah balita {year}, TOTAL", kab, "tahunan", year, "balita_measured", balita)
        _statement(table + " · baris TOTAL", f"Balita stunting {year}, TOTAL", kab, "tahunan", year, "stunting_cases", stunted)
        _statement(table + " · baris TOTAL", f"Prevalensi {year}, TOTAL", kab, "tahunan", year, "prevalence", prev)

    table = "003 · Penyediaan Data Keluarga Berisiko Stunting (KRS) Tahun 2023"
    for _no, name, families, targeted, krs, krs_pct, safe, safe_pct in doc["krs_kecamatan"]["rows"]:
        kec = kecamatan[_key(name)]
        _record(kec, "tahunan", 2023, DOC_003, families_total=_int(families), families_targeted=_int(targeted),
                krs=_int(krs))
        for label, key, stated in (("Persentase berisiko", "krs_percent", krs_pct),
                                   ("Keluarga tidak berisiko", "not_at_risk", safe),
                                   ("Persentase tidak berisiko", "not_at_risk_percent", safe_pct)):
            _statement(table, f"{label}, Kec. {kec.name}", [kec.id], "tahunan", 2023, key, stated)
    families, targeted, krs, krs_pct, safe, safe_pct = doc["krs_kecamatan"]["total"][1:]
    for label, key, stated in (("Jumlah keluarga", "families_total", families),
                               ("Jumlah keluarga sasaran", "families_targeted", targeted),
                               ("Keluarga berisiko stunting", "krs", krs), ("Persentase berisiko", "krs_percent", krs_pct),
                               ("Keluarga tidak berisiko", "not_at_risk", safe),
                               ("Persentase tidak berisiko", "not_at_risk_percent", safe_pct)):
        _statement(table + " · baris TOTAL", f"{label}, TOTAL", kab, "tahunan", 2023, key, stated)

    table = "003 · Tim Pendamping Keluarga (TPK) per kecamatan (tabel tanpa tahun; dimuat sebagai 2023)"
    for _no, name, population, krs, desa, teams, members, trained in doc["tpk_kecamatan"]["rows"]:
        kec = kecamatan[_key(name)]
        _record(kec, "tahunan", 2023, DOC_003, population=_int(population), tpk_teams=_int(teams),
                tpk_members=_int(members), tpk_trained=_int(trained))
        _statement(table, f"Keluarga berisiko stunting, Kec. {kec.name} (kolom tabel TPK)", [kec.id], "tahunan", 2023,
                   "krs", krs)
        _statement(table, f"Jumlah desa/kelurahan, Kec. {kec.name}", [kec.id], "tahunan", 2023, "desa_count", desa,
                   "Dibandingkan dengan daftar desa/kelurahan (Kemendagri) di portal.")
    _, _, population, krs, desa, teams, members, trained = doc["tpk_kecamatan"]["total"]
    for label, key, stated in (("Jumlah penduduk", "population", population), ("Keluarga berisiko stunting", "krs", krs),
                               ("Jumlah desa/kelurahan", "desa_count", desa), ("Jumlah TPK (tim)", "tpk_teams", teams),
                               ("Jumlah anggota TPK", "tpk_members", members), ("TPK terlatih", "tpk_trained", trained)):
        _statement(table + " · baris JUMLAH", f"{label}, JUMLAH", kab, "tahunan", 2023, key, stated)

    table = "003 · Hasil Monitoring dan Evaluasi: stunting per desa 2022–2023"
    for no, kec_name, desa_name, c22, p22, c23, p23, status in doc["desa_stunting"]["rows"]:
        kec = kecamatan[_key(kec_name)]
        desa = next(w for w in kec.children if w.name == desa_name)
        for year, cases, prev in ((2022, c22, p22), (2023, c23, p23)):
            _record(desa, "tahunan", year, DOC_003, stunting_cases=_int(cases),
                    prevalence_stated=parse_number(prev, integer=False))
        _statement(table, f"Status no. {no}, {desa.name} (Kec. {kec.name})", [desa.id], "tahunan", 2023, "status", status,
                   "Deck: penentuan status didasarkan pada prevalensi 2022–2023.")
    summary = doc["desa_stunting"]["summary"]
    for status in ("TURUN", "TETAP", "NAIK"):
        _statement(table + " · ringkasan", f"Desa/kelurahan berstatus {status} ({summary['of']})", kab, "tahunan", 2023,
                   f"count_{status.lower()}", summary[status])

    for item in doc["narrative"]:
        _statement("003 · narasi", item["label"], kab, item["round"], item["year"], item["key"], item["stated"],
                   item.get("note"))


def _load_000(doc, desa_000):
    desa = [desa_000[name] for name in doc["desa"]]
    ids = [d.id for d in desa]
    verval = doc["verval_krs_2025"]
    for index, d in enumerate(desa):
        _record(d, "verval_krs", 2025, DOC_000,
                **{key: _int(values[index]) for key, values in verval["rows"].items()})
    tpk = doc["pendampingan_tpk_2025"]
    for index, d in enumerate(desa):
        _record(d, "pendampingan_tpk", 2025, DOC_000, month_from=tpk["month_from"], month_to=tpk["month_to"],
                **{key: _int(values[index]) if values[index] is not None else None for key, values in tpk["rows"].items()})
    table = "000 · Pelaksanaan pendampingan KRS oleh TPK Januari–September 2025 · baris TOTAL"
    from portal.blueprints.rumahdata.indicators import label
    for key, stated in tpk["total"].items():
        _statement(table, f"{label(key)}, TOTAL 4 desa", ids, "pendampingan_tpk", 2025, key, stated)
    pus = sum(_int(v) for v in verval["rows"]["target_pus"])
    shares = {key: sum(_int(v) for v in verval["rows"][key]) for key in ("too_young", "too_old", "too_close", "too_many")}
    words = {"TERLALU MUDA": "too_young", "TERLALU TUA": "too_old", "TERLALU DEKAT": "too_close", "TERLALU BANYAK": "too_many"}
    for item in tpk["conclusions"]:
        note = None
        for word, key in words.items():
            if item["label"].startswith(word):
                share = f"{100 * shares[key] / pus:.1f}".replace(".", ",")
                note = (f"Dokumen tidak menyebut penyebutnya. Sebagai pembanding: {shares[key]} dari {pus} keluarga PUS "
                        f"Verval KRS 2025 di empat desa = {share} %.")
        if item["key"] is None and note is None:
            note = "Dokumen tidak menyebut jumlah peserta KB, hanya persentasenya."
        _statement("000 · Kesimpulan hasil pendampingan", item["label"], ids, "pendampingan_tpk", 2025, item["key"],
                   item["stated"], note)

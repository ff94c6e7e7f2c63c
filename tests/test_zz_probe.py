from tests.test_office import *  # noqa
from tests.test_office import kb as kb  # noqa

def test_probe(kb):
    rows = [
        {"part": "I", "kegiatan": "A", "description": "Baris satu\nBaris dua", "schedule_text": "Mei"},
        {"part": "I", "kegiatan": "B", "target_unit": "keluarga", "schedule_text": "Mei"},
        {"part": "I", "kegiatan": "C", "target_count": 5, "target_unit": "org.", "schedule_text": "Mei"},
        {"part": "I", "kegiatan": "'=D", "schedule_text": "Mei"},
        {"part": "II", "kegiatan": "Posyandu", "schedule_text": HAND_TEXT, "frequency": "monthly",
         "start_date": date(2025, 1, 1), "end_date": date(2025, 6, 30)},
        {"part": "II", "kegiatan": "Posyandu", "schedule_text": HAND_TEXT, "frequency": "monthly",
         "start_date": date(2025, 7, 1), "end_date": date(2025, 12, 31)},
        {"part": "I", "kegiatan": "E\tF", "pelaksana": "x\x0by", "schedule_text": "Mei"},
        {"part": "I", "kegiatan": "G", "target_count": 1234567890, "schedule_text": "Mei"},
    ]
    plan = make_plan(kb["kampung"], kb["sekretaris"], rows=rows)
    for name, data in (("xlsx", office.to_xlsx(plan)), ("csv", office.to_csv(plan))):
        sheet, built = read_back(data, "x." + name)
        for orig, (item, row) in zip(originals(plan), built):
            new = comparable(row) if row else None
            if new != orig:
                print(name, "DIFF", item.errors, item.warnings)
                for k in orig:
                    if new is None or orig[k] != new[k]:
                        print("   ", k, repr(orig[k]), "->", repr(new and new[k]))

"""portal.charts: small SVG charts that need no JS, no inline styles and escape labels."""
import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from portal.charts import format_value, hbars, paired_bars, progress_bar

NS = "{http://www.w3.org/2000/svg}"
EVIL = '<script>alert("x")</script>'


def parse(svg):
    assert isinstance(svg, Markup)
    assert "style=" not in svg and "<style" not in svg and "<script" not in svg
    return ET.fromstring(str(svg))  # well-formed XML


def rects(root, cls):
    return [r for r in root.iter(f"{NS}rect") if cls in r.get("class", "").split()]


def texts(root, cls):
    return ["".join(t.itertext()) for t in root.iter(f"{NS}text")
            if cls in t.get("class", "").split()]


def check_accessible(root):
    assert root.get("role") == "img"
    title = root.find(f"{NS}title")
    assert title is not None and title.text
    assert root.get("aria-labelledby") == title.get("id")
    return title.text


def test_format_value():
    assert format_value(45.4) == "45%"
    assert format_value(44.5) == "45%"  # half up
    assert format_value(1250, unit="") == "1.250"
    assert format_value(1250000, unit="KK") == "1.250.000 KK"
    assert format_value(None) == "–"


def test_hbars_one_bar_per_item_with_values_and_target():
    items = [("Posyandu", 45, 80), ("PIK-R", 100), ("BKB", 12.6)]
    root = parse(hbars(items, title="Capaian per kegiatan"))
    assert check_accessible(root) == "Capaian per kegiatan"
    assert root.get("width") == "100%" and root.get("viewBox").startswith("0 0 320 ")
    assert len(rects(root, "bar")) == len(items)
    assert texts(root, "label") == ["Posyandu", "PIK-R", "BKB"]
    assert texts(root, "value") == ["45%", "100%", "13%"]
    assert len(root.findall(f".//{NS}line")) == 1

    bar_widths = [float(r.get("width")) for r in rects(root, "bar")]
    track = float(rects(root, "track")[0].get("width"))
    assert bar_widths[1] == pytest.approx(track)  # 100% fills the track
    assert bar_widths[0] == pytest.approx(track * 0.45, abs=0.1)
    assert float(root.find(f".//{NS}line").get("x1")) == pytest.approx(track * 0.8, abs=0.1)


def test_hbars_height_grows_with_items():
    def height(n):
        return float(parse(hbars([("x", 1)] * n)).get("viewBox").split()[3])
    assert height(1) < height(2) < height(5)


def test_hbars_counts_use_indonesian_thousands_and_scale_to_largest():
    root = parse(hbars([("Peserta", 1250), ("Target", 2500)], unit=""))
    assert texts(root, "value") == ["1.250", "2.500"]
    widths = [float(r.get("width")) for r in rects(root, "bar")]
    assert widths[0] == pytest.approx(widths[1] / 2, abs=0.1)


def test_hbars_max_value_caps_bars():
    root = parse(hbars([("Lebih", 150)], max_value=100))
    bar, track = rects(root, "bar")[0], rects(root, "track")[0]
    assert float(bar.get("width")) == float(track.get("width"))
    assert texts(root, "value") == ["150%"]


def test_hbars_zero_and_none():
    root = parse(hbars([("Nol", 0), ("Kosong", None)]))
    assert [float(r.get("width")) for r in rects(root, "bar")] == [0, 0]
    assert texts(root, "value") == ["0%", "–"]
    root = parse(hbars([("a", 0)], unit=""))  # all zero: no division by zero
    assert float(rects(root, "bar")[0].get("width")) == 0


def test_hbars_empty():
    root = parse(hbars([]))
    assert rects(root, "bar") == []
    assert texts(root, "empty") == ["Belum ada data"]


def test_labels_and_titles_are_escaped():
    svg = hbars([(EVIL, 10)], title=EVIL)
    assert "&lt;script&gt;" in svg
    root = parse(svg)
    assert check_accessible(root) == EVIL
    assert texts(root, "label")[0].startswith("<script>")
    for svg in (paired_bars([(EVIL, 1, 1)], title=EVIL), progress_bar(5, label=EVIL)):
        assert check_accessible(parse(svg)).startswith(EVIL)


def test_long_labels_are_shortened_with_the_full_text_as_tooltip():
    label = "Pelatihan kader Bina Keluarga Balita tingkat kecamatan dan kabupaten"
    root = parse(hbars([(label, 50)]))
    text = next(t for t in root.iter(f"{NS}text") if t.get("class") == "label")
    assert text.find(f"{NS}title").text == label
    assert "".join(text.itertext()).endswith("…")


def test_chart_ids_are_unique():
    ids = {parse(hbars([("a", 1)])).get("aria-labelledby") for _ in range(3)}
    assert len(ids) == 3


def test_paired_bars():
    items = [("APBDes", 1_000_000, 750_000), ("Swadaya", 0, 5_000), ("CSR", None, None),
             ("Dana Desa", 200_000, 300_000)]
    root = parse(paired_bars(items, title="Anggaran vs Realisasi"))
    assert check_accessible(root) == "Anggaran vs Realisasi"
    planned, actual = rects(root, "planned"), rects(root, "actual")
    planned = [r for r in planned if "bar" in r.get("class").split()]
    actual = [r for r in actual if "bar" in r.get("class").split()]
    assert len(planned) == len(actual) == len(items)
    assert {r.get("fill") for r in planned} == {"#cfe8dc"}
    assert {r.get("fill") for r in actual} == {"#0b6e4f"}
    assert texts(root, "value") == ["75%", "–", "–", "150%"]
    assert float(planned[0].get("width")) > float(actual[0].get("width")) > 0
    assert float(planned[1].get("width")) == 0 == float(planned[2].get("width"))
    assert texts(root, "key") == ["Anggaran", "Realisasi"]


def test_paired_bars_empty():
    root = parse(paired_bars([]))
    assert rects(root, "bar") == []


@pytest.mark.parametrize("percent, shown, fraction", [
    (45, "45%", 0.45), (0, "0%", 0), (100, "100%", 1), (130, "100%", 1), (-5, "0%", 0),
    (None, "–", 0),
])
def test_progress_bar(percent, shown, fraction):
    root = parse(progress_bar(percent, label="Posyandu"))
    assert check_accessible(root) == f"Posyandu: {shown}"
    assert texts(root, "value") == [shown]
    bar, track = rects(root, "bar")[0], rects(root, "track")[0]
    assert track.get("fill") == "#d9dee5"
    assert float(bar.get("width")) == pytest.approx(float(track.get("width")) * fraction)


def test_progress_bar_without_label_has_a_title():
    assert check_accessible(parse(progress_bar(20))) == "Progres 20%"

"""Tiny server-side SVG charts, safe under a CSP without 'unsafe-inline'.

No style attributes or <style> elements: colours are presentation attributes, layout hooks are
class names. Every label is escaped. Each chart has role="img" and a <title> it is labelled by;
the caller shows the same numbers in a table as the text equivalent.
"""
import itertools
import math

from markupsafe import Markup, escape

BRAND = "#0b6e4f"
LIGHT = "#cfe8dc"
GREY = "#d9dee5"
INK = "#1d2430"

CHAR_WIDTH = 7      # rough width of one 12px character, for layout only
LABEL_HEIGHT = 16   # label line above a bar
BAR_HEIGHT = 14
GAP = 10

_ids = itertools.count(1)


def _num(x):
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _round(value):
    return math.floor(value + 0.5)  # half up, unlike round()


def format_value(value, unit="%"):
    """45.4 → "45%"; with another unit 1250 → "1.250" (plus the unit when it is not empty)."""
    if value is None:
        return "–"
    if unit == "%":
        return f"{_round(value)}%"
    text = f"{_round(value):,}".replace(",", ".")
    return f"{text} {unit}" if unit else text


def _fit(label, width):
    """Cut a label to what fits on one line of ``width`` user units."""
    label = str(label)
    limit = max(int(width // CHAR_WIDTH), 4)
    return label if len(label) <= limit else label[:limit - 1] + "…"


def _svg(kind, width, height, title, body, size='width="100%"'):
    """``size``: by default the chart fills its container's width and keeps its aspect."""
    title_id = f"chart-{next(_ids)}-title"
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" role="img" '
        f'aria-labelledby="{title_id}" viewBox="0 0 {_num(width)} {_num(height)}" '
        f'{size} preserveAspectRatio="xMinYMin meet" '
        f'font-family="system-ui, sans-serif" font-size="12" fill="{INK}">'
        f'<title id="{title_id}">{escape(title)}</title>{"".join(body)}</svg>'
    )


def _text(x, y, content, anchor="start", cls="label", full=None):
    tooltip = f"<title>{escape(full)}</title>" if full and full != content else ""
    return (f'<text class="{cls}" x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}">'
            f'{tooltip}{escape(content)}</text>')


def _rect(cls, x, y, width, height, fill):
    return (f'<rect class="{cls}" x="{_num(x)}" y="{_num(y)}" width="{_num(max(width, 0))}" '
            f'height="{_num(height)}" fill="{fill}"/>')


def _scale(value, top, span):
    """Length of a bar for ``value`` on an axis from 0 to ``top`` drawn over ``span`` units."""
    if value is None or top <= 0:
        return 0
    return span * min(max(value, 0), top) / top


def hbars(items, width=320, unit="%", max_value=None, title=""):
    """Horizontal bars, one per ``(label, value)`` or ``(label, value, target)``."""
    rows = [(item[0], item[1], item[2] if len(item) > 2 else None) for item in items]
    values = [format_value(value, unit) for _, value, _ in rows]
    numbers = [n for _, value, target in rows for n in (value, target) if n is not None]
    if max_value is None:
        max_value = max(numbers, default=0)
        if unit == "%":
            max_value = max(max_value, 100)
    value_space = max((len(v) for v in values), default=1) * CHAR_WIDTH + 6
    span = width - value_space
    row_height = LABEL_HEIGHT + BAR_HEIGHT + GAP

    body = []
    for index, ((label, value, target), shown) in enumerate(zip(rows, values)):
        top = index * row_height
        bar_top = top + LABEL_HEIGHT
        length = _scale(value, max_value, span)
        body.append('<g class="item">')
        body.append(_text(0, top + 12, _fit(label, width), full=str(label)))
        body.append(_rect("track", 0, bar_top, span, BAR_HEIGHT, GREY))
        body.append(_rect("bar", 0, bar_top, length, BAR_HEIGHT, BRAND))
        if target is not None:
            x = _scale(target, max_value, span)
            body.append(f'<line class="target" x1="{_num(x)}" x2="{_num(x)}" '
                        f'y1="{_num(bar_top - 3)}" y2="{_num(bar_top + BAR_HEIGHT + 3)}" '
                        f'stroke="{INK}" stroke-width="2"/>')
        body.append(_text(length + 4, bar_top + 11, shown, cls="value"))
        body.append("</g>")
    if not rows:
        body.append(_text(0, 14, "Belum ada data", cls="empty"))
    height = max(len(rows) * row_height - GAP, 20)
    return _svg("hbars", width, height, title or "Diagram batang", body)


def _percent_of(actual, planned):
    if not planned or actual is None:
        return None
    return 100 * actual / planned


def paired_bars(items, title=""):
    """Anggaran vs Realisasi: per ``(label, planned, actual)`` a light planned bar, a dark
    actual bar, and actual as a percent of planned ("–" when nothing was planned)."""
    width, legend = 320, 24
    rows = [(label, planned, actual, format_value(_percent_of(actual, planned)))
            for label, planned, actual in items]
    top_value = max((n for _, p, a, _ in rows for n in (p, a) if n is not None), default=0)
    value_space = max((len(p) for *_, p in rows), default=1) * CHAR_WIDTH + 6
    span = width - value_space
    row_height = LABEL_HEIGHT + 2 * BAR_HEIGHT + 2 + GAP

    body = [
        _rect("key planned", 0, 2, 12, 12, LIGHT), _text(16, 12, "Anggaran", cls="key"),
        _rect("key actual", 90, 2, 12, 12, BRAND), _text(106, 12, "Realisasi", cls="key"),
    ]
    for index, (label, planned, actual, shown) in enumerate(rows):
        top = legend + index * row_height
        planned_top = top + LABEL_HEIGHT
        actual_top = planned_top + BAR_HEIGHT + 2
        body.append('<g class="item">')
        body.append(_text(0, top + 12, _fit(label, width), full=str(label)))
        body.append(_rect("bar planned", 0, planned_top, _scale(planned, top_value, span),
                          BAR_HEIGHT, LIGHT))
        body.append(_rect("bar actual", 0, actual_top, _scale(actual, top_value, span),
                          BAR_HEIGHT, BRAND))
        body.append(_text(width, actual_top + 11, shown, anchor="end", cls="value"))
        body.append("</g>")
    if not rows:
        body.append(_text(0, legend + 14, "Belum ada data", cls="empty"))
    height = legend + max(len(rows) * row_height - GAP, 20)
    return _svg("paired", width, height, title or "Anggaran dan realisasi", body)


def progress_bar(percent, label=""):
    """One small bar 0–100; None gives an empty grey bar with "–"."""
    span, width, height = 120, 160, 16
    shown = format_value(None if percent is None else min(max(percent, 0), 100))
    body = [
        _rect("track", 0, 2, span, 12, GREY),
        _rect("bar", 0, 2, _scale(percent, 100, span), 12, BRAND),
        _text(width, 13, shown, anchor="end", cls="value"),
    ]
    title = f"{label}: {shown}" if label else f"Progres {shown}"
    # Small and fixed: a table cell should not stretch it.
    return _svg("progress", width, height, title, body, f'width="{width}" height="{height}"')

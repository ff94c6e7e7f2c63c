"""Jinja filters and globals: Indonesian dates and the shared label vocabularies."""
from portal import labels

MONTHS = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni",
    "Juli", "Agustus", "September", "Oktober", "November", "Desember",
)


def tanggal(value):
    """23 November 2026; empty string for None."""
    if value is None:
        return ""
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def init_app(app):
    app.jinja_env.filters["tanggal"] = tanggal
    app.jinja_env.globals["labels"] = labels
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

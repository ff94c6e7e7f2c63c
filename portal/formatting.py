"""Jinja filters and globals: Indonesian dates and the shared label vocabularies."""
from markupsafe import Markup

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


def rupiah(amount):
    """Rp 1.298.900.000; empty string for None."""
    if amount is None:
        return ""
    from portal.blueprints.plans.reading import format_rupiah
    return format_rupiah(amount)


def angka(number):
    """1.500.000: a whole number with Indonesian thousands dots; empty string for None."""
    return "" if number is None else f"{number:,}".replace(",", ".")


def short_date(value):
    return f"{value.day} {MONTHS[value.month - 1][:3]} {value.year}" if value else ""


def schedule_summary(row):
    """"Bulanan (tiap 3) · 1 Mar 2025 – 31 Des 2025"; empty when nothing is structured."""
    parts = []
    if row.frequency:
        label = labels.FREQUENCIES[row.frequency]
        if row.interval and row.interval > 1:
            label += f" (tiap {row.interval})"
        parts.append(label)
    if row.week_of_month:
        parts.append(f"minggu ke-{row.week_of_month}")
    if row.weekday is not None:
        parts.append(labels.WEEKDAYS[row.weekday])
    if row.day_of_month:
        parts.append(f"tgl {row.day_of_month}")
    if row.start_time:
        parts.append(row.start_time.strftime("%H.%M"))
    if row.duration_days:
        parts.append(f"{row.duration_days} hari")
    if row.start_date and row.end_date:
        parts.append(f"{short_date(row.start_date)} – {short_date(row.end_date)}")
    return " · ".join(parts)


def local_moment(moment, zone):
    """A stored moment (naive means UTC, as SQLite gives it back) in the IANA zone ``zone``."""
    from datetime import timezone
    from zoneinfo import ZoneInfo
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(ZoneInfo(zone))


def tanggal_lokal(moment, zone):
    """"10 Maret 2026": the date of a stored moment where it happened."""
    return tanggal(local_moment(moment, zone)) if moment is not None else ""


def waktu(moment, zone):
    """"23 November 2026 pukul 14.05 WIB": a stored moment in the IANA zone ``zone``."""
    if moment is None:
        return ""
    local = local_moment(moment, zone)
    abbreviation = labels.TIMEZONES.get(zone, zone)
    return f"{tanggal(local)} pukul {local:%H.%M} {abbreviation}"


def csrf_field():
    """The hidden CSRF input for small forms that have no WTForms form object."""
    from flask_wtf.csrf import generate_csrf
    return Markup(f'<input type="hidden" name="csrf_token" value="{generate_csrf()}">')


def source_label(key):
    from portal.blueprints.plans.reading import SOURCE_TYPES
    return SOURCE_TYPES.get(key, key)


def init_app(app):
    from portal.blueprints.plans.reading import SOURCE_TYPES
    app.jinja_env.globals.update(csrf_field=csrf_field, source_label=source_label,
                                 source_types=SOURCE_TYPES, month_names=MONTHS)
    app.jinja_env.filters["rupiah"] = rupiah
    app.jinja_env.filters["angka"] = angka
    app.jinja_env.filters["schedule_summary"] = schedule_summary
    app.jinja_env.filters["tanggal"] = tanggal
    app.jinja_env.filters["waktu"] = waktu
    app.jinja_env.filters["tanggal_lokal"] = tanggal_lokal
    app.jinja_env.globals["labels"] = labels
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

"""Progress screens: one activity's page (status, occurrences, realisation), Kegiatan saya,
the Kampung KB dashboard and the area roll-ups.

Progress forms are plain POST + redirect (they work on any phone without JavaScript); the
occurrence buttons are one tap each.
"""
from datetime import date

from flask import Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from portal.blueprints.plans.reading import parse_rupiah
from portal.blueprints.kampung.services import get_kampung_or_404
from portal.blueprints.plans import printing
from portal.blueprints.progress import bp
from portal.blueprints.progress import laporan as lap
from portal.blueprints.progress.reports import cited_indicators
from portal.blueprints.progress.forms import RealisationForm, StatusForm
from portal.blueprints.progress.services import (
    ProgressConflict, ProgressError, activities, add_realisation, get_activity_or_404, is_in_force,
    mark_occurrence, may_update, set_status,
)
from portal.extensions import db
from portal.formatting import tanggal
from portal.models import Realisation
from portal.models.progress import MARKS, STATUSES
from portal.rendering import render
from portal.tables import MIMETYPES, safe_stem, to_xlsx
from portal.uploads import PhotoError, delete_photo, photo_path, save_photo


def _activity_page(plan, row, status=200, **state):
    activity = activities(plan, [row])[0]
    editable = may_update(row, current_user) and is_in_force(plan)
    status_form = state.pop("status_form", None) or StatusForm(
        status=activity.status, percent=activity.progress.percent if activity.progress else None,
        reason=activity.progress.reason if activity.progress else "",
        version=activity.progress.version if activity.progress else 0)
    realisation_form = state.pop("realisation_form", None) or RealisationForm(on=plan.kampung.today())
    return render("progress/activity.html", status=status, plan=plan, row=row, activity=activity,
                  editable=editable, in_force=is_in_force(plan), status_form=status_form,
                  realisation_form=realisation_form, statuses=STATUSES, marks=MARKS, **state)


@bp.route("/rencana/<int:plan_id>/kegiatan/<int:row_id>")
@login_required
def activity(plan_id, row_id):
    plan, row = get_activity_or_404(plan_id, row_id, current_user)
    return _activity_page(plan, row)


@bp.route("/rencana/<int:plan_id>/kegiatan/<int:row_id>/status", methods=["POST"])
@login_required
def update_status(plan_id, row_id):
    plan, row = get_activity_or_404(plan_id, row_id, current_user, update=True)
    form = StatusForm()
    if form.validate_on_submit():
        try:
            set_status(row, {"status": form.status.data, "percent": form.percent.data,
                             "reason": form.reason.data, "version": form.version.data}, by=current_user)
        except ProgressConflict as exc:
            db.session.rollback()
            # Saving again (after reading what is stored) overwrites it on purpose.
            current = exc.current.pop("version")
            form.version.data, form.version.raw_data = current, [str(current)]
            return _activity_page(plan, row, status=409, status_form=form, conflict=exc.current)
        except ProgressError as exc:
            db.session.rollback()
            getattr(form, exc.field or "status").errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"Status \u201c{row.kegiatan}\u201d disimpan.", "success")
            return redirect(_back(plan, row))
    return _activity_page(plan, row, status=422, status_form=form)


@bp.route("/rencana/<int:plan_id>/kegiatan/<int:row_id>/jadwal", methods=["POST"])
@login_required
def occurrence(plan_id, row_id):
    plan, row = get_activity_or_404(plan_id, row_id, current_user, update=True)
    try:
        original = date.fromisoformat(request.form.get("tanggal", ""))
        moved_to = date.fromisoformat(request.form["pindah_ke"]) if request.form.get("pindah_ke") else None
    except ValueError:
        return _activity_page(plan, row, status=422, occurrence_error="Tanggal tidak valid.")
    action = request.form.get("aksi", "")
    try:
        mark_occurrence(row, original, action, by=current_user, moved_to=moved_to, reason=request.form.get("alasan"))
    except ProgressError as exc:
        db.session.rollback()
        return _activity_page(plan, row, status=422, occurrence_error=str(exc), open_date=original,
                              open_action=action)
    db.session.commit()
    done = {"done": "ditandai terlaksana", "moved": "dipindah", "cancelled": "dibatalkan", "undo": "dikembalikan ke rencana"}
    flash(f"Jadwal {tanggal(original)} \u201c{row.kegiatan}\u201d {done.get(action, 'diperbarui')}.", "success")
    return redirect(_back(plan, row))


@bp.route("/rencana/<int:plan_id>/kegiatan/<int:row_id>/realisasi", methods=["POST"])
@login_required
def realisation(plan_id, row_id):
    plan, row = get_activity_or_404(plan_id, row_id, current_user, update=True)
    form = RealisationForm()
    spends, spend_errors = {}, {}
    for source in row.funding_sources:
        typed = request.form.get(f"dana_{source.type}", "").strip()
        if typed:
            try:
                spends[source.type] = parse_rupiah(typed)
            except ValueError as exc:
                spend_errors[source.type] = str(exc)
    if form.validate_on_submit() and not spend_errors:
        photo_name = None
        try:
            if form.photo.data:
                photo_name = save_photo(form.photo.data)
            add_realisation(row, {"on": form.on.data, "description": form.description.data,
                                  "people_reached": form.people_reached.data, "note": form.note.data,
                                  "spends": spends}, by=current_user, photo_name=photo_name)
        except PhotoError as exc:
            form.photo.errors.append(str(exc))
        except ProgressError as exc:
            db.session.rollback()
            if photo_name:
                delete_photo(photo_name)
            getattr(form, exc.field, form.description).errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"Realisasi \u201c{row.kegiatan}\u201d dicatat.", "success")
            return redirect(url_for("progress.activity", plan_id=plan.id, row_id=row.id))
    return _activity_page(plan, row, status=422, realisation_form=form, spend_errors=spend_errors,
                          spend_typed={k[5:]: v for k, v in request.form.items() if k.startswith("dana_")})


@bp.route("/realisasi/<int:item_id>/foto")
@bp.route("/realisasi/<int:item_id>/foto/<size>")
@login_required
def photo(item_id, size=""):
    """A realisation's photo, only for those who may read its plan."""
    from portal.blueprints.plans.services import get_plan_or_404
    from portal.models import Plan, PlanRow
    item = db.session.get(Realisation, item_id)
    if item is None:
        abort(404)
    plan_id = db.session.scalar(db.select(Plan.id).join(PlanRow).where(
        PlanRow.lineage == item.lineage).limit(1))
    if plan_id is None:
        abort(404)
    get_plan_or_404(plan_id, current_user)
    path = photo_path(item.photo, size)
    if path is None:
        abort(404)
    response = send_file(path, mimetype="image/webp", max_age=0)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


def _back(plan, row):
    """Where a one-tap update returns: Kegiatan saya when it came from there."""
    if request.form.get("kembali") == "saya":
        return url_for("progress.mine", kampung_id=plan.kampung_id)
    return url_for("progress.activity", plan_id=plan.id, row_id=row.id)


# -- Kegiatan saya and the dashboard ----------------------------------------------------------------

def _year_plan(kampung):
    """The requested (?tahun=) or current year's approved plan in force, else the latest one."""
    from portal.blueprints.progress.reports import plan_in_force, years_with_plans
    years = years_with_plans(kampung)
    year = request.args.get("tahun", type=int) or kampung.today().year
    if year not in years and years and "tahun" not in request.args:
        year = years[0]
    return plan_in_force(kampung, year), year, years


@bp.route("/kampung/<int:kampung_id>/kegiatan-saya")
@login_required
def mine(kampung_id):
    """The activities this user may update, overdue and this month's first, each with one-tap
    buttons for its due occurrences."""
    kampung = get_kampung_or_404(kampung_id, current_user)
    plan, year, years = _year_plan(kampung)
    items = []
    if plan is not None:
        rows = [r for r in plan.rows if may_update(r, current_user)]
        today = kampung.today()
        for a in activities(plan, rows):
            this_month = [o for o in a.upcoming if (o.date.year, o.date.month) == (today.year, today.month)]
            # Only what could have happened by now gets a tick button; later dates show as "berikutnya".
            due_now = [o for o in this_month if o.date <= today]
            rank = 0 if a.overdue else (1 if this_month else (3 if a.status in ("selesai", "dibatalkan") else 2))
            # This month's first, then what is overdue, most recent first.
            due = due_now + sorted(a.overdue, key=lambda o: o.date, reverse=True)
            items.append((rank, a.upcoming[0].date if a.upcoming else date.max, a, due))
        items.sort(key=lambda t: (t[0], t[1], t[2].row.part, t[2].row.position))
    return render("progress/mine.html", kampung=kampung, plan=plan, year=year, years=years,
                  items=[(a, due) for _r, _d, a, due in items], statuses=STATUSES)


@bp.route("/kampung/<int:kampung_id>/dasbor")
@login_required
def dashboard(kampung_id):
    from portal import charts
    from portal.blueprints.progress.reports import dashboard as dashboard_data
    from portal.tables import export_response
    kampung = get_kampung_or_404(kampung_id, current_user)
    plan, year, years = _year_plan(kampung)
    data = dashboard_data(plan) if plan is not None else None
    if data and (table := request.args.get("unduh")):
        name, _, fmt = table.partition(".")
        if name not in ("seksi", "part", "targets", "budget", "overdue", "upcoming"):
            abort(404)
        return export_response(data[name], fmt, f"dasbor-{name}-{kampung.id}-{year}")
    chart = None
    if data:
        data["cited"] = cited_indicators(kampung, data["activities"])
        chart = {
            "seksi": charts.hbars([(r["name"], r["percent"] or 0) for r in data["seksi"].rows],
                                  title="Rata-rata kemajuan per seksi", max_value=100),
            "budget": charts.paired_bars([(f"{r['source']} {r['detail']}".strip(), r["planned"], r["spent"])
                                          for r in data["budget"].rows], title="Anggaran dan realisasi"),
        }
    return render("progress/dashboard.html", kampung=kampung, plan=plan, year=year, years=years, data=data,
                  chart=chart)


@bp.route("/kampung/<int:kampung_id>/seksi/<seksi>")
@login_required
def seksi_page(kampung_id, seksi):
    """One seksi's own page: its head and members, its activities this year with progress,
    realisation and what is overdue. A section head lands here after signing in."""
    from portal.blueprints.progress.reports import seksi_overview
    from portal.models.pokja import SEKSI
    kampung = get_kampung_or_404(kampung_id, current_user)
    if seksi not in SEKSI:
        abort(404)
    plan, year, years = _year_plan(kampung)
    members = sorted((p for p in kampung.current_positions if p.seksi == seksi),
                     key=lambda p: (p.role != "ketua_seksi", p.person_name))
    overview = seksi_overview(plan, seksi) if plan is not None else None
    return render("progress/seksi.html", kampung=kampung, seksi=seksi, plan=plan, year=year, years=years,
                  members=members, overview=overview,
                  can_update=plan is not None and any(may_update(r, current_user) for r in plan.rows if r.seksi == seksi))


@bp.route("/kampung/<int:kampung_id>/laporan")
@login_required
def laporan(kampung_id):
    """Laporan kegiatan of one month or quarter (?periode=2026-03 or 2026-T1), on screen or as
    ?unduh=xlsx|pdf; ?cetak=1 gives the print view."""
    kampung = get_kampung_or_404(kampung_id, current_user)
    plan, year, years = _year_plan(kampung)
    period = lap.Period.parse(request.args.get("periode"), year) or lap.Period.containing(kampung.today(), year)
    table, summary = lap.report(plan, period) if plan is not None else (None, None)
    context = dict(kampung=kampung, plan=plan, year=year, years=years, period=period, periods=lap.periods(year),
                   table=table, summary=summary)
    fmt = request.args.get("unduh")
    if fmt or request.args.get("cetak"):
        if plan is None or fmt not in (None, "xlsx", "pdf"):
            abort(404)
        if fmt == "xlsx":
            body, mimetype = to_xlsx(table), MIMETYPES["xlsx"]
        else:
            html = render_template("progress/laporan_print.html", **context)
            if fmt is None:
                return html
            body, mimetype = printing.to_pdf(html), "application/pdf"
        stem = safe_stem(f"laporan-kegiatan-{kampung.name}-{period.key}")
        return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'})
    return render("progress/laporan.html", **context)


SORTABLE = ("kampung", "desa", "kecamatan", "status", "done_pct", "budget_pct", "overdue", "last_update")


@bp.route("/wilayah/<int:wilayah_id>/rekap")
@login_required
def rollup(wilayah_id):
    """Kampung KBs of a kecamatan or kabupaten (or province) for operators in scope and admins:
    sortable, filterable by kecamatan and plan status, each linking to its dashboard."""
    from flask import abort

    from portal import tables
    from portal.blueprints.progress.reports import by_kecamatan
    from portal.blueprints.progress.reports import kept_rollup
    from portal.models import Wilayah
    wilayah = db.session.get(Wilayah, wilayah_id)
    scope = current_user.operator_scope
    if wilayah is None or wilayah.level == "desa" or not (
            current_user.is_platform_admin or (scope is not None and scope.contains(wilayah))):
        abort(404)
    year = request.args.get("tahun", type=int) or date.today().year
    table = kept_rollup(wilayah, year)
    kecamatan, status = request.args.get("kecamatan", ""), request.args.get("status", "")
    all_rows = table.rows
    table.rows = [r for r in all_rows if (not kecamatan or r["kecamatan"] == kecamatan)
                  and (not status or r["status"] == status)]
    sort = request.args.get("urut", "kampung")
    sort = sort if sort in SORTABLE else "kampung"
    descending = request.args.get("arah") == "turun"
    table.rows.sort(key=lambda r: (r[sort] is None, r[sort] if r[sort] is not None else 0), reverse=descending)
    if descending:  # keep empty values last either way
        table.rows.sort(key=lambda r: r[sort] is None)
    summary = by_kecamatan(table) if wilayah.level in ("kabupaten", "provinsi") else None
    if (download := request.args.get("unduh")):
        name, _, fmt = download.partition(".")
        chosen = {"rekap": table, "kecamatan": summary}.get(name)
        if chosen is None:
            abort(404)
        return tables.export_response(chosen, fmt, f"rekap-{name}-{wilayah.id}-{year}")
    return render("progress/rollup.html", wilayah=wilayah, year=year, table=table, summary=summary,
                  kecamatans=sorted({r["kecamatan"] for r in all_rows if r["kecamatan"]}),
                  statuses=sorted({r["status"] for r in all_rows}), sort=sort, descending=descending,
                  kecamatan=kecamatan, status_filter=status)

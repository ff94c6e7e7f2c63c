"""Rumah Data screens: a region's figures, the entry form per period, roll-ups, import/export."""
from flask import abort, flash, redirect, request, url_for
from flask_login import current_user, login_required
from flask_wtf.file import FileField
from wtforms import IntegerField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, NumberRange

from portal.blueprints.plans import staging
from portal.blueprints.plans.sheets import MAX_UPLOAD_BYTES, SheetRefused
from portal.blueprints.rumahdata import bp, services, transfer
from portal.blueprints.rumahdata.figures import STATUSES, Dataset, change
from portal.blueprints.rumahdata.forms import DataForm, values_of
from portal.blueprints.rumahdata.indicators import (BY_KEY, COUNTS, DERIVED, GROUPS, ROUND_GROUPS,
                                                    in_group, round_label)
from portal.extensions import db
from portal.forms import Form, parse_int
from portal.labels import REQUIRED
from portal.models import DataRecord
from portal.models.rumahdata import ROUNDS
from portal.rendering import render
from portal.tables import export_response, safe_stem


def _periods(dataset):
    """(round, year) pairs with records anywhere in the tree, newest first."""
    rows = db.session.execute(db.select(DataRecord.round, DataRecord.year).where(
        DataRecord.wilayah_id.in_(list(dataset.wilayah))).distinct()).all()
    order = list(ROUNDS)
    return sorted(rows, key=lambda p: (-p[1], order.index(p[0])))


def _chosen(periods):
    round_, year = request.args.get("putaran"), request.args.get("tahun", type=int)
    if request.args.get("periode"):
        round_, _, text = request.args["periode"].partition(":")
        year = parse_int(text)
    if round_ is not None and round_ not in ROUNDS:
        abort(404)
    if round_ and year:
        return round_, year
    if round_:
        return next(((r, y) for r, y in periods if r == round_), (round_, None))
    return periods[0] if periods else (None, None)


def _lines(figures, previous, groups):
    """Per group: [(key, label, unit, value, previous value, change, better, derived?)]."""
    out = []
    for group in groups:
        lines = []
        for indicator in in_group(group):
            now, then = figures.counts.get(indicator.key), previous.counts.get(indicator.key) if previous else None
            lines.append({"key": indicator.key, "label": indicator.label, "unit": indicator.unit, "value": now,
                          "previous": then, "change": change(now, then), "better": indicator.better,
                          "mismatch": figures.mismatch(indicator.key)})
        for key, (title, g, _n, _d, good) in DERIVED.items():
            if g != group:
                continue
            now, then = figures.derived.get(key), previous.derived.get(key) if previous else None
            lines.append({"key": key, "label": title, "unit": "" if key == "not_at_risk" else "%", "value": now,
                          "previous": then, "change": change(now, then), "better": good, "derived": True,
                          "from_document": key == "prevalence" and figures.prevalence_from_document})
        lines = [line for line in lines if line["value"] is not None or line["previous"] is not None]
        if lines:
            out.append((group, GROUPS[group], lines))
    return out


@bp.app_template_filter("indicator_label")
def indicator_label(key):
    from portal.blueprints.rumahdata.indicators import label
    return label(key)


@bp.app_template_filter("change_of")
def change_of(now, before):
    return change(now, before)


@bp.route("/wilayah/<int:wilayah_id>/data")
@login_required
def show(wilayah_id):
    wilayah = services.get_wilayah_or_404(wilayah_id, current_user)
    # A desa's page also checks what documents state about it together with regions outside its
    # tree (the 000 deck's totals over four desa without a kecamatan).
    together = services.named_with(wilayah) if wilayah.level == "desa" else []
    dataset = Dataset([wilayah, *together])
    periods = _periods(dataset) if not together else _periods(Dataset([wilayah]))
    round_, year = _chosen(periods)
    context = dict(wilayah=wilayah, periods=periods, round=round_, year=year, rounds=ROUNDS,
                   kampung=services.kampung_of(wilayah), can_edit=services.can_edit(current_user, wilayah),
                   round_label=round_label, statuses=STATUSES, zone=services.zone_of(wilayah))
    if round_ is None or year is None:
        return render("rumahdata/show.html", figures=None, **context)
    figures = dataset.figures(wilayah.id, round_, year)
    # The previous period is the region's own tree's, not that of regions a document names with it.
    own = Dataset([wilayah]) if together else dataset
    before = own.previous_year(round_, year)
    previous = own.figures(wilayah.id, round_, before) if before else None
    record = figures.record
    label_now = round_label(round_, year, record.month_from if record else None, record.month_to if record else None)
    groups = [g for g in GROUPS if g in ROUND_GROUPS[round_]] + [g for g in GROUPS if g not in ROUND_GROUPS[round_]]
    warnings = []
    if record is not None:
        _errors, soft = services.validate(record.values())
        warnings = [(BY_KEY[k].label, m) for k, m in soft.items()]
    checks = dataset.statements(round_=round_, year=year)
    if wilayah.level == "desa":
        checks = [c for c in checks if wilayah.id in c.statement.wilayah_ids]
    children = changes = summary = None
    if wilayah.level != "desa":
        kids = dataset.children.get(wilayah.id, [])
        children = [(w, dataset.figures(w.id, round_, year), dataset.figures(w.id, round_, before) if before else None)
                    for w in kids]
        children = [c for c in children if c[1].has_data or (c[2] and c[2].has_data)]
        if before:
            changes = dataset.desa_changes(wilayah.id, round_, year, before)
            summary = dataset.summary(wilayah.id, round_, year, before)
    return render("rumahdata/show.html", figures=figures, previous=previous, before=before, label_now=label_now,
                  groups=_lines(figures, previous, groups), warnings=warnings, checks=checks,
                  children=children, changes=changes, summary=summary, **context)


class PeriodForm(Form):
    round = SelectField("Putaran", choices=[SelectChoice(k, v) for k, v in ROUNDS.items()])
    year = IntegerField("Tahun", validators=[DataRequired(REQUIRED), NumberRange(2000, 2100, "Tahun 2000 sampai 2100.")])


@bp.route("/wilayah/<int:wilayah_id>/data/baru")
@login_required
def new(wilayah_id):
    """Choose the period to fill in; goes to its form (the figures already there, if any)."""
    wilayah = services.get_wilayah_or_404(wilayah_id, current_user, edit=True)
    form = PeriodForm(request.args, meta={"csrf": False})
    if request.args and form.validate():
        return redirect(url_for("rumahdata.edit", wilayah_id=wilayah.id, round_=form.round.data, year=form.year.data))
    if not request.args:
        kampung = services.kampung_of(wilayah)
        form.year.data = kampung.today().year if kampung else None
    return render("rumahdata/new.html", status=422 if form.errors else 200, wilayah=wilayah, form=form)


@bp.route("/wilayah/<int:wilayah_id>/data/<round_>/<int:year>", methods=["GET", "POST"])
@login_required
def edit(wilayah_id, round_, year):
    wilayah = services.get_wilayah_or_404(wilayah_id, current_user, edit=True)
    services.check_period(round_, year)
    record = services.record_of(wilayah, round_, year)
    form = DataForm(obj=record if request.method == "GET" else None)
    if request.method == "GET" and record is None and round_ == "pendampingan_tpk":
        form.month_from.data, form.month_to.data = 1, 12
    conflict = None
    if request.method == "POST" and form.validate():
        values = values_of(form)
        months = (form.month_from.data, form.month_to.data) if round_ == "pendampingan_tpk" else (None, None)
        errors, warnings = services.validate(values, *months)
        for key, message in errors.items():
            form[key].errors = list(form[key].errors) + [message]
        if not errors:
            version = parse_int(form.version.data)
            if record is not None and version is None:
                version = -1  # the form was opened before the period existed: someone created it meanwhile
            try:
                services.save(wilayah, round_, year, values, current_user, version=version,
                              month_from=months[0], month_to=months[1], note=form.note.data or "")
            except services.DataConflict as exc:
                conflict = {"record": exc.current, "differences": services.differences(exc.current, values)}
                form.version.data = str(exc.current.version)
            else:
                db.session.commit()
                flash(f"Data {round_label(round_, year, *months)} {wilayah.display_name} disimpan.", "success")
                for key, message in warnings.items():
                    flash(f"{BY_KEY[key].label}: {message}", "warning")
                return redirect(url_for("rumahdata.show", wilayah_id=wilayah.id, putaran=round_, tahun=year))
    elif request.method == "GET" and record is not None:
        form.version.data = str(record.version)
    groups = [g for g in GROUPS if g in ROUND_GROUPS[round_]] + [g for g in GROUPS if g not in ROUND_GROUPS[round_]]
    status = 409 if conflict else (422 if form.errors else 200)
    return render("rumahdata/edit.html", status=status, wilayah=wilayah, form=form, record=record, round=round_,
                  year=year, title=round_label(round_, year), groups=[(g, GROUPS[g], in_group(g)) for g in groups],
                  open_groups=ROUND_GROUPS[round_], conflict=conflict, kampung=services.kampung_of(wilayah),
                  zone=services.zone_of(wilayah))


@bp.route("/wilayah/<int:wilayah_id>/data/unduh.<fmt>")
@login_required
def download(wilayah_id, fmt):
    wilayah = services.get_wilayah_or_404(wilayah_id, current_user)
    if fmt not in ("csv", "xlsx"):
        abort(404)
    round_ = request.args.get("putaran") or None
    if round_ is not None and round_ not in ROUNDS:
        abort(404)
    year = request.args.get("tahun", type=int)
    records = transfer.records_under(wilayah, round_, year)
    period = round_label(round_, year) if round_ and year else "semua periode"
    title = f"Rumah Data {wilayah.display_name} {period}"
    return export_response(transfer.table(records, title), fmt, safe_stem(f"rumah-data-{wilayah.name}-{period}"))


class UploadForm(Form):
    file = FileField("Berkas Excel (.xlsx) atau CSV")


@bp.route("/wilayah/<int:wilayah_id>/data/impor", methods=["GET", "POST"])
@login_required
def import_upload(wilayah_id):
    wilayah = services.get_wilayah_or_404(wilayah_id, current_user, edit=True)
    form = UploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read(MAX_UPLOAD_BYTES + 1) if upload else b""
        try:
            if not data:
                raise SheetRefused("Pilih berkas Excel (.xlsx) atau CSV.")
            transfer.read(data, wilayah, current_user)
        except SheetRefused as exc:
            form.file.errors = [str(exc)]
        else:
            name = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1][:120] or "berkas"
            token = staging.stage(data, filename=name, user_id=current_user.id, scope=f"wilayah:{wilayah.id}")
            return redirect(url_for("rumahdata.import_preview", wilayah_id=wilayah.id, token=token))
    return render("rumahdata/import.html", status=422 if form.errors else 200, wilayah=wilayah, form=form,
                  head=transfer.HEAD, counts=COUNTS)


@bp.route("/wilayah/<int:wilayah_id>/data/impor/<token>", methods=["GET", "POST"])
@login_required
def import_preview(wilayah_id, token):
    wilayah = services.get_wilayah_or_404(wilayah_id, current_user, edit=True)
    staged = staging.load(token, user_id=current_user.id, scope=f"wilayah:{wilayah.id}")
    if staged is None:
        flash("Berkas yang diunggah sudah tidak tersedia (kedaluwarsa atau sudah diimpor). Unggah lagi.", "error")
        return redirect(url_for("rumahdata.import_upload", wilayah_id=wilayah.id))
    data, record = staged
    upload = transfer.read(data, wilayah, current_user)
    if request.method == "POST":
        if request.form.get("batal"):
            staging.discard(token)
            flash("Impor dibatalkan; tidak ada yang disimpan.", "success")
            return redirect(url_for("rumahdata.show", wilayah_id=wilayah.id))
        if upload.errors:
            return render("rumahdata/import_preview.html", status=422, wilayah=wilayah, upload=upload, record=record,
                          token=token, round_label=round_label)
        count = transfer.apply(upload, current_user)
        db.session.commit()
        staging.discard(token)
        flash(f"{count} baris data diimpor.", "success")
        return redirect(url_for("rumahdata.show", wilayah_id=wilayah.id))
    return render("rumahdata/import_preview.html", wilayah=wilayah, upload=upload, record=record, token=token,
                  round_label=round_label)

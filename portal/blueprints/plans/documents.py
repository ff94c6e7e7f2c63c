"""A plan in and out of office formats: the spreadsheet import with its preview, the XLSX/CSV/
JSON downloads, the print view and its PDF.

Import is three steps and two URLs: the upload form posts the file, which is staged and
redirects to its preview (so a reload never uploads again); the preview's button confirms.
"""
from flask import Response, abort, flash, redirect, request, url_for
from flask_login import current_user, login_required
from flask_wtf.file import FileField
from wtforms import IntegerField
from wtforms.validators import DataRequired, NumberRange

from portal.blueprints.kampung.services import get_kampung_or_404
from portal.blueprints.plans import bp, office, printing, sheets, staging
from portal.blueprints.plans.services import (
    PlanError, get_plan_or_404, import_sheet, import_target, sheet_rows,
)
from portal.extensions import db
from portal.forms import Form
from portal.labels import REQUIRED
from portal.models import workflow
from portal.models import Plan
from portal.models.plan import PARTS
from portal.rendering import render
from portal.tables import MIMETYPES, safe_stem


class ImportForm(Form):
    year = IntegerField("Tahun rencana", validators=[DataRequired(REQUIRED), NumberRange(2000, 2100)])
    file = FileField("Berkas Excel (.xlsx) atau CSV")


@bp.route("/kampung/<int:kampung_id>/rencana/impor", methods=["GET", "POST"])
@login_required
def import_upload(kampung_id):
    kampung = get_kampung_or_404(kampung_id, current_user, "can_manage_roster")
    form = ImportForm()
    if request.method == "GET":
        form.year.data = request.args.get("tahun", type=int) or (
            kampung.today().year + (1 if kampung.today().month >= 10 else 0))
    elif form.validate_on_submit():
        upload = form.file.data
        data = upload.read(sheets.MAX_UPLOAD_BYTES + 1) if upload else b""
        try:
            if not data:
                raise sheets.SheetRefused("Pilih berkas Excel (.xlsx) atau CSV.")
            sheets.read_file(data, upload.filename or "")
        except sheets.SheetRefused as exc:
            form.file.errors = [str(exc)]
        else:
            token = staging.stage(data, filename=_filename(upload.filename), user_id=current_user.id,
                                  scope=f"kampung:{kampung.id}", year=form.year.data)
            return redirect(url_for("plans.import_preview", kampung_id=kampung.id, token=token))
    return render("plans/import.html", status=422 if form.errors else 200, kampung=kampung, form=form,
                  columns=sheets.COLUMNS)


def _filename(name):
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return name[:120] or "berkas"


@bp.route("/kampung/<int:kampung_id>/rencana/impor/<token>", methods=["GET", "POST"])
@login_required
def import_preview(kampung_id, token):
    """GET shows what the staged file becomes; POST imports it (all rows or none) or, with
    ``batal``, discards it."""
    kampung = get_kampung_or_404(kampung_id, current_user, "can_manage_roster")
    staged = staging.load(token, user_id=current_user.id, scope=f"kampung:{kampung.id}")
    if staged is None:
        flash("Berkas yang diunggah sudah tidak tersedia (kedaluwarsa atau sudah diimpor). Unggah lagi.", "error")
        return redirect(url_for("plans.import_upload", kampung_id=kampung.id))
    data, record = staged
    year = record["year"]
    sheet = sheets.read_file(data, record["filename"])
    if request.method == "POST":
        if request.form.get("batal"):
            staging.discard(token)
            flash("Impor dibatalkan; tidak ada yang disimpan.", "success")
            return redirect(url_for("plans.index", kampung_id=kampung.id))
        target, _refusal = import_target(kampung, year)
        if target is not None and not target.can_edit(current_user):
            abort(403)
        try:
            plan = import_sheet(sheet, kampung, year, by=current_user)
        except PlanError as exc:
            db.session.rollback()
            return _preview(kampung, token, record, sheet, status=422, refused=str(exc))
        db.session.commit()
        staging.discard(token)
        count = len(sheet.rows)
        flash(f"{count} kegiatan diimpor ke {plan.title} (draf). Periksa kegiatan bertanda "
              "\u201cperlu dilengkapi\u201d.", "success")
        return redirect(url_for("plans.show", plan_id=plan.id))
    return _preview(kampung, token, record, sheet)


def _preview(kampung, token, record, sheet, status=200, refused=None):
    year = record["year"]
    built = sheet_rows(sheet, year)
    target, refusal = import_target(kampung, year)
    parts = [(key, title, [(item, row) for item, row in built if item.part == key]) for key, (title, _s) in PARTS.items()]
    unplaced = [(item, row) for item, row in built if item.part not in PARTS]
    flagged = sum(1 for item, row in built if row is not None and
                  (row.schedule_needs_completion or row.funding_problems or item.warnings))
    return render("plans/import_preview.html", status=status, kampung=kampung, token=token, record=record,
                  sheet=sheet, parts=parts, unplaced=unplaced, target=target, refusal=refusal or refused,
                  errors=sum(1 for _i, row in built if row is None), flagged=flagged, total=len(built),
                  workflow=workflow)


@bp.route("/kampung/<int:kampung_id>/rencana/contoh.xlsx")
@login_required
def import_template(kampung_id):
    """An empty plan in the form's layout (the six parts, no rows) to fill in and import."""
    kampung = get_kampung_or_404(kampung_id, current_user)
    year = request.args.get("tahun", type=int) or kampung.today().year
    blank = Plan(kampung=kampung, year=year if 2000 <= year <= 2100 else kampung.today().year,
                 status=workflow.INITIAL, revision=0)  # transient: never added to the session
    return Response(office.to_xlsx(blank), mimetype=MIMETYPES["xlsx"], headers={
        "Content-Disposition": f'attachment; filename="contoh-rencana-kegiatan-{blank.year}.xlsx"'})


# -- export -------------------------------------------------------------------------------------

@bp.route("/rencana/<int:plan_id>/unduh.<fmt>")
@login_required
def download(plan_id, fmt):
    plan = get_plan_or_404(plan_id, current_user)
    stem = safe_stem(f"rencana-kegiatan-{plan.kampung.name}-{plan.year}" +
                     (f"-revisi-{plan.revision}" if plan.revision else ""))
    made = printing.plan_file(plan, fmt)
    if made is None:
        abort(404)
    body, mimetype = made
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'})


@bp.route("/rencana/<int:plan_id>/cetak")
@login_required
def print_view(plan_id):
    """The form as printed: the browser's print dialog gives the same page as the PDF."""
    plan = get_plan_or_404(plan_id, current_user)
    return printing.print_html(plan)

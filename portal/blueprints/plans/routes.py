"""Rencana Kegiatan screens: the plans of a Kampung KB, and one plan's page.

The plan page is one template. Filters are a GET form whose query string is the URL (shareable,
back button works); htmx swaps only the ``plan_body`` block. A row change answers with the
changed part and the totals as an out-of-band swap (``part_changed`` block).
"""
from flask import abort, flash, json, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal import audit, fragments
from portal.blueprints.kampung.services import get_kampung_or_404
from portal.blueprints.plans import approval, bp, content
from portal.models import workflow
from portal.blueprints.plans.forms import PlanCreateForm, RowForm
from portal.blueprints.plans.services import (
    Filters, PlanError, RowConflict, add_row, copy_previous_year, create_plan, delete_row,
    get_plan_or_404, get_row_or_404, load_rows, move_row, parts_view, plans_of, source_totals,
    update_row,
)
from portal.extensions import db, htmx
from portal.models.data_version import data_versions
from portal.models.plan import PARTS
from portal.rendering import render


@bp.route("/kampung/<int:kampung_id>/rencana", methods=["GET", "POST"])
@login_required
def index(kampung_id):
    kampung = get_kampung_or_404(kampung_id, current_user)
    may_create = kampung.can_manage_roster(current_user)
    form = PlanCreateForm()
    if request.method == "POST":
        kampung = get_kampung_or_404(kampung_id, current_user, "can_manage_roster")
        if form.validate_on_submit():
            make = copy_previous_year if form.copy_previous.data else create_plan
            try:
                plan = make(kampung, form.year.data, by=current_user)
            except PlanError as exc:
                form.year.errors.append(str(exc))
            else:
                db.session.commit()
                flash(f"{plan.title} dibuat sebagai draf.", "success")
                return redirect(url_for("plans.show", plan_id=plan.id))
    elif not form.year.data:
        form.year.data = kampung.today().year + (1 if kampung.today().month >= 10 else 0)
    plans = plans_of(kampung)
    in_force = {approval.in_force([p for p in plans if p.year == year]) for year in {p.year for p in plans}}
    return render("plans/index.html", status=422 if form.errors else 200, kampung=kampung,
                  plans=plans, in_force=in_force, form=form, may_create=may_create, workflow=workflow)


def _page(plan, status=200, block="plan_body", **state):
    filters = Filters.from_args(request.args)
    can_edit = plan.can_edit(current_user)
    page = dict(plan=plan, filters=filters, can_edit=can_edit, workflow=workflow, parts_all=PARTS)
    data = _data_key(plan)
    if state:  # a form, a message or a conflict inside the table: drawn for this request only
        page |= _body(plan, filters, can_edit)
    else:
        key = ("plan-body", *data, can_edit, filters.as_key())
        html = fragments.cache().get_or_make(key, lambda: render_template(
            "plans/_plan_body.html", **_body(plan, filters, can_edit), csrf_field=fragments.placeholder_csrf_field))
        page["body_html"] = fragments.with_viewer_token(html)
    return render("plans/plan.html", block=block, status=status, approval_state=_approval_state(plan, data),
                  **page, **state)


def _body(plan, filters, can_edit):
    """What the table and the totals show."""
    load_rows(plan)
    parts = parts_view(plan, filters)
    shown = [r for p in parts for r in p["rows"]]
    return dict(plan=plan, filters=filters, can_edit=can_edit, parts=parts, totals=source_totals(shown),
                grand_total=sum(p["total"] for p in parts), shown_count=len(shown))


def _data_key(plan):
    """The plan as of its Kampung KB's data version (a reused id never matches: created_at)."""
    return plan.id, plan.created_at, plan.status, plan.submission, data_versions([plan.kampung_id]).get(plan.kampung_id)


def _approval_state(plan, data):
    """What the status panel shows: versions of the year, signatures, what the user may do."""
    all_versions = approval.versions(plan)
    in_force = approval.in_force(all_versions)
    pending = approval.open_revision(all_versions)
    may_revise = (plan is in_force and pending is None and plan.kampung.can_manage_roster(current_user))
    signatures = plan.current_signatures()
    if signatures and plan.status == "disetujui":
        # Signed content that no longer hashes to its signature was changed outside the portal.
        current = fragments.cache().get_or_make(("plan-hash", *data),
                                                lambda: content.content_hash(load_rows(plan)))
        tampered = any(s.content_hash != current for s in signatures.values())
    else:
        tampered = False
    return {
        "tampered": tampered,
        "in_force": in_force, "pending": pending if pending is not plan else None,
        "superseded": plan.status == "disetujui" and in_force is not plan,
        "signatures": signatures, "actions": workflow.available(plan, current_user),
        "signs_on_submit": workflow.signs_on_submit(plan, current_user), "may_revise": may_revise,
    }


@bp.route("/rencana/<int:plan_id>")
@login_required
def show(plan_id):
    inline = any(name in request.args for name in ("tambah", "ubah", "hapus"))
    plan = get_plan_or_404(plan_id, current_user, with_rows=inline)  # else only if not cached
    state = _inline_form_from_query(plan) if plan.can_edit(current_user) else {}
    if (part := request.args.get("bagian")) in PARTS:
        state.setdefault("target_part", part)
    # Links inside a part (Ubah, Tambah, Batal) target that part: answer with it alone.
    return _page(plan, block="part_changed" if "target_part" in state else "plan_body", **state)


def _inline_form_from_query(plan):
    """?tambah=<part>, ?ubah=<row id>, ?hapus=<row id> open a form in place (?bagian=<part>
    closes it again)."""
    if (part := request.args.get("tambah")) in PARTS:
        form = RowForm(part=part)
        return {"mode": "add", "target_part": part, "form": form}
    if (row_id := request.args.get("ubah", type=int)) is not None:
        row = get_row_or_404(plan, row_id)
        return {"mode": "edit", "target": row, "target_part": row.part, "form": _row_form(row)}
    if (row_id := request.args.get("hapus", type=int)) is not None:
        row = get_row_or_404(plan, row_id)
        return {"mode": "delete", "target": row, "target_part": row.part}
    return {}


def _row_form(row):
    form = RowForm(obj=row)
    form.schedule_read_from.data = row.schedule_text or ""
    return form


def _changed(plan, part, message):
    """After a row change: commit, then the changed part (+ totals out of band) for htmx, or a
    redirect back to the page with the same filters."""
    db.session.commit()
    if htmx:
        db.session.refresh(plan)
        return _page(plan, block="part_changed", target_part=part, saved_message=message)
    flash(message, "success")
    return redirect(url_for("plans.show", plan_id=plan.id, **Filters.from_args(request.args).as_args()))


@bp.route("/rencana/<int:plan_id>/baris", methods=["POST"])
@login_required
def add(plan_id):
    plan = get_plan_or_404(plan_id, current_user, "can_edit")
    form = RowForm()
    if form.part.data not in PARTS:
        abort(400)  # the part comes from the "Tambah kegiatan" button of a part, never typed
    if form.validate_on_submit():
        try:
            row = add_row(plan, form.for_service(), by=current_user)
        except PlanError as exc:
            db.session.rollback()
            getattr(form, exc.field or "kegiatan").errors.append(str(exc))
        else:
            return _changed(plan, row.part, f"Kegiatan \u201c{row.kegiatan}\u201d ditambahkan ke bagian {row.part}.")
    plan = get_plan_or_404(plan_id, current_user, "can_edit")
    return _page(plan, status=422, block="part_changed", mode="add", target_part=form.part.data, form=form)


@bp.route("/rencana/<int:plan_id>/baris/<int:row_id>", methods=["POST"])
@login_required
def update(plan_id, row_id):
    plan = get_plan_or_404(plan_id, current_user, "can_edit")
    row = get_row_or_404(plan, row_id)
    old_part = row.part
    form = RowForm()
    conflict = None
    if form.validate_on_submit():
        try:
            update_row(row, form.for_service(), by=current_user)
        except RowConflict as exc:
            conflict = exc.current
            form.version.data = row.version
            form.version.raw_data = [str(row.version)]
        except PlanError as exc:
            db.session.rollback()
            getattr(form, exc.field or "kegiatan").errors.append(str(exc))
        else:
            if row.part != old_part and htmx:
                db.session.commit()
                return _page(plan, saved_message=f"\u201c{row.kegiatan}\u201d dipindah ke bagian {row.part}.")
            return _changed(plan, row.part, f"Kegiatan \u201c{row.kegiatan}\u201d disimpan.")
    plan = get_plan_or_404(plan_id, current_user, "can_edit")
    row = get_row_or_404(plan, row_id)
    return _page(plan, status=409 if conflict else 422, block="part_changed", mode="edit", target=row,
                 target_part=row.part, form=form, conflict=conflict)


@bp.route("/rencana/<int:plan_id>/baris/<int:row_id>/hapus", methods=["POST"])
@login_required
def delete(plan_id, row_id):
    plan = get_plan_or_404(plan_id, current_user, "can_edit")
    row = get_row_or_404(plan, row_id)
    part, name = row.part, row.kegiatan
    delete_row(row, by=current_user)
    return _changed(plan, part, f"Kegiatan \u201c{name}\u201d dihapus.")


@bp.route("/rencana/<int:plan_id>/baris/<int:row_id>/pindah", methods=["POST"])
@login_required
def move(plan_id, row_id):
    plan = get_plan_or_404(plan_id, current_user, "can_edit")
    row = get_row_or_404(plan, row_id)
    move_row(row, -1 if request.form.get("arah") == "naik" else 1, by=current_user)
    return _changed(plan, row.part, f"Urutan \u201c{row.kegiatan}\u201d diubah.")


@bp.route("/rencana/<int:plan_id>/aksi/<name>", methods=["POST"])
@login_required
def transition(plan_id, name):
    """Submit, countersign, return or approve. A refusal (role or state) answers 409 with the
    reason; a wrong password or missing note 422 with the message beside the field."""
    plan = get_plan_or_404(plan_id, current_user)
    if name not in workflow.TRANSITIONS:
        abort(404)
    try:
        approval.perform(plan, name, current_user, password=request.form.get("password"),
                         note=request.form.get("note"))
    except approval.TransitionRefused as exc:
        db.session.rollback()
        return _page(get_plan_or_404(plan_id, current_user), status=409, block=None, refused=str(exc))
    except PlanError as exc:
        db.session.rollback()
        plan = get_plan_or_404(plan_id, current_user)
        return _page(plan, status=422, block=None, action_name=name,
                     action_error={exc.field: str(exc)}, action_note=request.form.get("note", ""))
    db.session.commit()
    flash(workflow.TRANSITIONS[name].done, "success")
    return redirect(url_for("plans.show", plan_id=plan.id))


@bp.route("/rencana/<int:plan_id>/revisi", methods=["POST"])
@login_required
def revise(plan_id):
    plan = get_plan_or_404(plan_id, current_user)
    if not plan.kampung.can_manage_roster(current_user):
        abort(403)
    try:
        revision = approval.create_revision(plan, by=current_user)
    except PlanError as exc:
        db.session.rollback()
        return _page(get_plan_or_404(plan_id, current_user), status=409, block=None, refused=str(exc))
    db.session.commit()
    flash(f"{revision.title} dibuat sebagai draf. {plan.title} tetap berlaku sampai revisi disetujui.", "success")
    return redirect(url_for("plans.show", plan_id=revision.id))


@bp.route("/rencana/<int:plan_id>/perbandingan")
@login_required
def compare(plan_id):
    """A revision beside the version it revises, field by field."""
    plan = get_plan_or_404(plan_id, current_user)
    if plan.revises is None:
        abort(404)
    return render("plans/compare.html", plan=plan, old=plan.revises, changes=approval.comparison(plan),
                  workflow=workflow)


@bp.route("/rencana/<int:plan_id>/riwayat")
@login_required
def history(plan_id):
    plan = get_plan_or_404(plan_id, current_user)
    entries = audit.entries_for_plan(plan)
    return render("plans/history.html", plan=plan, entries=list(reversed(entries)), chain=audit.check(entries),
                  actions=audit.ACTIONS, changes_of=lambda e: json.loads(e.changes) if e.changes else {})

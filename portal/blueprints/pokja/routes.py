"""Struktur Pokja: one screen; its roster region is swapped in place by htmx.

Every link and form works without JavaScript too (query parameters open the inline forms, POSTs
redirect back); with htmx the server answers with just the ``roster`` block.
"""
from flask import flash, redirect, request, url_for
from flask_login import current_user, login_required

from portal.blueprints.kampung.services import get_kampung_or_404
from portal.blueprints.pokja import bp
from portal.blueprints.pokja.forms import EndPositionForm, NewPositionForm, PositionForm
from portal.blueprints.pokja.services import (
    PokjaConflict, PokjaError, add_position, end_position, get_position_or_404, group_by_key, group_key_for,
    history, roster_groups, update_position,
)
from portal.extensions import db, htmx
from portal.formatting import tanggal
from portal.rendering import render


def _screen(kampung, status=200, **state):
    return render(
        "pokja/struktur.html", block="roster", status=status, kampung=kampung,
        groups=roster_groups(kampung), history=history(kampung),
        can_manage=kampung.can_manage_roster(current_user), **state,
    )


def _saved(kampung, position, message):
    db.session.commit()
    if htmx:
        # The message goes into the group that changed, where the user is looking.
        return _screen(kampung, saved_message=message, saved_group=group_key_for(position))
    flash(message, "success")
    return redirect(url_for("pokja.struktur", kampung_id=kampung.id))


@bp.route("/")
@login_required
def struktur(kampung_id):
    kampung = get_kampung_or_404(kampung_id, current_user)
    state = {}
    if kampung.can_manage_roster(current_user):
        state = _inline_form_from_query(kampung)
    return _screen(kampung, **state)


def _inline_form_from_query(kampung):
    """?tambah=<group>, ?ubah=<position id>, ?akhiri=<position id> open a form in place."""
    if group := group_by_key(request.args.get("tambah", "")):
        form = NewPositionForm()
        form.limit_to(group)
        return {"mode": "add", "add_group": group.key, "form": form}
    for mode, param in (("edit", "ubah"), ("end", "akhiri")):
        if (pid := request.args.get(param, type=int)) is not None:
            position = get_position_or_404(kampung, pid)
            form = PositionForm(obj=position, username=position.user.username if position.user else "")
            if mode == "end":
                form = EndPositionForm()
            return {"mode": mode, "target": position, "form": form}
    return {}


@bp.route("/jabatan", methods=["POST"])
@login_required
def add(kampung_id):
    kampung = get_kampung_or_404(kampung_id, current_user, "can_manage_roster")
    group = group_by_key(request.form.get("group", "")) or group_by_key("anggota")
    form = NewPositionForm()
    form.limit_to(group)
    if form.validate_on_submit():
        try:
            # The seksi is the group's (the button pressed), whatever the hidden field says.
            position = add_position(kampung, {**form.data, "seksi": group.seksi or ""}, by=current_user)
        except PokjaError as exc:
            getattr(form, exc.field or "person_name").errors.append(str(exc))
        else:
            return _saved(kampung, position, f"{position.person_name} ditambahkan sebagai {position.title}.")
    return _screen(kampung, status=422, mode="add", add_group=group.key, form=form)


@bp.route("/jabatan/<int:position_id>", methods=["POST"])
@login_required
def update(kampung_id, position_id):
    kampung = get_kampung_or_404(kampung_id, current_user, "can_manage_roster")
    position = get_position_or_404(kampung, position_id)
    form = PositionForm()
    conflict = None
    if form.validate_on_submit():
        try:
            update_position(position, form.data, by=current_user)
        except PokjaConflict as exc:
            conflict = exc.current
            # Saving again overwrites, knowingly: the form now carries the stored version.
            form.version.data = position.version
            form.version.raw_data = [str(position.version)]
        except PokjaError as exc:
            getattr(form, exc.field or "person_name").errors.append(str(exc))
        else:
            return _saved(kampung, position, f"Data {position.person_name} disimpan.")
    position = get_position_or_404(kampung, position_id)
    return _screen(kampung, status=409 if conflict else 422, mode="edit", target=position, form=form,
                   conflict=conflict)


@bp.route("/jabatan/<int:position_id>/akhiri", methods=["POST"])
@login_required
def end(kampung_id, position_id):
    kampung = get_kampung_or_404(kampung_id, current_user, "can_manage_roster")
    position = get_position_or_404(kampung, position_id)
    form = EndPositionForm()
    if form.validate_on_submit():
        try:
            end_position(position, form.ended_on.data, by=current_user)
        except PokjaError as exc:
            form.ended_on.errors.append(str(exc))
        else:
            return _saved(kampung, position, f"Jabatan {position.person_name} diakhiri per "
                          f"{tanggal(position.ended_on)}; tetap tercatat di riwayat.")
    return _screen(kampung, status=422, mode="end", target=position, form=form)


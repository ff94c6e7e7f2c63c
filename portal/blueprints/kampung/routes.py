from flask import abort, flash, redirect, url_for
from flask_login import current_user, login_required

from portal.blueprints.kampung import bp
from portal.blueprints.kampung.forms import KampungForm
from portal.blueprints.kampung.services import (
    KampungConflict, KampungError, create_kampung, desa_choices, get_kampung_or_404, kampungs_for_home,
    update_kampung, vacancies,
)
from portal.extensions import db
from portal.rendering import render


@bp.route("/")
@login_required
def index():
    kampungs = kampungs_for_home(current_user)
    return render("kampung/index.html", kampungs=kampungs, vacancies=vacancies)


@bp.route("/baru", methods=["GET", "POST"])
@login_required
def create():
    if not current_user.can_manage_accounts:
        abort(403)
    form = KampungForm()
    form.set_desa_choices(desa_choices(current_user))
    if form.validate_on_submit():
        try:
            kampung = create_kampung(form.data_for_service(include_desa=True), by=current_user)
        except KampungError as exc:
            form.desa_id.errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"{kampung.name} dibuat. Lengkapi Struktur Pokja-nya.", "success")
            return redirect(url_for("pokja.struktur", kampung_id=kampung.id))
    return render("kampung/form.html", status=422 if form.errors else 200, form=form, kampung=None)


@bp.route("/<int:kampung_id>")
@login_required
def profile(kampung_id):
    kampung = get_kampung_or_404(kampung_id, current_user)
    return render("kampung/profile.html", kampung=kampung, vacancies=vacancies(kampung))


@bp.route("/<int:kampung_id>/ubah", methods=["GET", "POST"])
@login_required
def edit(kampung_id):
    kampung = get_kampung_or_404(kampung_id, current_user, "can_edit_profile")
    form = KampungForm(obj=kampung)
    may_move = kampung.can_move(current_user)
    if may_move:
        form.set_desa_choices(desa_choices(current_user), current=kampung.desa)
    else:
        del form.desa_id  # field-level permission: the field is not even accepted
    conflict = None
    if form.validate_on_submit():
        try:
            update_kampung(kampung, form.data_for_service(include_desa=may_move), by=current_user)
        except KampungError as exc:
            form.desa_id.errors.append(str(exc))
        except KampungConflict as exc:
            # Both versions side by side; saving again from here knowingly replaces the other.
            conflict = exc.current
            form.version.data = form.version.raw_data = str(conflict["version"])
        else:
            db.session.commit()
            flash("Profil Kampung KB disimpan.", "success")
            return redirect(url_for("kampung.profile", kampung_id=kampung.id))
    status = 409 if conflict else 422 if form.errors else 200
    return render("kampung/form.html", status=status, form=form, kampung=kampung, conflict=conflict)

from flask import abort, flash, redirect, url_for
from flask_login import current_user, login_required

from portal.blueprints.accounts import bp
from portal.blueprints.accounts.forms import AccountForm, NewAccountForm, ResetPasswordForm
from portal.blueprints.accounts.services import (
    AccountError, area_choices, create_account, get_managed_user_or_404, managed_users,
    reset_password, update_account,
)
from portal.extensions import db
from portal.rendering import render


@bp.before_request
@login_required
def _operators_only():
    if not current_user.can_manage_accounts:
        abort(403)


@bp.route("/")
def index():
    return render("accounts/index.html", users=managed_users(current_user))


@bp.route("/baru", methods=["GET", "POST"])
def create():
    form = NewAccountForm()
    form.set_area_choices(area_choices(current_user))
    if form.validate_on_submit():
        try:
            user = create_account(form.data, current_user)
        except AccountError as exc:
            getattr(form, exc.field).errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"Akun {user.username} dibuat. Berikan kata sandi sementara secara langsung; "
                  "pemilik akun wajib menggantinya saat pertama masuk.", "success")
            return redirect(url_for("accounts.index"))
    return render("accounts/form.html", status=422 if form.errors else 200, form=form, account=None)


@bp.route("/<int:user_id>/ubah", methods=["GET", "POST"])
def edit(user_id):
    account = get_managed_user_or_404(user_id, current_user)
    form = AccountForm(obj=account)
    form.set_area_choices(area_choices(current_user))
    reset_form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            update_account(account, form.data, current_user)
        except AccountError as exc:
            db.session.rollback()
            getattr(form, exc.field).errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"Akun {account.username} disimpan.", "success")
            return redirect(url_for("accounts.index"))
    return render("accounts/form.html", status=422 if form.errors else 200, form=form,
                  account=account, reset_form=reset_form)


@bp.route("/<int:user_id>/kata-sandi", methods=["POST"])
def reset(user_id):
    account = get_managed_user_or_404(user_id, current_user)
    reset_form = ResetPasswordForm()
    if reset_form.validate_on_submit():
        reset_password(account, reset_form.password.data, current_user)
        db.session.commit()
        flash(f"Kata sandi sementara untuk {account.username} disimpan; sesi lamanya diakhiri.", "success")
        return redirect(url_for("accounts.index"))
    form = AccountForm(obj=account)
    form.set_area_choices(area_choices(current_user))
    return render("accounts/form.html", status=422, form=form, account=account, reset_form=reset_form)

"""Flask-Login wiring: session identity, and what an unauthenticated request gets back."""
import secrets

from flask import flash, make_response, redirect, request, url_for
from flask_login import current_user

from portal.extensions import db, htmx, login_manager
from portal.models import User


def init_app(app):
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Silakan masuk untuk membuka halaman ini."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @app.before_request
    def _force_password_change():
        """An account with a temporary password may only change it (or log out)."""
        if (
            current_user.is_authenticated
            and current_user.must_change_password
            and request.endpoint not in ("auth.password", "auth.logout", "static", "home.healthz")
        ):
            return redirect(url_for("auth.password"))
        return None


@login_manager.user_loader
def load_user(session_id):
    """The session holds "id:token"; a rotated token (password change) ends the session."""
    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not secrets.compare_digest(user.session_token, token):
        return None
    return user


@login_manager.unauthorized_handler
def unauthorized():
    login_url = url_for("auth.login", next=request.full_path.rstrip("?"))
    if htmx:
        # Never swap a login form into a table cell: send the whole page to the login screen.
        response = make_response("", 401)
        response.headers["HX-Redirect"] = login_url
        return response
    flash(login_manager.login_message, login_manager.login_message_category)
    return redirect(login_url)

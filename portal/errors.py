"""Error pages in Bahasa Indonesia; htmx requests get a small fragment instead of a page."""
from flask import current_app, flash, make_response, redirect, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import Conflict

from portal.extensions import db, htmx
from portal.rendering import render

MESSAGES = {
    400: ("Permintaan tidak valid", "Permintaan tidak dapat diproses. Periksa isian lalu coba lagi."),
    403: ("Akses ditolak", "Anda tidak berwenang melakukan tindakan ini."),
    404: ("Tidak ditemukan", "Halaman atau data yang Anda cari tidak ada, atau Anda tidak berhak melihatnya."),
    405: ("Metode tidak diizinkan", "Tindakan ini tidak tersedia dengan cara tersebut."),
    413: ("Berkas terlalu besar", "Berkas yang dikirim melebihi batas ukuran."),
    429: ("Terlalu banyak permintaan", "Terlalu banyak permintaan dalam waktu singkat. Tunggu sebentar lalu coba lagi."),
    500: ("Terjadi kesalahan", "Terjadi kesalahan di server. Perubahan Anda tidak disimpan; silakan coba lagi."),
}


def init_app(app):
    def handle(error):
        if getattr(error, "response", None) is not None:
            return error.response  # a response made for this refusal (e.g. the throttled login form)
        code = getattr(error, "code", 500) or 500
        if code == 500:
            db.session.rollback()
        if code == 403:
            _log_refusal(code)
        title, message = MESSAGES.get(code, MESSAGES[500])
        return render("errors/error.html", block="error", status=code, code=code, title=title, message=message)

    for code in MESSAGES:
        app.register_error_handler(code, handle)

    @app.errorhandler(StateConflict)
    def state_conflict(error):
        """An action the object's state no longer allows (a plan submitted or signed since the
        page was loaded): say why."""
        return _conflict("Tidak dapat diubah", error.description)

    @app.errorhandler(StaleDataError)
    def saved_at_the_same_moment(error):
        """Two people saved one record at the same moment and the other save came first (the
        version check in the UPDATE); nothing of this request was stored. Where a service can,
        it shows both versions instead (progress status does)."""
        db.session.rollback()
        current_app.logger.info("concurrent update refused: %s %s", request.method, request.path)
        return _conflict("Disimpan bersamaan", SIMULTANEOUS)

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def value_the_database_cannot_hold(error):
        """The last line of defence for a value no form checked (a number beyond the column, a
        NUL byte in a query argument): the database refused it, so nothing was stored. A read
        cannot find such a thing (404); a change is refused (400). Logged, as it means a check
        is missing somewhere."""
        db.session.rollback()
        current_app.logger.warning("value refused by the database: %s %s (%s)", request.method, request.path,
                                   type(getattr(error, "orig", error)).__name__)
        code = 404 if request.method in ("GET", "HEAD") else 400
        title, message = MESSAGES[code]
        return render("errors/error.html", block="error", status=code, code=code, title=title, message=message)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        """A page left open too long: say so and send the user back to a fresh copy of it."""
        _log_refusal(400, "csrf")
        flash("Sesi formulir sudah kedaluwarsa. Halaman dimuat ulang; silakan ulangi isian Anda.", "error")
        target = _same_origin_referrer() or url_for("home.index")
        if htmx:
            return "", 400, {"HX-Redirect": target}
        return redirect(target)


SIMULTANEOUS = ("Data ini baru saja diubah orang lain pada saat yang sama, jadi perubahan Anda belum "
                "disimpan. Muat ulang halaman untuk melihat versi terbaru, lalu ulangi.")


def _conflict(title, message):
    """A 409 page; htmx shows it in the message area and leaves the form (and its input) alone."""
    response = make_response(render("errors/error.html", block="error", status=409, code=409,
                                     title=title, message=message))
    if htmx:
        response.headers.update({"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"})
    return response


def _log_refusal(code, why=""):
    """Who was refused what (no form data, no query string: they may carry secrets)."""
    user = current_user.get_id().partition(":")[0] if current_user.is_authenticated else "anonim"
    current_app.logger.warning("refused %s%s: user %s %s %s", code, f" ({why})" if why else "",
                               user, request.method, request.path)


def _same_origin_referrer():
    ref = request.referrer
    if ref and ref.startswith(request.host_url):
        return "/" + ref[len(request.host_url):]
    return None


class StateConflict(Conflict):
    """Raise with an Indonesian ``description``: the request is allowed for this user, but not
    in the object's current state."""


class RuleError(ValueError):
    """A change a service refuses because it breaks a domain rule. The message is for the user
    (Indonesian); ``field`` names the form field it belongs beside, or None for the form."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field

from flask import Blueprint

bp = Blueprint("accounts", __name__, url_prefix="/akun")

from portal.blueprints.accounts import routes  # noqa: E402,F401

from flask import Blueprint

bp = Blueprint("kampung", __name__, url_prefix="/kampung")

from portal.blueprints.kampung import routes  # noqa: E402,F401

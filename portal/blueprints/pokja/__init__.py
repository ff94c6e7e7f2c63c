from flask import Blueprint

bp = Blueprint("pokja", __name__, url_prefix="/kampung/<int:kampung_id>/pokja")

from portal.blueprints.pokja import routes  # noqa: E402,F401

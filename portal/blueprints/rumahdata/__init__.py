from flask import Blueprint

bp = Blueprint("rumahdata", __name__)

from portal.blueprints.rumahdata import routes  # noqa: E402,F401

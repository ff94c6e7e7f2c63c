from flask import Blueprint

bp = Blueprint("progress", __name__)

from portal.blueprints.progress import routes  # noqa: E402,F401

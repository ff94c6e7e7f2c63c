from flask import Blueprint

bp = Blueprint("verify", __name__)

from portal.blueprints.verify import routes  # noqa: E402,F401

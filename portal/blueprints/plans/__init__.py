from flask import Blueprint

bp = Blueprint("plans", __name__)

from portal.blueprints.plans import routes  # noqa: E402,F401
from portal.blueprints.plans import documents  # noqa: E402,F401

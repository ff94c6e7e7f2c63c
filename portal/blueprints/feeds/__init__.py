"""Calendar subscriptions: the Langganan kalender page, private iCal feeds, .ics downloads."""
from flask import Blueprint

bp = Blueprint("feeds", __name__)

from portal.blueprints.feeds import routes  # noqa: E402,F401

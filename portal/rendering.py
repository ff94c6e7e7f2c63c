"""Render a whole screen, or only one named block of it for an htmx request."""
from flask import render_template
from jinja2_fragments.flask import render_block

from portal.extensions import htmx


def render(template, block=None, status=200, **context):
    """Full page normally; just ``block`` when htmx asks (not for a boosted navigation, nor for
    restoring history after the back button, which needs the whole page)."""
    if block and htmx and not htmx.boosted and not htmx.history_restore_request:
        return render_block(template, block, **context), status
    return render_template(template, **context), status

"""Response headers every page carries, and secrets kept out of the logs."""
import logging
import re

from flask_login import current_user

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)


def init_app(app):
    @app.after_request
    def _headers(response):
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("X-Frame-Options", "DENY")
        if app.config["PORTAL_ENV"] == "production":
            h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        # Pages with personal data must not linger in a shared phone's cache.
        if response.mimetype == "text/html" and current_user.is_authenticated:
            h["Cache-Control"] = "no-store"
        h.add("Vary", "HX-Request")
        return response

    install_log_redaction(app)


# Calendar feed tokens travel in the URL path (calendar apps cannot send headers), so request
# lines, errors and access logs would carry them. These loggers rewrite them first.
FEED_TOKEN = re.compile(r"kkbcal_[A-Za-z0-9_-]+")
REDACTED = "kkbcal_[disamarkan]"
LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error", "flask_limiter")


class RedactFeedTokens(logging.Filter):
    """Replace calendar feed tokens in a record's message (and its arguments) before any
    handler formats it."""

    def filter(self, record):
        message = record.getMessage()
        if FEED_TOKEN.search(message):
            record.msg, record.args = FEED_TOKEN.sub(REDACTED, message), None
        return True


def install_log_redaction(app):
    redact = RedactFeedTokens()
    for logger in [app.logger] + [logging.getLogger(name) for name in LOGGERS]:
        if not any(isinstance(f, RedactFeedTokens) for f in logger.filters):
            logger.addFilter(redact)

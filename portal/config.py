"""Configuration layers: DefaultConfig → Testing/Production, then environment overrides.

Environment: ``PORTAL_ENV`` (development|production), ``DATABASE_URL``, ``SECRET_KEY``, and any
``PORTAL_<NAME>`` variable, which sets ``<NAME>`` (values parsed as JSON when they can be).
"""
from datetime import timedelta


class DefaultConfig:
    PORTAL_ENV = "development"
    # None means "SQLite at instance/portal.db"; resolved in create_app.
    SQLALCHEMY_DATABASE_URI = None
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

    SESSION_COOKIE_NAME = "portal_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    # Absolute and idle lifetimes (timedelta, or seconds), enforced on the server
    # (portal/auth_setup.py). The cookie lives as long as the absolute lifetime.
    SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=12)
    SESSION_IDLE_TIMEOUT = timedelta(hours=1)
    # Remember-me is off: a shared phone must not stay logged in for weeks.
    REMEMBER_COOKIE_DURATION = timedelta(seconds=0)

    WTF_CSRF_TIME_LIMIT = 8 * 3600
    MAX_CONTENT_LENGTH = 12 * 1024 * 1024

    # argon2id parameters: OWASP's first recommendation (m=19 MiB, t=2, p=1). RFC 9106's
    # "low memory" profile (m=64 MiB) took a 2-core server's workers from 90 to 160 MB each
    # after a burst of logins; hashes made with other parameters are upgraded at login.
    ARGON2_TIME_COST = 2
    ARGON2_MEMORY_COST = 19 * 1024
    ARGON2_PARALLELISM = 1

    # Time zone used when a Kampung KB's province (and so its zone) is not known.
    DEFAULT_TIMEZONE = "Asia/Jakarta"
    MIN_PASSWORD_LENGTH = 8

    # Photo evidence: outside the web root; None means instance/uploads.
    UPLOAD_FOLDER = None
    MAX_PHOTO_BYTES = 5 * 1024 * 1024

    # Calendar feeds: polls allowed per subscription token (apps poll every 5 min to 24 h).
    # Where the portal is reached, for URLs printed by the command line (feed create).
    PUBLIC_URL = "http://127.0.0.1:5000"
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = False
    FEED_RATE_LIMIT = "30 per minute;600 per hour"
    # Failed logins allowed per account, and per address (many phones share a carrier's
    # address, so that one is looser). Only failures count.
    LOGIN_ACCOUNT_LIMIT = "5 per 15 minutes"
    LOGIN_ADDRESS_LIMIT = "30 per 15 minutes"
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto to trust (0: none).
    TRUSTED_PROXIES = 0

    # Rendered plan tables kept per worker (portal/fragments.py): how many, and for how long
    # at most (a change made straight in the database shows after that; 0 turns it off).
    FRAGMENT_CACHE_SIZE = 256
    FRAGMENT_CACHE_SECONDS = 60


class TestingConfig(DefaultConfig):
    TESTING = True
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    WTF_CSRF_ENABLED = False  # CSRF tests switch it back on explicitly
    SECRET_KEY = "testing-only-secret"
    # Cheap hashes keep the suite fast; still argon2id.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
    ARGON2_PARALLELISM = 1


class ProductionConfig(DefaultConfig):
    PORTAL_ENV = "production"
    SESSION_COOKIE_SECURE = True


CONFIGS = {"development": DefaultConfig, "testing": TestingConfig, "production": ProductionConfig}

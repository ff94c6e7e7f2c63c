"""Portal Kampung KB — application factory."""
import os
import secrets
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from portal.config import CONFIGS, DefaultConfig, TestingConfig
from portal.extensions import csrf, db, htmx, limiter, login_manager, migrate
from portal.forms import INTEGER_MAX


def create_app(config=None):
    """Build the app. ``config`` is a config name ("testing", "production") or a dict of
    overrides (a dict with TESTING=True starts from the testing layer)."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(_base_config(config))
    app.config.from_prefixed_env("PORTAL")
    if isinstance(config, dict):
        app.config.update(config)
    _resolve_secrets_and_database(app)
    if app.config["TRUSTED_PROXIES"]:
        # Behind a reverse proxy the client's address (login throttling, logs) and scheme come
        # from its X-Forwarded-* headers, trusted only for this many hops.
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    # Ids in URLs are INTEGER columns: a bigger number cannot exist, so it is a plain 404.
    app.url_map.converters["int"] = BoundedInt
    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    htmx.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)

    from portal import auth_setup, formatting, fragments, security, errors, commands
    auth_setup.init_app(app)
    fragments.init_app(app)
    formatting.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    commands.init_app(app)

    from portal.blueprints.accounts import bp as accounts_bp
    from portal.blueprints.auth import bp as auth_bp
    from portal.blueprints.feeds import bp as feeds_bp
    from portal.blueprints.home import bp as home_bp
    from portal.blueprints.kampung import bp as kampung_bp
    from portal.blueprints.plans import bp as plans_bp
    from portal.blueprints.pokja import bp as pokja_bp
    from portal.blueprints.progress import bp as progress_bp
    from portal.blueprints.rumahdata import bp as rumahdata_bp
    from portal.blueprints.verify import bp as verify_bp

    for bp in (home_bp, auth_bp, kampung_bp, pokja_bp, plans_bp, accounts_bp, verify_bp, progress_bp,
               feeds_bp, rumahdata_bp):
        app.register_blueprint(bp)
    return app


class BoundedInt(IntegerConverter):
    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", INTEGER_MAX)
        super().__init__(map, *args, **kwargs)


def _base_config(config):
    if isinstance(config, str):
        return CONFIGS[config]
    if isinstance(config, dict) and config.get("TESTING"):
        return TestingConfig
    return CONFIGS.get(os.environ.get("PORTAL_ENV", "development"), DefaultConfig)


def _resolve_secrets_and_database(app):
    instance = Path(app.instance_path)
    if os.environ.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]
    if not app.config.get("SECRET_KEY"):
        # Generated once and kept, so sessions survive restarts; never logged.
        instance.mkdir(parents=True, exist_ok=True)
        key_file = instance / "secret_key"
        if not key_file.exists():
            key_file.touch(mode=0o600)
            key_file.write_text(secrets.token_hex(32))
        app.config["SECRET_KEY"] = key_file.read_text().strip()

    url = os.environ.get("DATABASE_URL") if not app.testing else None
    if url:
        app.config["SQLALCHEMY_DATABASE_URI"] = url
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        instance.mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'portal.db'}"
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    # Heroku-style URLs and plain postgresql:// use the psycopg 3 driver we ship.
    for prefix in ("postgres://", "postgresql://"):
        if uri.startswith(prefix):
            app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri[len(prefix):]

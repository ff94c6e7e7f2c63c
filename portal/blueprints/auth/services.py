"""Authentication services. They change and flush; the request commits."""
from datetime import datetime, timezone

from flask import current_app

from portal.extensions import db
from portal.models import User


class PasswordError(ValueError):
    """The current password given for a change is wrong."""


def normalise_username(username):
    return (username or "").strip().lower()


def authenticate(username, password):
    """Return the active user with these credentials, or None.

    Unknown user, wrong password and inactive account look the same to the caller (and so to
    the person at the login screen); a dummy hash is verified for unknown users so timing does
    not tell which usernames exist.
    """
    user = db.session.scalar(db.select(User).filter_by(username=normalise_username(username)))
    if user is None:
        User(password_hash=_dummy_hash()).check_password(password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    user.last_login_at = datetime.now(timezone.utc)
    db.session.flush()
    return user


def change_password(user, current, new):
    """Set ``new`` after checking ``current``; raises PasswordError. Ends other sessions."""
    if not user.check_password(current):
        raise PasswordError("Kata sandi saat ini salah.")
    user.set_password(new)
    user.must_change_password = False
    db.session.flush()


def _dummy_hash():
    cache = current_app.extensions.setdefault("portal_dummy_hash", {})
    if "hash" not in cache:
        probe = User()
        probe.set_password("not-a-real-password")
        cache["hash"] = probe.password_hash
    return cache["hash"]

"""Uploaded plan files waiting for the user's confirmation.

The upload is kept as it came, in the upload folder's ``imports`` with a random name, beside a small JSON
record of who uploaded it, for what (a scope such as "kampung:5") and year. The preview and the confirmation both
read it again, so what is imported is exactly what was previewed, and a reload never uploads
twice. Files older than ``MAX_AGE`` are removed whenever a new one is staged.
"""
import json
import re
import secrets
import time

from portal import uploads

MAX_AGE = 6 * 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{22}$")


def _folder():
    path = uploads.folder() / "imports"
    path.mkdir(exist_ok=True)
    return path


def stage(data, *, filename, user_id, scope, year=None):
    folder = _folder()
    _purge(folder)
    token = secrets.token_urlsafe(16)
    (folder / f"{token}.bin").write_bytes(data)
    (folder / f"{token}.json").write_text(json.dumps(
        {"filename": filename, "user_id": user_id, "scope": scope, "year": year,
         "staged_at": time.time()}), encoding="utf-8")
    return token


def load(token, *, user_id, scope):
    """(bytes, record) of a staged upload by this user for this scope, or None."""
    if not _TOKEN.match(token or ""):
        return None
    folder = _folder()
    try:
        record = json.loads((folder / f"{token}.json").read_text(encoding="utf-8"))
        data = (folder / f"{token}.bin").read_bytes()
    except (OSError, ValueError):
        return None
    if (record.get("user_id") != user_id or record.get("scope") != scope
            or time.time() - record.get("staged_at", 0) > MAX_AGE):
        return None
    return data, record


def discard(token):
    if _TOKEN.match(token or ""):
        for suffix in (".bin", ".json"):
            (_folder() / f"{token}{suffix}").unlink(missing_ok=True)


def _purge(folder):
    cutoff = time.time() - MAX_AGE
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
        except OSError:
            continue

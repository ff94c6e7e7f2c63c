"""The one clock model defaults use: aware UTC now."""
from datetime import datetime, timezone


def utcnow():
    return datetime.now(timezone.utc)

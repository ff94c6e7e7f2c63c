"""Helpers shared by the browser tests."""
import uuid


def unique(prefix):
    return f"{prefix} {uuid.uuid4().hex[:6].upper()}"


def set_reload_marker(page):
    """A value on window that only survives if the page is never reloaded or navigated away."""
    marker = uuid.uuid4().hex
    page.evaluate("m => { window.__portalNoReload = m; }", marker)
    return marker


def assert_no_reload(page, marker):
    assert page.evaluate("() => window.__portalNoReload") == marker, "the page was reloaded"


def scroll_width(page):
    return page.evaluate("() => document.documentElement.scrollWidth")

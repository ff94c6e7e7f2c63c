"""Rendered parts of pages, and computed tables, kept in the worker's memory, keyed on the data
they show.

The plan table is the page cadres open most and the costliest to draw (every row with its
schedule and funding). It changes only when the plan does, so it is rendered once per data
version (``portal.models.data_version``) and served from memory until then. The key is
everything the HTML depends on: the plan (id and creation time, so a reused id never matches),
its status, the Kampung KB's data version, whether the viewer may edit, and the filters. An
area's roll-up (``progress.reports.kept_rollup``) is kept the same way, on the area's version.

Each worker keeps its own entries (the version is read from the database on every request, so
workers never disagree about what is current), at most ``FRAGMENT_CACHE_SIZE`` of them, each for
at most ``FRAGMENT_CACHE_SECONDS``: a change made outside the portal (straight in the database,
which moves no version) shows within that time. ``FRAGMENT_CACHE_SECONDS = 0`` turns it off.

HTML with forms carries the viewer's CSRF token, which must never be served to someone else:
fragments are rendered with a placeholder that is replaced by the current viewer's token on
every request.
"""
import secrets
import threading
import time
from collections import OrderedDict

from flask import current_app
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

# Random per process: user text (always escaped) cannot forge it.
_TOKEN_PLACEHOLDER = f"csrf-{secrets.token_hex(16)}"


def placeholder_csrf_field():
    return Markup(f'<input type="hidden" name="csrf_token" value="{_TOKEN_PLACEHOLDER}">')


class FragmentCache:
    def __init__(self, size, seconds):
        self.size, self.seconds = size, seconds
        self._entries = OrderedDict()  # key → (expires at, value)
        self._lock = threading.Lock()
        self.hits = self.misses = 0
        self.clock = time.monotonic

    def get_or_make(self, key, make):
        """The value kept for ``key``, or ``make()`` kept from now on."""
        if self.seconds <= 0:
            return make()
        now = self.clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] > now:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry[1]
        value = make()
        with self._lock:
            self.misses += 1
            self._entries[key] = (now + self.seconds, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    def clear(self):
        with self._lock:
            self._entries.clear()


def cache():
    return current_app.extensions["fragments"]


def with_viewer_token(html):
    """Cached HTML (rendered by Jinja, so already escaped) with this viewer's CSRF token in place
    of the placeholder."""
    return Markup(html.replace(_TOKEN_PLACEHOLDER, generate_csrf()) if _TOKEN_PLACEHOLDER in html else html)


def init_app(app):
    app.extensions["fragments"] = FragmentCache(app.config["FRAGMENT_CACHE_SIZE"],
                                                app.config["FRAGMENT_CACHE_SECONDS"])

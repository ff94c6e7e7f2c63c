"""Helpers for ``tools/bench.py`` (``make bench``): synthetic data, servers and load, in-process
measurements. Nothing here is imported by the portal itself."""

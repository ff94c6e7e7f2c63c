"""Demo data built from the reference documents (see docs/demo-data.md)."""

"""The plan as the printed form: one HTML page for the browser's print dialog and for the PDF.

WeasyPrint renders the same HTML. Its URL fetcher only serves the portal's own static files, so
nothing in a plan can make the server fetch a URL, read a local file or wait on the network.
"""
import json
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlparse

import segno
from flask import current_app, render_template, url_for

from portal.blueprints.plans import approval, office
from portal.models import workflow
from portal.models.plan import PARTS
from portal.tables import MIMETYPES


# Relative URLs in the page resolve against this address, which the fetcher maps to the static
# folder (the .invalid domain can never be a real host).
BASE_URL = "https://portal.invalid/"
STATIC_TYPES = {".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png"}


class FetchRefused(ValueError):
    """A URL the PDF renderer may not fetch."""


def verify_url(plan):
    """The public verification page of an approved plan, on the portal's public address."""
    if plan.status != "disetujui" or not plan.verification_code:
        return None
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    return base + url_for("verify.code", code=plan.verification_code)


def qr_svg(text):
    """An inline SVG QR code (error correction M) for ``text``; generated, never user markup."""
    return segno.make(text, error="m").svg_inline(scale=3, border=2, dark="#000", title="Kode QR verifikasi")


def print_context(plan):
    signatures = plan.current_signatures() if plan.status in ("diajukan", "disetujui") else {}
    in_force = approval.in_force(approval.versions(plan)) if plan.status == "disetujui" else None
    url = verify_url(plan)
    parts = []
    for key, (title, _seksi) in PARTS.items():
        rows = [office.row_cells(row, number) | {"row": row} for number, row in enumerate(plan.rows_in(key), start=1)]
        parts.append({"key": key, "title": title, "rows": rows, "total": sum(r["anggaran"] or 0 for r in rows),
                      "budgeted": any(r["anggaran"] is not None for r in rows)})
    desa = plan.kampung.desa
    return {
        "plan": plan, "heading": office.heading(plan), "parts": parts,
        "grand_total": sum(p["total"] for p in parts), "budgeted": any(p["budgeted"] for p in parts),
        "signatures": signatures,
        "draft": plan.status != "disetujui", "superseded": in_force is not None and in_force is not plan,
        "verify_url": url, "qr": qr_svg(url) if url else None, "desa": desa,
        "kecamatan": desa.ancestor("kecamatan"), "kabupaten": desa.ancestor("kabupaten"),
        "state": workflow.label(plan),
    }


def plan_file(plan, fmt):
    """(bytes, MIME type) of ``plan`` as json, xlsx, csv or pdf (the downloads and the CLI);
    None for any other format. Needs a request context (URLs)."""
    from portal.blueprints.plans.services import export_plan
    if fmt == "json":
        return (json.dumps(export_plan(plan), ensure_ascii=False, indent=2) + "\n").encode("utf-8"), "application/json"
    if fmt == "xlsx":
        return office.to_xlsx(plan, verify_url=verify_url(plan)), MIMETYPES["xlsx"]
    if fmt == "csv":
        return office.to_csv(plan), MIMETYPES["csv"]
    if fmt == "pdf":
        return to_pdf(print_html(plan)), "application/pdf"
    return None


def print_html(plan):
    return render_template("plans/print.html", **print_context(plan))


def to_pdf(html):
    from weasyprint import HTML  # imported on first use: it loads Pango
    return HTML(string=html, base_url=BASE_URL, url_fetcher=_static_only()).write_pdf()


@cache
def _static_only_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnly(URLFetcher):
        """Serves BASE_URL/static/... from the app's static folder and refuses every other URL
        (other hosts, file:, data:), so rendering never leaves the process."""

        def __init__(self):
            super().__init__(allowed_protocols=("https",), allow_redirects=False, fail_on_errors=False)

        def fetch(self, url, headers=None):
            parsed = urlparse(url)
            prefix = "/static/"
            if f"{parsed.scheme}://{parsed.netloc}/" != BASE_URL or not parsed.path.startswith(prefix):
                raise FetchRefused(f"not fetched: {url[:80]}")
            root = Path(current_app.static_folder).resolve()
            path = (root / unquote(parsed.path[len(prefix):])).resolve()
            if root not in path.parents or not path.is_file():
                raise FetchRefused(f"not fetched: {url[:80]}")
            mime = STATIC_TYPES.get(path.suffix, "application/octet-stream")
            return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": mime})

    return StaticOnly


def _static_only():
    return _static_only_class()()

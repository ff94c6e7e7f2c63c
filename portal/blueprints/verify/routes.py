"""Verifikasi dokumen: a public page that checks a signed plan by its verification code.

No login: whoever holds a printed or exported plan can check it. The page shows only what the
printed document already shows (Kampung KB, year, signers, times); never the plan's rows to a
stranger, except which activities differ when the stored content no longer matches.
"""
from flask import redirect, request, url_for

from portal.blueprints.plans import approval
from portal.blueprints.verify import bp
from portal.rendering import render


@bp.route("/verifikasi")
def form():
    typed = request.args.get("kode")
    if typed is None:
        return render("verify/verify.html", typed="", result=None)
    code = approval.normalise_code(typed)
    if code is None:
        return render("verify/verify.html", status=422, typed=typed, result=None,
                      error="Kode verifikasi terdiri dari 12 huruf/angka, misalnya K7QX-2M9D-PA4T.")
    return redirect(url_for("verify.code", code=code))


@bp.route("/verifikasi/<code>")
def code(code):
    normal = approval.normalise_code(code)
    if normal is not None and normal != code:
        return redirect(url_for("verify.code", code=normal))
    result = approval.verify(normal) if normal else None
    if result is None:
        return render("verify/verify.html", status=404, typed=code, result=None,
                      error="Kode verifikasi tidak ditemukan. Periksa lagi kode yang tercetak pada dokumen.")
    return render("verify/verify.html", typed=code, result=result)

"""`flask --app wsgi plan list|export|import`: plans in and out of files from the command line."""
import json
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from portal.blueprints.plans import printing, sheets
from portal.blueprints.plans.services import (
    PlanError, import_plan, import_sheet, import_target, sheet_rows,
)
from portal.models import workflow
from portal.extensions import db
from portal.models import KampungKB, Plan

plan_cli = AppGroup("plan", help="Rencana kegiatan: daftar, ekspor (JSON, XLSX, CSV, PDF) dan impor (XLSX, CSV, JSON).")


@plan_cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Keluaran JSON.")
def plan_list(as_json):
    """Daftar semua rencana kegiatan."""
    plans = db.session.scalars(db.select(Plan).order_by(Plan.kampung_id, Plan.year, Plan.revision)).all()
    items = [{"id": p.id, "kampung_id": p.kampung_id, "kampung": p.kampung.name, "year": p.year,
              "revision": p.revision, "status": p.status, "rows": len(p.rows)} for p in plans]
    if as_json:
        click.echo(json.dumps(items, ensure_ascii=False, indent=2))
        return
    for item in items:
        revision = f"rev {item['revision']}" if item["revision"] else "      "
        click.echo(f"{item['id']:>5}  {item['year']} {revision} {workflow.STATES[item['status']]:<12} "
                   f"{item['rows']:>3} kegiatan  {item['kampung']} (id {item['kampung_id']})")
    if not items:
        click.echo("Belum ada rencana kegiatan.")


@plan_cli.command("export")
@click.argument("plan_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["json", "xlsx", "csv", "pdf"]), default="json", show_default=True,
              help="json: format pertukaran (docs/plan-json.md); xlsx: tata letak formulir; csv; pdf: dokumen cetak.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Berkas tujuan (bawaan: stdout).")
def plan_export(plan_id, fmt, output):
    """Ekspor rencana PLAN_ID sebagai JSON, XLSX, CSV atau PDF."""
    plan = db.session.get(Plan, plan_id)
    if plan is None:
        raise click.ClickException(f"Rencana dengan id {plan_id} tidak ada.")
    if not output and fmt in ("xlsx", "pdf") and _stdout().isatty():
        raise click.ClickException(f"Format {fmt} adalah berkas biner: pakai -o BERKAS.")
    # The print template and the verification URL are built as in a request to PUBLIC_URL.
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_URL"]):
        body, _mimetype = printing.plan_file(plan, fmt)
    if output:
        with open(output, "wb") as fh:
            fh.write(body)
        click.echo(f"{plan.title} ({len(plan.rows)} kegiatan) ditulis ke {output}.", err=True)
        return
    _stdout().write(body)
    _stdout().flush()


def _stdout():
    """Standard output for bytes (a function, so a test can stand in a terminal)."""
    return sys.stdout.buffer


@plan_cli.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--kampung", "kampung_id", type=int, required=True, help="Id Kampung KB tujuan.")
@click.option("--year", type=int, required=True, help="Tahun rencana.")
@click.option("--dry-run", is_flag=True, help="Hanya tampilkan pratinjau; tidak ada yang disimpan.")
def plan_import(file, kampung_id, year, dry_run):
    """Impor FILE (.xlsx, .csv atau .json) ke draf tahun YEAR: semua baris atau tidak sama sekali.

    XLSX/CSV disusun seperti formulir (judul kolom No, Kegiatan, Pelaksana, Sasaran, Mitra, Waktu,
    Sumber Dana, opsional Anggaran dan Seksi; judul bagian I-VI sebagai baris) dan ditambahkan ke
    draf tahun itu (dibuat bila belum ada). JSON (format pertukaran) selalu membuat draf baru.
    """
    kampung = db.session.get(KampungKB, kampung_id)
    if kampung is None:
        raise click.ClickException(f"Kampung KB dengan id {kampung_id} tidak ada.")
    if not 2000 <= year <= 2100:
        raise click.ClickException("Tahun tidak valid.")
    data = file.read(sheets.MAX_UPLOAD_BYTES + 1)
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{":
        _import_json(data, kampung, year, dry_run)
        return
    try:
        sheet = sheets.read_file(data, getattr(file, "name", ""))
    except sheets.SheetRefused as exc:
        raise click.ClickException(str(exc)) from exc
    built = sheet_rows(sheet, year)
    for item, row in built:
        click.echo(_preview_line(item, row))
    errors = sum(1 for _item, row in built if row is None)
    flagged = sum(1 for _item, row in built if row is not None and (row.schedule_needs_completion or row.funding_problems))
    target, refusal = import_target(kampung, year)
    click.echo(f"{len(built)} kegiatan, {errors} salah, {flagged} perlu dilengkapi (lembar {sheet.sheet!r}, "
               f"judul kolom di baris {sheet.header_row}).")
    if refusal:
        raise click.ClickException(refusal)
    if errors:
        raise click.ClickException("Tidak ada yang disimpan: perbaiki baris yang salah lalu ulangi.")
    if dry_run:
        where = f"ditambahkan ke {target.title} (id {target.id})" if target else f"dibuat sebagai draf baru {year}"
        click.echo(f"Uji coba (--dry-run): tidak ada yang disimpan. Tanpa --dry-run kegiatan akan {where}.")
        return
    try:
        plan = import_sheet(sheet, kampung, year, by=None)
    except PlanError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"{len(built)} kegiatan diimpor ke {plan.title} untuk {kampung.name} (id {plan.id}).")


def _preview_line(item, row):
    head = f"baris {item.sheet_row:>4}  {item.part or '?':<3} {item.kegiatan[:50] or '(kegiatan kosong)'}"
    if row is None:
        return f"{head}\n            SALAH: {'; '.join(item.errors)}"
    notes = [*(row.schedule_problems or "").splitlines(), *(row.funding_problems or "").splitlines(), *item.warnings]
    if row.schedule_needs_completion and not row.schedule_problems:
        notes.append("Jadwal perlu dilengkapi.")
    return head + "".join(f"\n            perlu dilengkapi: {n}" for n in notes)


def _import_json(data, kampung, year, dry_run):
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"Berkas bukan JSON yang valid: {exc}") from exc
    except RecursionError as exc:
        raise click.ClickException("Berkas JSON bersarang terlalu dalam; bukan ekspor rencana kegiatan.") from exc
    try:
        plan = import_plan(document, kampung, year, by=None)
    except PlanError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    if dry_run:
        count = len(plan.rows)
        db.session.rollback()
        click.echo(f"Uji coba (--dry-run): {count} kegiatan terbaca; tidak ada yang disimpan.")
        return
    db.session.commit()
    click.echo(f"{plan.title} untuk {kampung.name} dibuat (id {plan.id}, {len(plan.rows)} kegiatan).")

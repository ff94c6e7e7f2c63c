"""`flask --app wsgi plan list|export|import`: the JSON interchange format from the command line."""
import json

import click
from flask.cli import AppGroup

from portal.models import workflow
from portal.blueprints.plans.services import PlanError, export_plan, import_plan
from portal.extensions import db
from portal.models import KampungKB, Plan

plan_cli = AppGroup("plan", help="Rencana kegiatan: daftar, ekspor dan impor JSON.")


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
@click.option("--format", "fmt", type=click.Choice(["json"]), default="json", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Berkas tujuan (bawaan: stdout).")
def plan_export(plan_id, fmt, output):
    """Ekspor rencana PLAN_ID dalam format pertukaran (docs/plan-json.md)."""
    plan = db.session.get(Plan, plan_id)
    if plan is None:
        raise click.ClickException(f"Rencana dengan id {plan_id} tidak ada.")
    text = json.dumps(export_plan(plan), ensure_ascii=False, indent=2)
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        click.echo(f"{plan.title} ({len(plan.rows)} kegiatan) ditulis ke {output}.", err=True)
    else:
        click.echo(text)


@plan_cli.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--kampung", "kampung_id", type=int, required=True, help="Id Kampung KB tujuan.")
@click.option("--year", type=int, required=True, help="Tahun rencana yang dibuat.")
def plan_import(file, kampung_id, year):
    """Impor FILE (JSON) sebagai draf baru: semua baris atau tidak sama sekali."""
    kampung = db.session.get(KampungKB, kampung_id)
    if kampung is None:
        raise click.ClickException(f"Kampung KB dengan id {kampung_id} tidak ada.")
    try:
        document = json.load(file)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"Berkas bukan JSON yang valid: {exc}") from exc
    try:
        plan = import_plan(document, kampung, year, by=None)
    except PlanError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"{plan.title} untuk {kampung.name} dibuat (id {plan.id}, {len(plan.rows)} kegiatan).")

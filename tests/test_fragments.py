"""The plan table kept rendered per data version (portal/fragments.py): served again while nothing
changed, drawn anew after any change, never carrying another viewer's CSRF token."""
import re

from sqlalchemy import text

from portal import fragments
from portal.blueprints.plans.services import update_row
from tests.conftest import PASSWORD
from tests.test_plans import plan  # noqa: F401 (fixture)

TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def page(client, plan):
    response = client.get(f"/rencana/{plan.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_second_view_is_served_from_memory(plan, client, login, app):
    login("anggota")
    cache = fragments.cache()
    first = page(client, plan)
    hits = cache.hits
    again = page(client, plan)
    assert cache.hits == hits + 1
    table = lambda html: html[html.index('<div id="plan-body">'):]  # noqa: E731 (the page's token is timed)
    assert table(first) == table(again) and "Pemutahiran data KRS" in again


def test_each_viewer_gets_their_own_csrf_token(plan, client, login, app):
    login("sekretaris")
    mine = set(TOKEN.findall(page(client, plan)))
    other = app.test_client()
    other.post("/masuk", data={"username": "ketua", "password": PASSWORD})
    theirs = set(TOKEN.findall(page(other, plan)))
    assert fragments.cache().hits >= 1  # the ketua's table came from the sekretaris' rendering
    assert len(mine) == 1 and len(theirs) == 1 and mine != theirs
    # The token in the served table works: moving a row with it succeeds.
    row = plan.rows_in("IV")[0]
    moved = other.post(f"/rencana/{plan.id}/baris/{row.id}/pindah", data={"arah": "turun", "csrf_token": theirs.pop()})
    assert moved.status_code in (302, 200)


def test_a_change_through_the_portal_shows_at_once(plan, client, login, db):
    login("anggota")
    assert "Rapat evaluasi" not in page(client, plan)
    row = plan.rows_in("I")[0]
    update_row(row, {"kegiatan": "Rapat evaluasi", "version": row.version}, by=None)
    db.session.commit()
    assert "Rapat evaluasi" in page(client, plan)


def test_a_change_straight_in_the_database_shows_after_the_time_limit(plan, client, login, db, app):
    cache = app.extensions["fragments"]
    now = [1000.0]
    cache.clock = lambda: now[0]
    login("anggota")
    page(client, plan)
    row = plan.rows_in("I")[0]
    db.session.execute(text("UPDATE plan_row SET kegiatan = 'Diubah langsung' WHERE id = :id"), {"id": row.id})
    db.session.commit()
    db.session.expire_all()
    now[0] += cache.seconds - 1
    assert "Diubah langsung" not in page(client, plan)  # no version moved: still the kept table
    now[0] += 2
    assert "Diubah langsung" in page(client, plan)


def test_off_when_the_time_limit_is_zero(plan, client, login, app):
    app.extensions["fragments"].seconds = 0
    login("anggota")
    page(client, plan)
    page(client, plan)
    assert fragments.cache().hits == 0

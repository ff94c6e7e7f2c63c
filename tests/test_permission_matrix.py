"""One permission matrix: every route, every method, every role, in one declarative table.

``MATRIX`` has a row for each URL rule of the app (``static`` and ``/healthz`` aside) and each
method it accepts among GET and POST; a rule whose permission depends on the object or the
payload (a locked plan, someone else's subscription, a kabupaten instead of a desa) has further
rows told apart by ``variant``. A row says what each of the twelve ``ROLES`` gets back, as one
of the coarse ``OUTCOMES``, derived from ``docs/permissions.md``; where the document is silent
the comment beside the row says what the code intends and why.

Outcomes:

- ``ok``: 2xx, or a redirect anywhere but the login page (the request did its work);
- ``403`` / ``404`` / ``409``: refused (see the document: 404 hides existence, 409 is a state
  or workflow refusal);
- ``422``: the payload was refused *because of who sent it* (a region outside the operator's
  scope, a calendar the user may not subscribe to): forms with per-user choices answer this way.
  A row's payload is always one that succeeds for an allowed role, so a 422 never means a
  malformed test payload;
- ``login``: 302 to ``/masuk?next=…``, or 401 with ``HX-Redirect`` for htmx requests.
  ``/keluar`` redirects to ``/masuk`` without ``next``: that is its work, so it counts as ``ok``.

Every case logs in as its role, builds what the row needs (``prepare``), sends one minimal valid
request and asserts the outcome. For every POST it also compares a fingerprint of the whole
database (and the staged-upload folder) before and after: a refused POST must change nothing,
and an allowed one must change something (``writes=False`` for the few that are allowed but
store nothing, ``writes=None`` where it depends on the role and ``check`` says what must hold).

The world (regions, one account per role, Kampung KBs, plans in every state, a realisation with
a photo, Rumah Data figures, calendar subscriptions) is built once per module inside a database
transaction; each case runs inside a SAVEPOINT rolled back afterwards, so allowed POSTs cannot
leak into the next case, on SQLite and on PostgreSQL alike.

Adding a route: ``test_every_route_has_a_row`` fails and names it. Add a ``row(...)`` to
``MATRIX`` with the rule exactly as ``flask routes`` prints it, the method, one expectation
string (twelve outcomes in ``ROLES`` order; reuse a named one such as ``READ`` or ``MANAGE``
when the document's row is the same), a ``path`` builder, and for a POST the ``data`` that an
allowed role would send. The number of cases is ``MATRIX_SIZE``. A case that contradicts the
document is a bug: list it in ``BUGS`` (a strict xfail), never soften its expectation.
"""
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Callable
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from PIL import Image
from werkzeug.datastructures import FileStorage

from portal import create_app
from portal.blueprints.feeds import services as feed_services
from portal.blueprints.plans import approval, staging
from portal.blueprints.plans.services import add_row, create_plan
from portal.blueprints.progress.services import add_realisation
from portal.blueprints.rumahdata import services as rumahdata
from portal.extensions import db
from portal.models import FeedSubscription, KampungKB, Plan, PokjaPosition, User, Wilayah
from portal.uploads import save_photo
from tests.conftest import PASSWORD, RequestLikeClient

# -- roles and outcomes ---------------------------------------------------------------------------

ROLES = (
    "admin",           # platform admin
    "operator",        # operator of the Kampung KB's kabupaten (in scope)
    "operator_other",  # operator of another kabupaten (out of scope)
    "lurah",           # Pengarah (Lurah/Kepala Desa)
    "ketua",
    "sekretaris",
    "seksi_head",      # Ketua Seksi Penyediaan Data: part I rows (the rows used) are this seksi's
    "seksi_other",     # Ketua Seksi Penataan Lingkungan: another seksi
    "anggota",         # Anggota of the Pokja, no seksi
    "outsider",        # Ketua of another Kampung KB (another kabupaten)
    "no_position",     # an active account with no position anywhere
    "anonymous",
)
OUTCOMES = {"ok", "403", "404", "409", "422", "login"}

# Expectation strings, one outcome per role in ROLES order. Named after the document's rows.
#                  admin op   op✗  lurah ketua sekr seksi seksi✗ angg other none anon
PUBLIC          = "ok    ok   ok   ok    ok    ok   ok    ok     ok   ok    ok   ok"
SIGNED_IN       = "ok    ok   ok   ok    ok    ok   ok    ok     ok   ok    ok   login"
# "see Kampung KB profile and Struktur Pokja", "read a plan …", "read Riwayat …", "read activity
# pages, Kegiatan saya, Dasbor, Laporan, photos", "Seksi page", "Rumah Data: read …".
READ            = "ok    ok   404  ok    ok    ok   ok    ok     ok   404   404  login"
# "edit Kampung KB profile", "add / change / end positions", "import …", "create a plan, add/edit/
# delete/move rows", "create a revision".
MANAGE          = "ok    ok   404  403   ok    ok   403   403    403  404   404  login"
# The same row edits on a plan that is not Draf/Dikembalikan: "otherwise 409 for these roles".
LOCKED          = "409   409  404  403   409   409  403   403    403  404   404  login"
SUBMIT          = "409   409  404  409   ok    ok   409   409    409  404   404  login"
COUNTERSIGN     = "409   409  404  409   ok    409  409   409    409  404   404  login"
DECIDE          = "409   409  404  ok    409   409  409   409    409  404   404  login"
# "update progress …: own seksi only (head and members)" (the row used is seksi data's).
PROGRESS        = "403   403  404  403   ok    ok   ok    403    403  404   404  login"
DATA_DESA       = "ok    ok   404  403   403   403  ok    403    403  404   404  login"
# "Rumah Data: enter, import kecamatan/kabupaten figures": the other Kampung KB's Ketua cannot
# see Barito Timur at all, so 404 (the document allows 403/404).
DATA_REGION     = "ok    ok   404  403   403   403  403   403    403  404   404  login"
ROLLUP          = "ok    ok   404  404   404   404  404   404    404  404   404  login"
# "manage accounts" and "create Kampung KB": the document's "–" for an operator elsewhere means
# "not about this area": they reach the screens (their own area's) ...
OPERATORS       = "ok    ok   ok   403   403   403  403   403    403  403   403  login"
# ... but an area outside their scope is not among the form's choices: 422, nothing created.
OPERATORS_POST  = "ok    ok   422  403   403   403  403   403    403  403   403  login"
# An account (the Anggota's, area Desa Harara) only those whose scope contains it manage.
MEMBER_ACCOUNT  = "ok    ok   404  403   403   403  403   403    403  403   403  login"
# An operator's account: only a platform admin manages it ("operators only strictly inside"; the
# operator's own account is not strictly inside their scope).
OPERATOR_ACCT   = "ok    404  404  403   403   403  403   403    403  403   403  login"
# The roster's field-level rule: "the role offered is limited to the group's roles on the server".
OFF_THE_FORM    = "422   422  404  403   422   422  403   403    403  404   404  login"
# "Langganan kalender: a whole plan or one seksi": "refused" is the form's 422.
SUBSCRIBE_KB    = "ok    ok   422  ok    ok    ok   ok    ok     ok   422   422  login"
# "Kegiatan saya": the other Kampung KB's Ketua (document: "–") subscribes to their own plan.
SUBSCRIBE_MINE  = "422   422  422  ok    ok    ok   ok    ok     422  ok    422  login"
SUBSCRIBE_AREA  = "ok    ok   422  422   422   422  422   422    422  422   422  login"
NOT_YOURS       = "404   404  404  404   404   404  404   404    404  404   404  login"
GONE            = "404   404  404  404   404   404  404   404    404  404   404  404"


def expect(text):
    outcomes = text.split()
    assert len(outcomes) == len(ROLES) and set(outcomes) <= OUTCOMES, text
    return dict(zip(ROLES, outcomes))


# -- the table ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    rule: str
    method: str
    expected: dict
    path: Callable
    data: Callable | None = None
    variant: str = ""
    prepare: Callable | None = None
    writes: bool | None = None
    htmx: bool = False
    multipart: bool = False
    check: Callable | None = None
    redirects: bool = False  # a GET whose "ok" is a redirect; other GETs must answer 2xx

    @property
    def key(self):
        return (self.rule, self.method, self.variant)

    @property
    def name(self):
        return f"{self.method} {self.rule}" + (f" [{self.variant}]" if self.variant else "")


def row(rule, method, expected, path, data=None, *, writes="default", **options):
    """A MATRIX row. ``path(scene)`` and ``data(scene)`` build the URL and the form from the
    world's ids (``scene`` also carries ``role``, ``user_id`` and what ``prepare`` added).
    A POST must write something when allowed unless ``writes`` says otherwise."""
    if writes == "default":
        writes = True if method == "POST" else None
    return Row(rule, method, expect(expected), path, data, writes=writes, **options)


YEAR = datetime.now(ZoneInfo("Asia/Jakarta")).year
TODAY = date(YEAR, 6, 15)
NOTE = "Anggaran bagian II belum dirinci per kegiatan."
NEW_PASSWORD = "kata-sandi-baru-123"
PLAN_CSV = ("No,Kegiatan,Pelaksana,Sasaran,Mitra,Waktu,Sumber Dana,Anggaran\nI\n"
            f"1,Pendataan keluarga,Kader KB,Keluarga,,Juni {YEAR + 5},APBD,\n").encode("utf-8")
DATA_CSV = "Periode;Tahun;Balita diukur;Balita stunting\nData tahunan;2025;1.200;96\n".encode("utf-8")


def _csv(content, name):
    return lambda s: {"file": (io.BytesIO(content), name), "year": str(YEAR + 5)}


def _stage_plan(owner):
    def prepare(s):
        user_id = s.user_ids[owner] if owner else (s.user_id or s.user_ids["sekretaris"])
        s.token = staging.stage(PLAN_CSV, filename="rencana.csv", user_id=user_id,
                                scope=f"kampung:{s.kampung}", year=YEAR + 5)
    return prepare


def _stage_data(owner):
    def prepare(s):
        user_id = s.user_ids[owner] if owner else (s.user_id or s.user_ids["seksi_head"])
        s.token = staging.stage(DATA_CSV, filename="data.csv", user_id=user_id, scope=f"wilayah:{s.desa}")
    return prepare


def _own_subscription(s):
    """A subscription of the signed-in user (anonymous: the Bendahara's stands in)."""
    if s.user_id is None:
        s.subscription = s.bendahara_subscription
        return
    token = feed_services.new_token()
    subscription = FeedSubscription(user_id=s.user_id, name="HP saya", scope="saya",
                                    token_hash=feed_services.token_digest(token), token_hint=token[-4:])
    db.session.add(subscription)
    db.session.commit()
    s.subscription = subscription.id


def _revision(s):
    """Revisi 1 of the approved plan, opened by the Sekretaris."""
    sekretaris = db.session.get(User, s.user_ids["sekretaris"])
    revision = approval.create_revision(db.session.get(Plan, s.approved), by=sekretaris)
    db.session.commit()
    s.revision = revision.id


def _moved_by_operators_only(s, response):
    """Moving to another desa is field-level: Ketua and Sekretaris save the profile, but the
    smuggled desa_id is ignored."""
    desa_id = db.session.get(KampungKB, s.kampung).desa_id
    assert desa_id == (s.desa_b if s.role in ("admin", "operator") else s.desa)


def _flags_kept(s, response):
    user = db.session.get(User, s.user_id)
    assert user.full_name == "Nama Baru"
    assert (user.is_platform_admin, user.is_operator, user.username) == (
        s.role == "admin", s.role in ("operator", "operator_other"), s.usernames[s.role])


def _role_kept(s, response):
    position = db.session.get(PokjaPosition, s.anggota_position)
    assert (position.note, position.role, position.seksi) == ("SK 1", "anggota", None)


def _back_to_upload(s, response):
    """Someone else's staged upload is answered as if it had expired: back to the upload form."""
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path.endswith("/impor")


def _subscription_form(scope, **choices):
    def data(s):
        form = {"name": "HP saya", "scope": scope, "kampung": str(s.kampung), "seksi": "",
                "wilayah": "0", "months_back": "1", "months_ahead": "12"}
        form.update({k: (v(s) if callable(v) else v) for k, v in choices.items()})
        return form
    return data


def _kampung_form(desa):
    return lambda s: {"name": "Kampung KB Harara Sejahtera", "desa_id": str(getattr(s, desa)),
                      "sk_number": "", "address": ""}


def _transition(plan, name):
    return row("/rencana/<int:plan_id>/aksi/<name>", "POST",
               {"ajukan": SUBMIT, "tandatangani": COUNTERSIGN, "kembalikan": DECIDE, "setujui": DECIDE}[name],
               lambda s: f"/rencana/{getattr(s, plan)}/aksi/{name}",
               lambda s: {"password": PASSWORD, "note": NOTE}, variant=f"{name} on {plan}")


def _row_edit(rule, suffix, expected, plan, data, variant):
    """One plan-row change on the draft's (or the approved plan's) first part I row."""
    return row(rule, "POST", expected,
               lambda s: f"/rencana/{getattr(s, plan)}/baris/{getattr(s, plan + '_row')}{suffix}",
               data, variant=variant, htmx=plan == "draft")


MATRIX = [
    # -- Beranda, sign-in, own profile (not in the document: every account has its own) ---------
    row("/", "GET", SIGNED_IN, lambda s: "/"),
    row("/masuk", "GET", PUBLIC, lambda s: "/masuk", redirects=True),  # signed in: on to Beranda
    # Signed in: redirected to Beranda, nothing done; anonymous: signs in as the Anggota.
    row("/masuk", "POST", PUBLIC, lambda s: "/masuk",
        lambda s: {"username": "anggota", "password": PASSWORD}, writes=None),
    # Signed in, logging out rotates the account's session token (a write); anonymous has
    # nothing to end. Either way the redirect to /masuk carries no ``next``: "ok".
    row("/keluar", "POST", PUBLIC, lambda s: "/keluar", lambda s: {}, writes=None),
    row("/profil", "GET", SIGNED_IN, lambda s: "/profil"),
    row("/profil", "POST", SIGNED_IN, lambda s: "/profil", lambda s: {"full_name": "Nama Baru", "phone": "0812"}),
    # Field-level: the profile form has name and phone only; smuggled flags are not applied.
    row("/profil", "POST", SIGNED_IN, lambda s: "/profil",
        lambda s: {"full_name": "Nama Baru", "phone": "0812", "is_platform_admin": "y", "is_operator": "y",
                   "area_id": str(s.kab), "username": "admin2"}, variant="smuggled flags", check=_flags_kept),
    row("/profil/kata-sandi", "GET", SIGNED_IN, lambda s: "/profil/kata-sandi"),
    row("/profil/kata-sandi", "POST", SIGNED_IN, lambda s: "/profil/kata-sandi",
        lambda s: {"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}),

    # -- manage accounts ---------------------------------------------------------------------------
    row("/akun/", "GET", OPERATORS, lambda s: "/akun/"),
    row("/akun/baru", "GET", OPERATORS, lambda s: "/akun/baru"),
    row("/akun/baru", "POST", OPERATORS_POST, lambda s: "/akun/baru",
        lambda s: {"username": "akun.baru", "full_name": "Akun Baru", "password": "sementara-123",
                   "area_id": str(s.desa), "active": "y"}),
    row("/akun/<int:user_id>/ubah", "GET", MEMBER_ACCOUNT, lambda s: f"/akun/{s.user_ids['anggota']}/ubah"),
    row("/akun/<int:user_id>/ubah", "POST", MEMBER_ACCOUNT, lambda s: f"/akun/{s.user_ids['anggota']}/ubah",
        lambda s: {"full_name": "Anggota Diubah", "phone": "", "area_id": str(s.desa), "active": "y"}),
    row("/akun/<int:user_id>/ubah", "POST", OPERATOR_ACCT, lambda s: f"/akun/{s.user_ids['operator']}/ubah",
        lambda s: {"full_name": "Operator Kabupaten", "phone": "", "area_id": str(s.kab), "is_operator": "y",
                   "active": "y"}, variant="the kabupaten operator's account"),
    row("/akun/<int:user_id>/kata-sandi", "POST", MEMBER_ACCOUNT, lambda s: f"/akun/{s.user_ids['anggota']}/kata-sandi",
        lambda s: {"password": "sementara-123"}),

    # -- Kampung KB and Struktur Pokja -------------------------------------------------------------
    row("/kampung/", "GET", SIGNED_IN, lambda s: "/kampung/"),  # lists what the user may see
    row("/kampung/baru", "GET", OPERATORS, lambda s: "/kampung/baru"),
    row("/kampung/baru", "POST", OPERATORS_POST, lambda s: "/kampung/baru",
        lambda s: {"name": "Kampung KB Sumur", "desa_id": str(s.desa_b)}),
    row("/kampung/<int:kampung_id>", "GET", READ, lambda s: f"/kampung/{s.kampung}"),
    row("/kampung/<int:kampung_id>/ubah", "GET", MANAGE, lambda s: f"/kampung/{s.kampung}/ubah"),
    row("/kampung/<int:kampung_id>/ubah", "POST", MANAGE, lambda s: f"/kampung/{s.kampung}/ubah",
        _kampung_form("desa")),
    # "move Kampung KB to another desa": operators and admins; for Ketua/Sekretaris ("–") the
    # field is not on their form and a smuggled desa_id is ignored (``check``).
    row("/kampung/<int:kampung_id>/ubah", "POST", MANAGE, lambda s: f"/kampung/{s.kampung}/ubah",
        _kampung_form("desa_b"), variant="move to another desa", writes=None, check=_moved_by_operators_only),
    row("/kampung/<int:kampung_id>/pokja/", "GET", READ, lambda s: f"/kampung/{s.kampung}/pokja/"),
    row("/kampung/<int:kampung_id>/pokja/jabatan", "POST", MANAGE, lambda s: f"/kampung/{s.kampung}/pokja/jabatan",
        lambda s: {"group": "anggota", "role": "anggota", "seksi": "", "person_name": "Warga Baru",
                   "username": "", "started_on": f"{YEAR}-03-01", "note": ""}, htmx=True),
    row("/kampung/<int:kampung_id>/pokja/jabatan", "POST", OFF_THE_FORM,
        lambda s: f"/kampung/{s.kampung}/pokja/jabatan",
        lambda s: {"group": "anggota", "role": "wakil_ketua", "seksi": "", "person_name": "Warga Baru",
                   "username": "", "started_on": f"{YEAR}-03-01", "note": ""}, variant="role outside its group",
        htmx=True),
    # "a position's role and seksi cannot be changed": smuggled in the form, they are ignored.
    row("/kampung/<int:kampung_id>/pokja/jabatan/<int:position_id>", "POST", MANAGE,
        lambda s: f"/kampung/{s.kampung}/pokja/jabatan/{s.anggota_position}",
        lambda s: {"person_name": "Anggota Satu", "username": "anggota", "started_on": "2025-01-02", "note": "SK 1",
                   "version": "1", "role": "ketua_seksi", "seksi": "data"}, variant="smuggled role and seksi",
        htmx=True, check=_role_kept),
    row("/kampung/<int:kampung_id>/pokja/jabatan/<int:position_id>", "POST", MANAGE,
        lambda s: f"/kampung/{s.kampung}/pokja/jabatan/{s.anggota_position}",
        lambda s: {"person_name": "Anggota Satu", "username": "anggota", "started_on": "2025-01-02", "note": "SK 1",
                   "version": "1"}, htmx=True),
    row("/kampung/<int:kampung_id>/pokja/jabatan/<int:position_id>/akhiri", "POST", MANAGE,
        lambda s: f"/kampung/{s.kampung}/pokja/jabatan/{s.anggota_position}/akhiri",
        lambda s: {"ended_on": TODAY.isoformat()}, htmx=True),

    # -- plans: reading and documents --------------------------------------------------------------
    row("/kampung/<int:kampung_id>/rencana", "GET", READ, lambda s: f"/kampung/{s.kampung}/rencana"),
    row("/kampung/<int:kampung_id>/rencana", "POST", MANAGE, lambda s: f"/kampung/{s.kampung}/rencana",
        lambda s: {"year": str(YEAR + 4)}),
    row("/rencana/<int:plan_id>", "GET", READ, lambda s: f"/rencana/{s.draft}", variant="draft"),
    row("/rencana/<int:plan_id>", "GET", READ, lambda s: f"/rencana/{s.approved}", variant="approved"),
    row("/rencana/<int:plan_id>/cetak", "GET", READ, lambda s: f"/rencana/{s.approved}/cetak"),
    row("/rencana/<int:plan_id>/unduh.<fmt>", "GET", READ, lambda s: f"/rencana/{s.approved}/unduh.csv"),
    row("/rencana/<int:plan_id>/riwayat", "GET", READ, lambda s: f"/rencana/{s.approved}/riwayat"),
    row("/rencana/<int:plan_id>/perbandingan", "GET", READ, lambda s: f"/rencana/{s.revision}/perbandingan",
        prepare=_revision),
    row("/kampung/<int:kampung_id>/rencana/contoh.xlsx", "GET", READ,
        lambda s: f"/kampung/{s.kampung}/rencana/contoh.xlsx"),

    # -- plans: import -----------------------------------------------------------------------------
    row("/kampung/<int:kampung_id>/rencana/impor", "GET", MANAGE, lambda s: f"/kampung/{s.kampung}/rencana/impor"),
    row("/kampung/<int:kampung_id>/rencana/impor", "POST", MANAGE, lambda s: f"/kampung/{s.kampung}/rencana/impor",
        _csv(PLAN_CSV, "rencana.csv"), multipart=True),
    row("/kampung/<int:kampung_id>/rencana/impor/<token>", "GET", MANAGE,
        lambda s: f"/kampung/{s.kampung}/rencana/impor/{s.token}", prepare=_stage_plan(None)),
    row("/kampung/<int:kampung_id>/rencana/impor/<token>", "POST", MANAGE,
        lambda s: f"/kampung/{s.kampung}/rencana/impor/{s.token}", lambda s: {}, prepare=_stage_plan(None)),
    # "a staged upload is only its uploader's": someone else's token is as good as none (back
    # to the upload form), and nothing is imported.
    row("/kampung/<int:kampung_id>/rencana/impor/<token>", "POST", MANAGE,
        lambda s: f"/kampung/{s.kampung}/rencana/impor/{s.token}", lambda s: {}, prepare=_stage_plan("bendahara"),
        variant="someone else's upload", writes=False, check=_back_to_upload),

    # -- plans: rows (htmx, as the page sends them) ------------------------------------------------
    row("/rencana/<int:plan_id>/baris", "POST", MANAGE, lambda s: f"/rencana/{s.draft}/baris",
        lambda s: {"part": "I", "kegiatan": "Kegiatan baru", "schedule_text": f"Juli {YEAR + 1}"},
        variant="draft", htmx=True),
    # On a locked plan the rows below are posted without htmx (the no-JavaScript form); the
    # htmx request, as the page sends it, has its own row.
    row("/rencana/<int:plan_id>/baris", "POST", LOCKED, lambda s: f"/rencana/{s.approved}/baris",
        lambda s: {"part": "I", "kegiatan": "Kegiatan baru", "schedule_text": f"Juli {YEAR}"},
        variant="approved"),
    row("/rencana/<int:plan_id>/baris", "POST", LOCKED, lambda s: f"/rencana/{s.approved}/baris",
        lambda s: {"part": "I", "kegiatan": "Kegiatan baru", "schedule_text": f"Juli {YEAR}"},
        variant="approved, htmx", htmx=True),
    _row_edit("/rencana/<int:plan_id>/baris/<int:row_id>", "", MANAGE, "draft",
              lambda s: {"part": "I", "kegiatan": "Pendataan keluarga (diubah)", "schedule_text": f"Juli {YEAR + 1}",
                         "version": "1"}, "draft"),
    _row_edit("/rencana/<int:plan_id>/baris/<int:row_id>", "", LOCKED, "approved",
              lambda s: {"part": "I", "kegiatan": "Rapat bulanan (diubah)", "schedule_text": "Setiap bulan",
                         "version": "1"}, "approved"),
    _row_edit("/rencana/<int:plan_id>/baris/<int:row_id>/hapus", "/hapus", MANAGE, "draft", lambda s: {}, "draft"),
    _row_edit("/rencana/<int:plan_id>/baris/<int:row_id>/hapus", "/hapus", LOCKED, "approved", lambda s: {},
              "approved"),
    _row_edit("/rencana/<int:plan_id>/baris/<int:row_id>/pindah", "/pindah", MANAGE, "draft",
              lambda s: {"arah": "turun"}, "draft"),
    _row_edit("/rencana/<int:plan_id>/baris/<int:row_id>/pindah", "/pindah", LOCKED, "approved",
              lambda s: {"arah": "turun"}, "approved"),

    # -- plans: approval and revision --------------------------------------------------------------
    _transition("draft", "ajukan"),
    _transition("submitted", "tandatangani"),
    _transition("submitted", "kembalikan"),
    _transition("signed", "setujui"),
    row("/rencana/<int:plan_id>/revisi", "POST", MANAGE, lambda s: f"/rencana/{s.approved}/revisi", lambda s: {}),

    # -- progress of the approved plan in force ----------------------------------------------------
    row("/rencana/<int:plan_id>/kegiatan/<int:row_id>", "GET", READ,
        lambda s: f"/rencana/{s.approved}/kegiatan/{s.approved_row}"),
    row("/rencana/<int:plan_id>/kegiatan/<int:row_id>/status", "POST", PROGRESS,
        lambda s: f"/rencana/{s.approved}/kegiatan/{s.approved_row}/status",
        lambda s: {"status": "berjalan", "percent": "10", "reason": "", "version": "0"}),
    row("/rencana/<int:plan_id>/kegiatan/<int:row_id>/jadwal", "POST", PROGRESS,
        lambda s: f"/rencana/{s.approved}/kegiatan/{s.approved_row}/jadwal",
        lambda s: {"tanggal": f"{YEAR}-01-01", "aksi": "done"}),
    row("/rencana/<int:plan_id>/kegiatan/<int:row_id>/realisasi", "POST", PROGRESS,
        lambda s: f"/rencana/{s.approved}/kegiatan/{s.approved_row}/realisasi",
        lambda s: {"on": f"{YEAR}-03-01", "description": "Rapat bulanan dilaksanakan di balai desa",
                   "people_reached": "12", "note": "", "dana_dana_desa": "Rp 100.000"}, multipart=True),
    row("/realisasi/<int:item_id>/foto", "GET", READ, lambda s: f"/realisasi/{s.realisation}/foto"),
    row("/realisasi/<int:item_id>/foto/<size>", "GET", READ, lambda s: f"/realisasi/{s.realisation}/foto/kecil"),
    row("/kampung/<int:kampung_id>/kegiatan-saya", "GET", READ, lambda s: f"/kampung/{s.kampung}/kegiatan-saya"),
    row("/kampung/<int:kampung_id>/dasbor", "GET", READ, lambda s: f"/kampung/{s.kampung}/dasbor"),
    row("/kampung/<int:kampung_id>/laporan", "GET", READ, lambda s: f"/kampung/{s.kampung}/laporan"),
    row("/kampung/<int:kampung_id>/laporan", "GET", READ, lambda s: f"/kampung/{s.kampung}/laporan?unduh=xlsx",
        variant="xlsx"),
    row("/kampung/<int:kampung_id>/seksi/<seksi>", "GET", READ, lambda s: f"/kampung/{s.kampung}/seksi/data"),
    row("/wilayah/<int:wilayah_id>/rekap", "GET", ROLLUP, lambda s: f"/wilayah/{s.kab}/rekap"),

    # -- Rumah Data (the Kampung KB's desa; its kabupaten where the document has a row) -----------
    row("/wilayah/<int:wilayah_id>/data", "GET", READ, lambda s: f"/wilayah/{s.desa}/data", variant="desa"),
    row("/wilayah/<int:wilayah_id>/data", "GET", READ, lambda s: f"/wilayah/{s.kab}/data", variant="kabupaten"),
    row("/wilayah/<int:wilayah_id>/data/unduh.<fmt>", "GET", READ, lambda s: f"/wilayah/{s.desa}/data/unduh.csv"),
    row("/wilayah/<int:wilayah_id>/data/baru", "GET", DATA_DESA, lambda s: f"/wilayah/{s.desa}/data/baru"),
    row("/wilayah/<int:wilayah_id>/data/<round_>/<int:year>", "GET", DATA_DESA,
        lambda s: f"/wilayah/{s.desa}/data/verval_krs/2025"),
    row("/wilayah/<int:wilayah_id>/data/<round_>/<int:year>", "POST", DATA_DESA,
        lambda s: f"/wilayah/{s.desa}/data/verval_krs/2025",
        lambda s: {"families_targeted": "100", "krs": "12", "version": "1", "note": ""}, variant="desa"),
    row("/wilayah/<int:wilayah_id>/data/<round_>/<int:year>", "POST", DATA_REGION,
        lambda s: f"/wilayah/{s.kab}/data/verval_krs/2025",
        lambda s: {"families_targeted": "900", "krs": "60", "version": "1", "note": ""}, variant="kabupaten"),
    row("/wilayah/<int:wilayah_id>/data/impor", "GET", DATA_DESA, lambda s: f"/wilayah/{s.desa}/data/impor"),
    row("/wilayah/<int:wilayah_id>/data/impor", "POST", DATA_DESA, lambda s: f"/wilayah/{s.desa}/data/impor",
        lambda s: {"file": (io.BytesIO(DATA_CSV), "data.csv")}, multipart=True),
    row("/wilayah/<int:wilayah_id>/data/impor/<token>", "GET", DATA_DESA,
        lambda s: f"/wilayah/{s.desa}/data/impor/{s.token}", prepare=_stage_data(None)),
    row("/wilayah/<int:wilayah_id>/data/impor/<token>", "POST", DATA_DESA,
        lambda s: f"/wilayah/{s.desa}/data/impor/{s.token}", lambda s: {}, prepare=_stage_data(None)),
    row("/wilayah/<int:wilayah_id>/data/impor/<token>", "POST", DATA_DESA,
        lambda s: f"/wilayah/{s.desa}/data/impor/{s.token}", lambda s: {}, prepare=_stage_data("bendahara"),
        variant="someone else's upload", writes=False, check=_back_to_upload),

    # -- Langganan kalender and feeds --------------------------------------------------------------
    row("/kalender", "GET", SIGNED_IN, lambda s: "/kalender"),
    row("/kalender", "POST", SUBSCRIBE_KB, lambda s: "/kalender", _subscription_form("kampung"),
        variant="whole plan"),
    row("/kalender", "POST", SUBSCRIBE_KB, lambda s: "/kalender", _subscription_form("seksi", seksi="data"),
        variant="one seksi"),
    row("/kalender", "POST", SUBSCRIBE_MINE, lambda s: "/kalender", _subscription_form("saya"),
        variant="kegiatan saya"),
    row("/kalender", "POST", SUBSCRIBE_AREA, lambda s: "/kalender",
        _subscription_form("wilayah", wilayah=lambda s: str(s.kab)), variant="kabupaten"),
    row("/kalender/<int:subscription_id>/cabut", "POST", SIGNED_IN, lambda s: f"/kalender/{s.subscription}/cabut",
        lambda s: {}, prepare=_own_subscription, variant="own"),
    row("/kalender/<int:subscription_id>/cabut", "POST", NOT_YOURS,
        lambda s: f"/kalender/{s.bendahara_subscription}/cabut", lambda s: {}, variant="someone else's"),
    row("/kalender/cabut-semua", "POST", SIGNED_IN, lambda s: "/kalender/cabut-semua", lambda s: {},
        prepare=_own_subscription),
    # "fetch a feed URL: the token alone": who is signed in does not matter.
    row("/ical/<token>.ics", "GET", PUBLIC, lambda s: f"/ical/{s.feed_token}.ics", variant="active"),
    row("/ical/<token>.ics", "GET", GONE, lambda s: f"/ical/{s.revoked_feed_token}.ics", variant="revoked"),
    row("/rencana/<int:plan_id>/kegiatan/<int:row_id>/kalender.ics", "GET", READ,
        lambda s: f"/rencana/{s.approved}/kegiatan/{s.approved_row}/kalender.ics"),

    # -- Verifikasi dokumen: public --------------------------------------------------------------
    row("/verifikasi", "GET", PUBLIC, lambda s: "/verifikasi"),
    row("/verifikasi/<code>", "GET", PUBLIC, lambda s: f"/verifikasi/{s.verification_code}"),
]

# Rules outside the matrix: static files, and the liveness probe (no data, no session).
UNLISTED = {"/static/<path:filename>", "/healthz"}

# Cases whose outcome contradicts docs/permissions.md: (rule, method, variant, role) → reason.
# They run as strict xfails: fixing the bug makes them fail until the entry is removed.
BUGS = {}


def _cases():
    cases = []
    for entry in MATRIX:
        for role in ROLES:
            marks = []
            if (reason := BUGS.get((*entry.key, role))):
                marks.append(pytest.mark.xfail(strict=True, reason=reason))
            cases.append(pytest.param(entry, role, id=f"{entry.name} · {role}", marks=marks))
    return cases


CASES = _cases()
MATRIX_SIZE = len(CASES)


# -- the world ------------------------------------------------------------------------------------

def _build_world(upload_folder):
    """Everything the rows point at; returns the ids (and tokens) by name."""
    prov = Wilayah(level="provinsi", code="62", name="Kalimantan Tengah", timezone="Asia/Jakarta")
    kab = Wilayah(level="kabupaten", code="62.13", name="Barito Timur", kind="Kabupaten", parent=prov)
    kec = Wilayah(level="kecamatan", code="62.13.01", name="Dusun Timur", parent=kab)
    desa = Wilayah(level="desa", code="62.13.01.2001", name="Harara", kind="Desa", parent=kec)
    desa_b = Wilayah(level="desa", code="62.13.01.2002", name="Sumur", kind="Desa", parent=kec)
    papua = Wilayah(level="provinsi", code="91", name="Papua", timezone="Asia/Jayapura")
    kab_other = Wilayah(level="kabupaten", code="91.03", name="Jayapura", kind="Kabupaten", parent=papua)
    kec_other = Wilayah(level="kecamatan", code="91.03.01", name="Sentani", parent=kab_other)
    desa_other = Wilayah(level="desa", code="91.03.01.2001", name="Sereh", kind="Kelurahan", parent=kec_other)
    db.session.add_all([prov, papua])

    def account(username, area, **flags):
        user = User(username=username, full_name=username.replace(".", " ").title(), area=area, **flags)
        user.set_password(PASSWORD)
        db.session.add(user)
        return user

    users = {
        "admin": account("admin", None, is_platform_admin=True),
        "operator": account("op.kab", kab, is_operator=True),
        "operator_other": account("op.lain", kab_other, is_operator=True),
        "lurah": account("lurah", desa),
        "ketua": account("ketua", desa),
        "sekretaris": account("sekretaris", desa),
        "seksi_head": account("seksi.data", desa),
        "seksi_other": account("seksi.lingkungan", desa),
        "anggota": account("anggota", desa),
        "outsider": account("ketua.lain", desa_other),
        "no_position": account("tanpa.jabatan", desa),
        "bendahara": account("bendahara", desa),  # owns what nobody in ROLES owns
    }
    kampung = KampungKB(name="Kampung KB Harara", desa=desa)
    other_kampung = KampungKB(name="Kampung KB Sereh", desa=desa_other)
    positions = {}
    for key, kb, role, seksi in (("lurah", kampung, "pengarah", None), ("ketua", kampung, "ketua", None),
                                 ("sekretaris", kampung, "sekretaris", None), ("bendahara", kampung, "bendahara", None),
                                 ("seksi_head", kampung, "ketua_seksi", "data"),
                                 ("seksi_other", kampung, "ketua_seksi", "lingkungan"),
                                 ("anggota", kampung, "anggota", None), ("outsider", other_kampung, "ketua", None)):
        positions[key] = PokjaPosition(kampung=kb, role=role, seksi=seksi, user=users[key],
                                       person_name=users[key].full_name, started_on=date(2025, 1, 2))
        db.session.add(positions[key])
    db.session.commit()

    def plan(year, rows, *steps):
        made = create_plan(kampung, year, by=users["sekretaris"])
        for data in rows:
            add_row(made, dict(data), by=users["sekretaris"])
        db.session.commit()
        for name, role in steps:
            approval.perform(made, name, users[role], password=PASSWORD)
            db.session.commit()
        return made

    approved = plan(YEAR, [
        {"part": "I", "kegiatan": "Rapat bulanan Pokja", "schedule_text": "Setiap bulan",
         "funding_text": "Dana Desa Rp 1.200.000"},
        {"part": "I", "kegiatan": "Pendataan keluarga baru", "schedule_text": f"Tanggal 12 Maret {YEAR}"},
        {"part": "IV", "kegiatan": "Kerja bakti lingkungan", "schedule_text": f"Tanggal 5 Februari {YEAR}"},
    ], ("ajukan", "ketua"), ("setujui", "lurah"))
    two_parts = [{"part": "I", "kegiatan": "Pendataan keluarga", "schedule_text": f"Juli {YEAR + 1}"},
                 {"part": "I", "kegiatan": "Rekap data", "schedule_text": f"Agustus {YEAR + 1}"},
                 {"part": "IV", "kegiatan": "Kerja bakti", "schedule_text": f"Mei {YEAR + 1}"}]
    draft = plan(YEAR + 1, two_parts)
    submitted = plan(YEAR + 2, two_parts[:1], ("ajukan", "sekretaris"))
    signed = plan(YEAR + 3, two_parts[:1], ("ajukan", "ketua"))
    first_row = {p.id: min((r for r in p.rows if r.part == "I"), key=lambda r: r.position) for p in (approved, draft)}
    assert approved.status == "disetujui" and first_row[approved.id].seksi == "data"

    picture = io.BytesIO()
    Image.new("RGB", (8, 8), "green").save(picture, "PNG")
    picture.seek(0)
    realisation = add_realisation(first_row[approved.id], {"on": date(YEAR, 2, 1), "description": "Rapat Februari",
                                                           "people_reached": 10, "spends": {}},
                                  by=users["seksi_head"], photo_name=save_photo(FileStorage(picture, "bukti.png")))
    rumahdata.save(desa, "verval_krs", 2025, {"families_targeted": 100, "krs": 10}, None)
    rumahdata.save(kab, "verval_krs", 2025, {"families_targeted": 800, "krs": 50}, None)
    subscription, feed_token = feed_services.create(users["bendahara"], "HP bendahara", "kampung", kampung=kampung)
    revoked, revoked_token = feed_services.create(users["bendahara"], "HP lama", "kampung", kampung=kampung)
    feed_services.revoke(revoked)
    db.session.commit()

    return dict(
        user_ids={key: user.id for key, user in users.items()}, usernames={key: u.username for key, u in users.items()},
        kab=kab.id, desa=desa.id, desa_b=desa_b.id, kampung=kampung.id,
        anggota_position=positions["anggota"].id,
        approved=approved.id, approved_row=first_row[approved.id].id, draft=draft.id, draft_row=first_row[draft.id].id,
        submitted=submitted.id, signed=signed.id, verification_code=approved.verification_code,
        realisation=realisation.id, bendahara_subscription=subscription.id, feed_token=feed_token,
        revoked_feed_token=revoked_token, upload_folder=upload_folder,
    )


@dataclass
class World:
    app: object
    connection: object
    refs: dict = field(default_factory=dict)  # ids and tokens of the world's objects by name
    cookies: dict = field(default_factory=dict)  # role → session cookie issued by /masuk


def _use_explicit_sqlite_transactions(engine):
    """pysqlite begins transactions lazily and lets a SAVEPOINT start one, so releasing that
    savepoint would commit. Emit BEGIN ourselves (SQLAlchemy's recipe for SAVEPOINT on SQLite)."""
    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN")


@pytest.fixture(scope="module")
def world(suite_database, tmp_path_factory):
    """The world, built once inside an outer transaction that is rolled back at the end. The
    app's session joins that transaction through SAVEPOINTs (``create_savepoint``), so the
    services' and views' commits never reach the database."""
    upload_folder = tmp_path_factory.mktemp("matrix-uploads")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": suite_database, "UPLOAD_FOLDER": str(upload_folder)})
    app.test_client_class = RequestLikeClient
    on_sqlite = suite_database.startswith("sqlite")
    with pytest.MonkeyPatch.context() as patch, app.app_context():
        patch.setattr(KampungKB, "today", lambda self: TODAY)
        engine = db.engine
        if on_sqlite:
            _use_explicit_sqlite_transactions(engine)
            db.create_all()
        connection = engine.connect()
        outer = connection.begin()
        # The session binds to this connection instead of the engine (a Connection is a valid
        # bind; Flask-SQLAlchemy looks the bind up in this mapping).
        patch.setitem(db.engines, None, connection)
        patch.setitem(db.session.session_factory.kw, "join_transaction_mode", "create_savepoint")
        db.session.remove()
        try:
            refs = _build_world(upload_folder)
            db.session.remove()
            yield World(app, connection, refs)
        finally:
            db.session.remove()
            outer.rollback()
            connection.close()
            if not on_sqlite:  # sequences do not roll back; leave them as the suite expects
                tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
                with engine.begin() as conn:
                    conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
            engine.dispose()


@pytest.fixture
def visit(world):
    """A client for one case, inside a SAVEPOINT rolled back afterwards."""
    with world.app.app_context():
        savepoint = world.connection.begin_nested()
        try:
            yield world.app.test_client()
        finally:
            db.session.remove()
            if savepoint.is_active:
                savepoint.rollback()


# -- what a response means ------------------------------------------------------------------------

def outcome(response):
    code = response.status_code
    if code == 401 and urlsplit(response.headers.get("HX-Redirect", "")).path == "/masuk":
        return "login"
    if 300 <= code < 400:
        target = urlsplit(response.headers["Location"])
        return "login" if target.path == "/masuk" and "next" in parse_qs(target.query) else "ok"
    if 200 <= code < 300:
        return "ok"
    return str(code)


def fingerprint(upload_folder):
    """Every row of every table, and the staged uploads: what a refused POST must not change."""
    tables = {}
    connection = db.session.connection()
    for table in db.metadata.sorted_tables:
        rows = connection.exec_driver_sql(f'SELECT * FROM "{table.name}"')
        tables[table.name] = sorted(repr(tuple(r)) for r in rows)
    staged = Path(upload_folder) / "imports"
    tables["(staged uploads)"] = sorted(p.name for p in staged.iterdir()) if staged.exists() else []
    return tables


def changed(before, after):
    """The tables that differ, each with a few of the rows only before (-) or only after (+)."""
    out = []
    for name in before:
        if before[name] != after[name]:
            gone = [f"- {r[:200]}" for r in before[name] if r not in after[name]][:3]
            new = [f"+ {r[:200]}" for r in after[name] if r not in before[name]][:3]
            out.append("\n  ".join([name, *gone, *new]))
    return out


def sign_in(world, client, role):
    """Sign in through /masuk once per role; later cases reuse that session cookie (the
    database, session token included, is back as it was when the cookie was issued)."""
    name = world.app.config["SESSION_COOKIE_NAME"]
    if role not in world.cookies:
        response = client.post("/masuk", data={"username": world.refs["usernames"][role], "password": PASSWORD})
        assert response.status_code == 302, f"could not sign in as {role}"
        world.cookies[role] = client.get_cookie(name).value
    else:
        client.set_cookie(name, world.cookies[role])


# -- the tests ------------------------------------------------------------------------------------

def test_every_route_has_a_row():
    """A route added without a row, or a row left behind by a removed route, fails here."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    routes = {(rule.rule, method) for rule in app.url_map.iter_rules() if rule.rule not in UNLISTED
              for method in rule.methods & {"GET", "POST"}}
    rows = {(entry.rule, entry.method) for entry in MATRIX}
    missing = sorted(routes - rows)
    stale = sorted(rows - routes)
    assert not missing and not stale, (
        "".join(f"\nno MATRIX row for {method} {rule}" for rule, method in missing)
        + "".join(f"\nMATRIX row for {method} {rule}, which no longer exists" for rule, method in stale))


def test_matrix_is_well_formed():
    keys = [entry.key for entry in MATRIX]
    assert len(keys) == len(set(keys)), "two rows with the same rule, method and variant"
    assert MATRIX_SIZE == len(MATRIX) * len(ROLES)
    assert all(entry.data is not None for entry in MATRIX if entry.method == "POST")


@pytest.mark.parametrize("entry,role", CASES)
def test_permission(entry, role, world, visit):
    refs = world.refs
    scene = SimpleNamespace(**refs, role=role, user_id=refs["user_ids"].get(role), token=None)
    if role != "anonymous":
        sign_in(world, visit, role)
    if entry.prepare:
        entry.prepare(scene)
    url = entry.path(scene)
    headers = {"HX-Request": "true"} if entry.htmx else {}
    if entry.method == "GET":
        response = visit.get(url, headers=headers)
    else:
        before = fingerprint(scene.upload_folder)
        response = visit.post(url, data=entry.data(scene), headers=headers,
                              content_type="multipart/form-data" if entry.multipart else None)
    expected = entry.expected[role]
    got = outcome(response)
    assert got == expected, (f"{entry.method} {url} as {role}: expected {expected}, got {got} "
                             f"({response.status_code} {response.headers.get('Location', '')})")
    if entry.method == "GET" and got == "ok" and not entry.redirects:
        assert 200 <= response.status_code < 300, (
            f"GET {url} as {role} redirected to {response.headers.get('Location')} instead of answering")
    if entry.method == "POST":
        differences = changed(before, fingerprint(scene.upload_folder))
        if expected != "ok" or entry.writes is False:
            assert not differences, (f"{entry.method} {url} as {role} answered {got} but changed:\n"
                                     + "\n".join(differences))
        elif entry.writes:
            assert differences, f"{entry.method} {url} as {role} answered {got} but stored nothing"
    if entry.check and expected == "ok":
        entry.check(scene, response)

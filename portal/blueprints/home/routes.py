from flask_login import current_user, login_required

from portal.blueprints.home import bp
from portal.blueprints.kampung.services import kampungs_for_home, vacancies
from portal.blueprints.plans.approval import waiting_for
from portal.rendering import render


@bp.route("/")
@login_required
def index():
    """Beranda: the user's Kampung KBs, their positions there, and what waits for them."""
    cards = []
    for kampung in kampungs_for_home(current_user):
        cards.append({
            "kampung": kampung,
            "positions": current_user.active_positions(kampung),
            "vacancies": vacancies(kampung) if kampung.can_manage_roster(current_user) else [],
            "waiting": waiting_for(current_user, kampung),
        })
    return render("home/index.html", cards=cards)


@bp.route("/healthz")
def healthz():
    """Liveness probe; also the baseline the benchmark compares pages against."""
    return {"status": "ok"}

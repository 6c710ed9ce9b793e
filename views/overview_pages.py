"""The overview: the landing page after login (the fleet at a glance, configs/fleet.py)."""
from flask import Blueprint, render_template

from configs.fleet import overview
from views.rendering import settings

blueprint = Blueprint("overview", __name__)


@blueprint.get("/")
def index():
    return render_template("overview.html", **overview(settings().thymis_flake_url))

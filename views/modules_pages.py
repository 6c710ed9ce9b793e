from flask import Blueprint, render_template

from configs.catalog import grouped_modules

blueprint = Blueprint("modules", __name__)


@blueprint.get("/modules")
def index():
    return render_template("modules.html", groups=grouped_modules())

"""JSON API: import a Thymis state.json (the request body, as the file is: curl --data-binary @state.json)."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from configs.thymis_import import import_state
from views.rendering import settings

blueprint = Blueprint("api_import", __name__, url_prefix="/api")


@blueprint.post("/thymis/import")
def import_thymis_state():
    report = import_state(request.get_data(cache=False), settings(), "API request")
    return jsonify(report.as_json()), 201

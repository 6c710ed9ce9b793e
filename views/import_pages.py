"""The "Import from Thymis" page: upload a Thymis state.json; the same service and messages as `thymis import`."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from configs.thymis_import import MAX_STATE_BYTES, import_state
from errors import FieldError, InputError
from views.rendering import settings

blueprint = Blueprint("thymis_import", __name__)


@blueprint.get("/import")
def index():
    return render_template("thymis_import.html", report=None, error=None)


@blueprint.post("/import")
def upload():
    upload = request.files.get("state")
    try:
        if upload is None or not upload.filename:
            raise InputError([FieldError("state", "choose a Thymis state.json to import", "required")])
        data = upload.stream.read(MAX_STATE_BYTES + 1)
        report = import_state(data, settings(), f"upload {upload.filename}")
    except InputError as exc:
        return render_template("thymis_import.html", report=None, error=exc), exc.status
    return render_template("thymis_import.html", report=report, error=None)

"""Secrets pages: the list with a form to add one, a secret's page (where it is used, replace the value, delete).

A value is write-only here too: forms never show it again, not even after an error."""
from __future__ import annotations

import base64

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from errors import InputError
from models import Secret
from secret_store import service
from secret_store.usage import all_usages
from views.rendering import confirm, settings

blueprint = Blueprint("secrets_pages", __name__)


@blueprint.app_context_processor
def _helpers():
    return {"secret_choices": service.names_of_types}


def _form() -> MultiDict:
    """The submitted form, an uploaded file as value_base64."""
    form = MultiDict(request.form)
    upload = request.files.get("file")
    if upload and upload.filename:
        form["value_base64"] = base64.b64encode(upload.read()).decode("ascii")
    return form


def _list_page(error: InputError | None = None, form: dict | None = None, status: int = 200):
    usages = all_usages()
    rows = [(row, service.used_by_json(usages.get(row.name, []))) for row in Secret.select().order_by(Secret.name)]
    shown = {key: value for key, value in (form or {}).items() if key in ("name", "type")}
    return render_template("secrets.html", rows=rows, kinds=service.LABELS, error=error, form=shown), status


def _detail_page(row: Secret, error: InputError | None = None, status: int = 200):
    return render_template("secret_detail.html", row=row, kinds=service.LABELS, error=error,
                           used_by=service.used_by_json(all_usages().get(row.name, []))), status


@blueprint.get("/secrets")
def index():
    return _list_page()


@blueprint.post("/secrets")
def create():
    form = _form()
    try:
        row = service.save_secret(settings(), form)
    except InputError as exc:
        return _list_page(exc, form, exc.status)
    flash(f"Saved secret {row.name} ({row.size} bytes, encrypted).")
    return redirect(url_for("secrets_pages.detail", name=row.name))


@blueprint.get("/secrets/<name>")
def detail(name: str):
    return _detail_page(service.get_secret(name))


@blueprint.post("/secrets/<name>")
def update(name: str):
    row = service.get_secret(name)
    try:
        service.save_secret(settings(), _form(), row)
    except InputError as exc:
        return _detail_page(service.get_secret(name), exc, exc.status)
    flash(f"Saved secret {name}.")
    return redirect(url_for("secrets_pages.detail", name=name))


def _confirm_delete(row: Secret):
    """Delete asks first, listing where the secret is used; one in use is refused here already (no Delete)."""
    uses = all_usages().get(row.name, [])
    refused = service.in_use_message(row, uses)
    where = [(f"{use['kind']} {use['name']}", url_for("configs.detail", kinds=use["kind"] + "s", name=use["name"]),
              f"{use['module']}: {use['setting']}") for use in uses]
    return confirm(f"Secret {row.name} is in use" if refused else f"Delete secret {row.name}?",
                   f"Deleting removes the encrypted value of `{row.name}` ({row.kind}, {row.size} bytes) from the "
                   "controller; devices keep their copy until their next deploy.", note=refused,
                   action=None if refused else url_for("secrets_pages.delete", name=row.name),
                   button=None if refused else "Delete secret", danger=True,
                   cancel=url_for("secrets_pages.detail", name=row.name), affected=[("Used by", where)])


@blueprint.route("/secrets/<name>/delete", methods=["GET", "POST"])
def delete(name: str):
    row = service.get_secret(name)
    if request.method == "GET":
        return _confirm_delete(row)
    try:
        service.delete_secret(row)
    except InputError as exc:
        return _detail_page(row, exc, exc.status)
    flash(f"Deleted secret {name}.")
    return redirect(url_for("secrets_pages.index"))

"""JSON API for secrets: values are write-only (sent in a POST or PATCH, never answered)."""
from __future__ import annotations

from flask import Blueprint, jsonify

from models import Secret
from secret_store import service
from secret_store.usage import all_usages
from views.api_errors import json_body
from views.paging import json_page, paginate, query_args, search_text
from views.rendering import settings

blueprint = Blueprint("api_secrets", __name__, url_prefix="/api")


@blueprint.get("/secrets")
def list_secrets():
    """?q= (in the name), ?type=, ?page=, ?per_page=."""
    v = query_args()
    text = search_text(v)
    kind = v.choice("type", service.KINDS, message=f"type must be one of: {', '.join(service.KINDS)}")
    query = Secret.select().order_by(Secret.name)
    if text:
        query = query.where(Secret.name.contains(text))
    if kind:
        query = query.where(Secret.kind == kind)
    page = paginate(query, v)
    usages = all_usages()
    return json_page(page, [service.secret_json(row, usages) for row in page.items])


@blueprint.post("/secrets")
def create_secret():
    row = service.save_secret(settings(), json_body())
    return jsonify(service.secret_json(row)), 201, {"Location": f"/api/secrets/{row.name}"}


@blueprint.get("/secrets/<name>")
def get_secret(name: str):
    return jsonify(service.secret_json(service.get_secret(name)))


@blueprint.patch("/secrets/<name>")
def update_secret(name: str):
    return jsonify(service.secret_json(service.save_secret(settings(), json_body(), service.get_secret(name))))


@blueprint.delete("/secrets/<name>")
def delete_secret(name: str):
    service.delete_secret(service.get_secret(name))
    return "", 204

"""JSON API for reviewing a repository's candidate commit (review: required)."""
from __future__ import annotations

from flask import Blueprint, g, jsonify

from repos import repositories as service
from repos import review
from views.api_errors import json_body
from views.rendering import settings

blueprint = Blueprint("api_review", __name__, url_prefix="/api")


@blueprint.get("/repositories/<name>/candidate")
def candidate(name: str):
    return jsonify(review.candidate_json(service.get_repository(name), settings()))


@blueprint.post("/repositories/<name>/approve")
def approve(name: str):
    repo = review.approve(service.get_repository(name), json_body(), g.auth)
    return jsonify(service.repository_json(repo))


@blueprint.post("/repositories/<name>/reject")
def reject(name: str):
    repo = review.reject(service.get_repository(name), json_body(), g.auth)
    return jsonify(service.repository_json(repo))

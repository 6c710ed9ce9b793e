"""JSON API for repositories: what curl users depend on (see DESIGN.md)."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from auth import json_error
from models import Repository
from pipeline import repositories as service
from pipeline.inputs import FieldError, InputError
from views.rendering import settings

blueprint = Blueprint("api_repositories", __name__, url_prefix="/api")


def json_body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InputError([FieldError("body", "send a JSON object with Content-Type: application/json",
                                             "invalid_json")])
    return data


def input_error(exc: InputError):
    first = exc.first
    response, status = json_error(exc.status, "conflict" if exc.status == 409 else first.code, first.message,
                                  first.field)
    body = response.get_json()
    body["error"]["errors"] = [{"field": e.field, "message": e.message, "code": e.code} for e in exc.errors]
    return jsonify(body), status


def conflict(exc: service.JobConflict):
    return json_error(409, "conflict", f"a fetch of this repository is already {exc.job.state} (job {exc.job.id})")


@blueprint.errorhandler(InputError)
def _input_error(exc):
    return input_error(exc)


@blueprint.errorhandler(service.NotFound)
def _not_found(exc):
    return json_error(404, "not_found", str(exc))


@blueprint.errorhandler(service.JobConflict)
def _conflict(exc):
    return conflict(exc)


@blueprint.get("/repositories")
def list_repositories():
    return jsonify([service.repository_json(r) for r in Repository.select().order_by(Repository.name)])


@blueprint.post("/repositories")
def create_repository():
    repo, job = service.create_repository(json_body(), settings())
    body = service.repository_json(repo)
    body["job_id"] = job.id
    return jsonify(body), 201, {"Location": f"/api/repositories/{repo.name}"}


@blueprint.get("/repositories/<name>")
def get_repository(name: str):
    return jsonify(service.repository_json(service.get_repository(name)))


@blueprint.patch("/repositories/<name>")
def update_repository(name: str):
    repo, job = service.update_repository(service.get_repository(name), json_body(), settings())
    body = service.repository_json(repo)
    body["job_id"] = job.id if job else body["job_id"]
    return jsonify(body)


@blueprint.delete("/repositories/<name>")
def delete_repository(name: str):
    service.delete_repository(service.get_repository(name), settings())
    return "", 204


@blueprint.post("/repositories/<name>/refresh")
def refresh_repository(name: str):
    job = service.refresh_repository(service.get_repository(name))
    return jsonify({"job_id": job.id}), 202

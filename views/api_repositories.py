"""JSON API for repositories: what curl users depend on (see DESIGN.md)."""
from __future__ import annotations

from flask import Blueprint, jsonify

from models import Repository
from repos import repositories as service
from repos.listing import matching, status_filter
from views.api_errors import json_body
from views.cached import reused_response
from views.paging import json_page, paginate, query_args, search_text
from views.rendering import settings

blueprint = Blueprint("api_repositories", __name__, url_prefix="/api")


@blueprint.get("/repositories")
@reused_response
def list_repositories():
    """?q= (in the input or display name), ?status=, ?page=, ?per_page= (see views/paging.py)."""
    v = query_args()
    query = matching(search_text(v), status_filter(v)).order_by(Repository.name)
    page = paginate(query, v)
    return json_page(page, service.repositories_json(page.items))


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

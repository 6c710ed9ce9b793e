"""JSON API for building, deploying and rolling back devices."""
from __future__ import annotations

from flask import Blueprint, jsonify

from deploy import service
from deploy.generations import deployments as history
from deploy.generations import device_generations, generation_json
from deploy.render import GenerationError
from errors import FieldError, InputError, hide_paths
from sandbox import SandboxError
from views.api_errors import json_body
from views.rendering import settings

blueprint = Blueprint("api_deploy", __name__, url_prefix="/api")


def _accepted(job):
    return jsonify({"job_id": job.id}), 202, {"Location": f"/api/jobs/{job.id}"}


@blueprint.post("/devices/<name>/build")
def build(name: str):
    return _accepted(service.build_device(name))


@blueprint.post("/devices/<name>/deploy")
def deploy(name: str):
    return _accepted(service.deploy_device(name))


@blueprint.post("/devices/<name>/rollback")
def rollback(name: str):
    body = json_body()
    return _accepted(service.rollback_device(name, body.get("generation"), body.get("store_path")))


@blueprint.get("/devices/<name>/generations")
def generations(name: str):
    """The target's profile generations (read from the target), newest first."""
    return jsonify([generation_json(g) for g in device_generations(name, settings())[1]])


@blueprint.get("/devices/<name>/deployments")
def deployments(name: str):
    """The device's builds (build only), deploys and rollbacks, newest first."""
    return jsonify([service.deployment_json(row) for row in history(name)])


@blueprint.get("/devices/<name>/preview")
def preview(name: str):
    try:
        result = service.preview(name, settings())
    except (GenerationError, SandboxError) as exc:
        raise InputError([FieldError("modules", hide_paths(str(exc)))], status=409) from None
    return jsonify({"device": result.device, "files": result.files, "diff": result.diff, "against": result.against})


@blueprint.post("/tags/<name>/deploy")
def deploy_tag(name: str):
    return _accepted(service.deploy_tag(name))


@blueprint.get("/thymis-input")
def get_thymis_input():
    from repos.thymis_override import thymis_candidates, thymis_choice, thymis_conflict
    return jsonify({"candidates": thymis_candidates(), "chosen": thymis_choice(), "conflict": bool(thymis_conflict())})


@blueprint.put("/thymis-input")
def put_thymis_input():
    from repos.thymis_override import choose_thymis
    choose_thymis(json_body().get("repository"))
    return get_thymis_input()

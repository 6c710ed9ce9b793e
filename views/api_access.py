"""JSON API for repository access: test connection, deploy keys, known SSH hosts, the host SSH key."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from errors import FieldError, InputError
from repos import access, connection_check, known_hosts, ssh_keys
from repos import repositories as service
from views.api_errors import json_body
from views.rendering import settings

blueprint = Blueprint("api_access", __name__, url_prefix="/api")


def _optional_body() -> dict:
    return json_body() if request.get_data() else {}


@blueprint.post("/repositories/<name>/test-connection")
def test_repository_connection(name: str):
    repo = service.get_repository(name)
    return jsonify(connection_check.check_repository(repo, _optional_body(), settings()))


@blueprint.post("/test-connection")
def test_new_connection():
    return jsonify(connection_check.check_new(json_body(), settings()))


def _deploy_key(row) -> dict:
    return {"public_key": row.deploy_public_key, "fingerprint": ssh_keys.public_fingerprint(row.deploy_public_key),
            "active": row.kind == access.DEPLOY_KEY}


@blueprint.get("/repositories/<name>/deploy-key")
def get_deploy_key(name: str):
    row = access.access_row(service.get_repository(name))
    if not row.deploy_public_key:
        raise service.NotFound(f"repository '{name}' has no deploy key yet: POST to this URL to generate one")
    return jsonify(_deploy_key(row))


@blueprint.post("/repositories/<name>/deploy-key")
def generate_deploy_key(name: str):
    row = access.regenerate_deploy_key(service.get_repository(name), settings())
    return jsonify(_deploy_key(row)), 201


@blueprint.get("/host-ssh-key")
def host_ssh_key():
    return jsonify(access.host_key_json(settings(), create=True))


@blueprint.get("/known-hosts")
def list_known_hosts():
    return jsonify([known_hosts.known_host_json(row) for row in known_hosts.all_hosts()])


@blueprint.post("/known-hosts")
def add_known_hosts():
    lines = json_body().get("lines")
    if not isinstance(lines, str):
        raise InputError([FieldError("lines", "send {\"lines\": \"<known_hosts lines>\"}", "required")])
    rows = known_hosts.add_operator_keys(lines, settings())
    return jsonify([known_hosts.known_host_json(row) for row in rows]), 201


@blueprint.delete("/known-hosts/<host>")
def reset_known_host(host: str):
    port = request.args.get("port", "22")
    if not port.isdigit():
        raise InputError([FieldError("port", "port must be a number")])
    known_hosts.reset_host(host, int(port), settings())
    return "", 204

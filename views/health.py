from flask import Blueprint, jsonify

import nixcli

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz():
    return jsonify({"status": "ok", "nix_version": nixcli.version()})

from flask import Blueprint, jsonify

import nixcli
import sandbox

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz():
    status = sandbox.isolation()
    return jsonify({"status": "ok", "nix_version": nixcli.version(),
                    "sandbox": {"isolation": status["isolation"], "python": status["python"],
                                "python_fallback": status["python_warning"] is not None}})

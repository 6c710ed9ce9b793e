from flask import Blueprint, jsonify

import nixcli
import sandbox
from deploy.reachability import reachability
from views.rendering import settings

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz():
    status = sandbox.isolation()
    return jsonify({"status": "ok", "nix_version": nixcli.version(),
                    "sandbox": {"isolation": status["isolation"], "python": status["python"],
                                "python_fallback": status["python_warning"] is not None},
                    # from the last background check (deploy/reachability.py): never waits for the network
                    "thymis_flake": reachability.status(settings().thymis_flake_url).json()})

"""The OpenAPI document for the JSON API, served at /api/openapi.json.

Written by hand; every response of the test suite is validated against it (tests/support/openapi_check.py),
so a change to a response shape fails the tests until the document says the same.
"""
from flask import Blueprint, jsonify

from views.openapi_access import extend as extend_with_access
from views.openapi_audit import extend as extend_with_audit
from views.openapi_device_ssh import extend as extend_with_device_ssh
from views.openapi_generations import extend as extend_with_generations
from views.openapi_hooks import extend as extend_with_hooks
from views.openapi_import import extend as extend_with_import
from views.openapi_jobs import extend as extend_with_jobs
from views.openapi_last_deploy import extend as extend_with_last_deploy
from views.openapi_paging import extend as extend_with_paging
from views.openapi_refs import extend as extend_with_refs
from views.openapi_review import extend as extend_with_review
from views.openapi_schemas import (
    BOOLEAN,
    CHANGE,
    CHANGE_NAMED,
    DELETE_NAMED,
    NAME_PARAMETER,
    NULLABLE_STRING,
    NULLABLE_TIME,
    READ,
    READ_NAMED,
    SCHEMAS,
    STRING,
    array,
    closed,
    errors,
    json_body,
    json_response,
    ref,
)
from views.openapi_secrets import extend as extend_with_secrets

blueprint = Blueprint("openapi", __name__, url_prefix="/api")

ACCEPTED = {"202": json_response(ref("Accepted"), "started; follow /api/jobs/{job_id}")}
JOB_START = errors("400", "404", "409")
# /healthz: the installed nix's version (null: nix is missing or does not answer)
HEALTH_NIX = {"nix_version": {"type": ["string", "null"], "description": "the installed nix's version, e.g. 2.8.0"}}
JOB_ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]


def _list(schema: str) -> dict:
    return {"200": json_response(array(ref(schema))), **READ}


def _collection(plural: str, schema: str) -> dict:
    return {
        f"/api/{plural}": {
            "get": {"responses": _list(schema)},
            "post": {"requestBody": json_body(ref(f"{schema}Input")),
                     "responses": {"201": json_response(ref(schema), "created (Location names it)"), **CHANGE}},
        },
        f"/api/{plural}/{{name}}": {
            "parameters": NAME_PARAMETER,
            "get": {"responses": {"200": json_response(ref(f"{schema}Detail" if schema == "Device" else schema)),
                                  **READ_NAMED}},
            "patch": {"requestBody": json_body(ref(f"{schema}Patch")),
                      "responses": {"200": json_response(ref(schema)), **CHANGE_NAMED}},
            "delete": {"responses": {"204": {"description": "deleted"}, **DELETE_NAMED}},
        },
    }


def _repository_with_job() -> dict:
    schema = ref("Repository")
    return {"allOf": [schema, {"required": ["job_id"], "properties": {"job_id": {"type": "integer"}}}]}


SANDBOX_STATUS = closed({
    "isolation": {"enum": ["bwrap", "none", "unavailable"],
                  "description": "bwrap: repository code runs in a bubblewrap sandbox; none: "
                                 "THYMIS_SANDBOX=unsafe-none (no isolation); unavailable: the sandbox cannot start, "
                                 "so validation and rendering fail (the pages say why)"},
    "python": {**NULLABLE_STRING, "description": "the version of the interpreter repository code runs on"},
    "python_fallback": {**BOOLEAN, "description": "true when that interpreter is older than 3.12 (no newer one "
                                                  "was found: the web app's own is used)"},
}, description="the sandbox repository code runs in")


# /healthz: the last background check of THYMIS_FLAKE_URL and its nixpkgs (deploy/reachability.py)
THYMIS_FLAKE_STATUS = closed({
    "state": {"enum": ["not-configured", "checking", "reachable", "unreachable"]},
    "reachable": {"type": ["boolean", "null"], "description": "null while not checked yet (or not configured)"},
    "message": {**STRING, "description": "one sentence, e.g. why it cannot be fetched and what to do"},
    "checked_at": NULLABLE_TIME}, description="checked in the background (10 min after success, 1 min after a "
                                              "failure); /healthz never waits for it")

PATHS = {
    "/healthz": {"get": {"security": [], "responses": {
        "200": json_response(closed({"status": {"const": "ok"}, **HEALTH_NIX, "sandbox": SANDBOX_STATUS,
                                     "thymis_flake": THYMIS_FLAKE_STATUS}))}}},
    "/api/openapi.json": {"get": {"responses": {
        "200": json_response({"type": "object", "required": ["openapi", "info", "paths", "components"]},
                             "this document"), **READ}}},
    "/api/repositories": {
        "get": {"responses": _list("Repository")},
        "post": {"requestBody": json_body(ref("RepositoryInput")),
                 "responses": {"201": json_response(_repository_with_job(), "created; job_id is the fetch job"),
                               **CHANGE}},
    },
    "/api/repositories/{name}": {
        "parameters": NAME_PARAMETER,
        "get": {"responses": {"200": json_response(ref("Repository")), **READ_NAMED}},
        "patch": {"requestBody": json_body(ref("RepositoryPatch")),
                  "responses": {"200": json_response(ref("Repository"), "job_id: the fetch the change started, "
                                                                        "if any"), **CHANGE_NAMED}},
        "delete": {"responses": {"204": {"description": "removed with its fetched data"}, **DELETE_NAMED}},
    },
    "/api/repositories/{name}/refresh": {
        "parameters": NAME_PARAMETER, "post": {"responses": {**ACCEPTED, **JOB_START}}},
    "/api/modules": {"get": {"responses": _list("Module")}},
    **_collection("devices", "Device"),
    **_collection("tags", "Tag"),
    **{f"/api/devices/{{name}}/{action}": {"parameters": NAME_PARAMETER,
                                           "post": {"responses": {**ACCEPTED, **JOB_START}}}
       for action in ("build", "deploy")},
    "/api/devices/{name}/preview": {"parameters": NAME_PARAMETER, "get": {"responses": {
        "200": json_response(ref("Preview")), **errors("404", "409")}}},
    "/api/thymis-input": {
        "get": {"responses": {"200": json_response(ref("ThymisInput")), **READ}},
        "put": {"requestBody": json_body(closed({"repository": {
                    "type": ["string", "null"], "description": "the candidate to use; null: none"}}, required=[])),
                "responses": {"200": json_response(ref("ThymisInput")), **CHANGE}}},
    "/api/tags/{name}/deploy": {"parameters": NAME_PARAMETER,
                                "post": {"responses": {**ACCEPTED, **JOB_START}}},
    "/api/jobs/{id}": {
        "parameters": JOB_ID,
        "get": {"responses": {"200": json_response(ref("Job")), **READ_NAMED}},
    },
    # Cancel: a queued or running job ends "cancelled", its processes are ended, its subject is as before.
    "/api/jobs/{id}/cancel": {
        "parameters": JOB_ID,
        "post": {"responses": {"200": json_response(ref("Job"), "cancelled"),
                               **errors("400", "404", "409")}},
    },
}

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": "Thymis controller appliance API", "version": "1"},
    "security": [{"bearer": []}, {"session": []}],
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                            "session": {"type": "apiKey", "in": "cookie", "name": "session"}},
        "schemas": dict(SCHEMAS),
    },
    "paths": PATHS,
}


extend_with_access(DOCUMENT)
extend_with_import(DOCUMENT)
extend_with_device_ssh(DOCUMENT)
extend_with_paging(DOCUMENT)
extend_with_review(DOCUMENT)
extend_with_jobs(DOCUMENT)
extend_with_secrets(DOCUMENT)
extend_with_audit(DOCUMENT)
extend_with_hooks(DOCUMENT)
extend_with_refs(DOCUMENT)
extend_with_generations(DOCUMENT)
extend_with_last_deploy(DOCUMENT)


@blueprint.get("/openapi.json")
def openapi():
    return jsonify(DOCUMENT)

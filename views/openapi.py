"""The OpenAPI document for the JSON API, served at /api/openapi.json."""
from flask import Blueprint, jsonify

from views.openapi_access import extend as extend_with_access

blueprint = Blueprint("openapi", __name__, url_prefix="/api")


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema, description="OK"):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {code: _json(_ref("Error"), text) for code, text in
          (("401", "not authenticated"), ("404", "unknown name"), ("409", "conflict"), ("422", "invalid input"))}
NAME = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": "Thymis controller appliance API", "version": "1"},
    "security": [{"bearer": []}, {"session": []}],
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                            "session": {"type": "apiKey", "in": "cookie", "name": "session"}},
        "schemas": {
            "Error": {"type": "object", "properties": {"error": {"type": "object", "required": ["code", "message"],
                      "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                                     "field": {"type": "string"}}}}},
            "RepositoryInput": {"type": "object", "required": ["display_name", "url"], "properties": {
                "display_name": {"type": "string"}, "url": {"type": "string"},
                "name": {"type": "string", "description": "flake input name; derived when omitted"},
                "ref": {"type": "string", "description": "branch, tag or full commit; default the remote's HEAD"}}},
            "Step": {"type": "object", "properties": {"step": {"type": "string"}, "detail": {"type": "string"},
                     "state": {"enum": ["pending", "running", "passed", "failed", "skipped", "warning"]}}},
            "Repository": {"type": "object", "properties": {
                "name": {"type": "string"}, "display_name": {"type": "string"}, "url": {"type": "string"},
                "ref": {"type": ["string", "null"]}, "status": {"type": "string"},
                "active_commit": {"type": ["string", "null"]}, "fetched_commit": {"type": ["string", "null"]},
                "steps": {"type": "array", "items": _ref("Step")},
                "modules": {"type": "array", "items": {"type": "object"}},
                "last_checked_at": {"type": ["string", "null"], "format": "date-time"},
                "last_error": {"type": ["string", "null"]}, "job_id": {"type": ["integer", "null"]}}},
            "Job": {"type": "object", "properties": {
                "id": {"type": "integer"}, "kind": {"type": "string"},
                "state": {"enum": ["queued", "running", "succeeded", "failed"]},
                "progress": {"type": "object", "properties": {"phase": {"type": "string"}, "done": {"type": "integer"},
                                                              "total": {"type": "integer"}}},
                "log": {"type": "string"}, "error": {"type": ["string", "null"]},
                "started_at": {"type": ["string", "null"]}, "finished_at": {"type": ["string", "null"]}}},
        },
    },
    "paths": {
        "/healthz": {"get": {"security": [], "responses": {"200": _json({"type": "object"})}}},
        "/api/repositories": {
            "get": {"responses": {"200": _json({"type": "array", "items": _ref("Repository")}), **ERRORS}},
            "post": {"requestBody": {"content": {"application/json": {"schema": _ref("RepositoryInput")}}},
                     "responses": {"201": _json(_ref("Repository"), "created; job_id is the fetch job"), **ERRORS}},
        },
        "/api/repositories/{name}": {
            "parameters": NAME,
            "get": {"responses": {"200": _json(_ref("Repository")), **ERRORS}},
            "patch": {"requestBody": {"content": {"application/json": {"schema": _ref("RepositoryInput")}}},
                      "responses": {"200": _json(_ref("Repository")), **ERRORS}},
            "delete": {"responses": {"204": {"description": "removed with its fetched data"}, **ERRORS}},
        },
        "/api/repositories/{name}/refresh": {
            "parameters": NAME,
            "post": {"responses": {"202": _json({"type": "object", "properties": {"job_id": {"type": "integer"}}}),
                                   **ERRORS}},
        },
        "/api/jobs/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "get": {"responses": {"200": _json(_ref("Job")), **ERRORS}},
        },
    },
}


extend_with_access(DOCUMENT)


@blueprint.get("/openapi.json")
def openapi():
    return jsonify(DOCUMENT)

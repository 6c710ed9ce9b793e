"""The OpenAPI document for the JSON API, served at /api/openapi.json."""
from flask import Blueprint, jsonify

from deploy.targets import TARGET_HELP

from views.openapi_access import extend as extend_with_access

blueprint = Blueprint("openapi", __name__, url_prefix="/api")


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema, description="OK"):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {code: _json(_ref("Error"), text) for code, text in
          (("401", "not authenticated"), ("404", "unknown name"), ("409", "conflict"), ("422", "invalid input"))}
ACCEPTED = _json({"type": "object", "properties": {"job_id": {"type": "integer"}}}, "started; follow /api/jobs/{id}")
NAME = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]

def _collection(plural: str, schema: str) -> dict:
    body = {"requestBody": {"content": {"application/json": {"schema": _ref(schema)}}}}
    return {
        f"/api/{plural}": {
            "get": {"responses": {"200": _json({"type": "array", "items": _ref(schema)}), **ERRORS}},
            "post": {**body, "responses": {"201": _json(_ref(schema), "created"), **ERRORS}},
        },
        f"/api/{plural}/{{name}}": {
            "parameters": NAME,
            "get": {"responses": {"200": _json(_ref(schema)), **ERRORS}},
            "patch": {**body, "responses": {"200": _json(_ref(schema)), **ERRORS}},
            "delete": {"responses": {"204": {"description": "deleted"}, **ERRORS}},
        },
    }


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
            "ModuleUse": {"type": "object", "required": ["type"], "properties": {
                "type": {"type": "string"}, "settings": {"type": "object"},
                "available": {"type": "boolean", "readOnly": True}, "display_name": {"type": "string", "readOnly": True}}},
            "Device": {"type": "object", "required": ["name", "display_name"], "properties": {
                "name": {"type": "string"}, "display_name": {"type": "string"},
                "target": {"type": "string", "description": TARGET_HELP},
                "tags": {"type": "array", "items": {"type": "string"}},
                "modules": {"type": "array", "items": _ref("ModuleUse")},
                "warnings": {"type": "array", "items": {"type": "string"}, "readOnly": True},
                "effective": {"type": "array", "readOnly": True, "items": {"type": "object"}}}},
            "Tag": {"type": "object", "required": ["name", "display_name"], "properties": {
                "name": {"type": "string"}, "display_name": {"type": "string"},
                "priority": {"type": "integer", "minimum": 1, "maximum": 1500, "default": 90},
                "modules": {"type": "array", "items": _ref("ModuleUse")},
                "devices": {"type": "array", "items": {"type": "string"}, "readOnly": True}}},
            "Module": {"type": "object", "properties": {
                "type": {"type": "string"}, "display_name": {"type": "string"},
                "description": {"type": ["string", "null"]}, "category": {"type": ["string", "null"]},
                "icon": {"type": ["string", "null"]}, "source": {"type": "string"},
                "settings": {"type": "array", "items": {"type": "object"}}}},
            "ThymisInput": {"type": "object", "properties": {
                "candidates": {"type": "array", "items": {"type": "string"}},
                "chosen": {"type": ["string", "null"]}, "conflict": {"type": "boolean"}}},
            "Deployment": {"type": "object", "properties": {
                "id": {"type": "integer"}, "kind": {"enum": ["build", "deploy", "rollback"]},
                "state": {"enum": ["running", "succeeded", "failed", "rolled-back"]},
                "project_commit": {"type": ["string", "null"]}, "store_path": {"type": ["string", "null"]},
                "error": {"type": ["string", "null"]}, "job_id": {"type": ["integer", "null"]},
                "started_at": {"type": "string"}, "finished_at": {"type": ["string", "null"]},
                "duration": {"type": ["number", "null"]}}},
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
        "/api/modules": {"get": {"responses": {"200": _json({"type": "array", "items": _ref("Module")}), **ERRORS}}},
        **_collection("devices", "Device"),
        **_collection("tags", "Tag"),
        **{f"/api/devices/{{name}}/{action}": {"parameters": NAME, "post": {"responses": {"202": ACCEPTED, **ERRORS}}}
           for action in ("build", "deploy")},
        "/api/devices/{name}/rollback": {"parameters": NAME, "post": {
            "requestBody": {"content": {"application/json": {"schema": {"type": "object", "required": ["store_path"],
                            "properties": {"store_path": {"type": "string"}}}}}},
            "responses": {"202": ACCEPTED, **ERRORS}}},
        "/api/devices/{name}/generations": {"parameters": NAME, "get": {"responses": {
            "200": _json({"type": "array", "items": _ref("Deployment")}), **ERRORS}}},
        "/api/devices/{name}/preview": {"parameters": NAME, "get": {"responses": {
            "200": _json({"type": "object", "properties": {"files": {"type": "object"}, "diff": {"type": "string"},
                                                           "against": {"type": ["string", "null"]}}}), **ERRORS}}},
        "/api/thymis-input": {
            "get": {"responses": {"200": _json(_ref("ThymisInput")), **ERRORS}},
            "put": {"requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {
                        "repository": {"type": ["string", "null"]}}}}}},
                    "responses": {"200": _json(_ref("ThymisInput")), **ERRORS}}},
        "/api/tags/{name}/deploy": {"parameters": NAME, "post": {"responses": {"202": ACCEPTED, **ERRORS}}},
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

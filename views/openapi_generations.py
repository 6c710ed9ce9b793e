"""The OpenAPI parts of a device's generations (its target's profile), its history and rollback by number."""
from views.openapi_schemas import (
    ERROR_TEXT,
    NAME_PARAMETER,
    NULLABLE_INTEGER,
    NULLABLE_STRING,
    STRING,
    array,
    closed,
    errors,
    json_body,
    json_response,
    ref,
)

SCHEMAS = {
    "Generation": closed({
        "number": {"type": "integer", "description": "the profile's generation number (<profile>-<number>-link)"},
        "store_path": STRING, "created_at": {**STRING, "description": "when the generation was made (UTC)"},
        "current": {"type": "boolean", "description": "the generation the profile points at now"},
        "project_commit": {**NULLABLE_STRING, "description": "the project commit it was built from (null: not "
                                                            "deployed by this controller)"},
        "deployment_id": NULLABLE_INTEGER, "job_id": NULLABLE_INTEGER},
        description="One generation of the device's system profile, read from its target."),
}

UNREACHABLE = json_response(ref("Error"), "the target's profile could not be read (error.message says why, e.g. "
                                          "the SSH reason); error.code unreachable")
NO_TARGET = json_response(ref("Error"), ERROR_TEXT["409"] + "; or the device has no target yet (set a target "
                                                            "first)")

PATHS = {
    "/api/devices/{name}/generations": {"parameters": NAME_PARAMETER, "get": {
        "summary": "The generations of the device's system profile, read from its target, newest first",
        "responses": {"200": json_response(array(ref("Generation")), "newest first"),
                      **errors("404"), "409": NO_TARGET, "502": UNREACHABLE}}},
    "/api/devices/{name}/deployments": {"parameters": NAME_PARAMETER, "get": {
        "summary": "The device's history: builds (kind build: built only, never activated), deploys and rollbacks",
        "responses": {"200": json_response(array(ref("Deployment")), "newest first"), **errors("404")}}},
    "/api/devices/{name}/rollback": {"parameters": NAME_PARAMETER, "post": {
        "summary": "Roll back to a generation of the device's profile (the job checks that it exists)",
        "requestBody": json_body(closed({
            "generation": {"type": "integer", "minimum": 1, "description": "its number in GET .../generations"},
            "store_path": {**STRING, "description": "instead of generation: a system this device was built or "
                                                    "deployed with"}}, required=[])),
        "responses": {"202": json_response(ref("Accepted"), "started; follow /api/jobs/{job_id}"),
                      **errors("400", "404", "409", "413", "422")}}},
}


def extend(document: dict) -> dict:
    document["components"]["schemas"].update(SCHEMAS)
    document["paths"].update(PATHS)
    return document

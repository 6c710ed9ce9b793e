"""The OpenAPI part of `POST /api/thymis/import` (merged into views/openapi.py's document by ``extend``)."""
from views.openapi_schemas import CHANGE, STRING, array, closed, json_response, ref

NAMES = array(STRING)
REPORT = closed({
    "source": {**STRING, "description": "where the state.json came from"},
    "sha256": {**STRING, "description": "of the file; a file is imported once"},
    "repositories": {**NAMES, "description": "input names of the repositories added (each is being fetched)"},
    "tags": NAMES,
    "devices": NAMES,
    "not_imported": {**NAMES, "description": "what could not be carried over, each line naming it and why"},
    "warnings": {**NAMES, "description": "carried over but needs attention, e.g. a module not available yet"},
    "jobs": {"type": "array", "items": {"type": "integer"}, "description": "the fetch jobs of the repositories"},
}, description="the report of a Thymis import")

PATHS = {
    "/api/thymis/import": {"post": {
        "description": "Import a Thymis project's state.json, sent as the request body exactly as the file is. "
                       "One transaction; a second import of the same file answers 409.",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "description": "Thymis's state.json: version, repositories, tags, configs"}}}},
        "responses": {"201": json_response(ref("ThymisImportReport"), "imported; the report lists what was not"),
                      **CHANGE}}},
}


def extend(document: dict) -> dict:
    document["components"]["schemas"]["ThymisImportReport"] = REPORT
    document["paths"].update(PATHS)
    return document

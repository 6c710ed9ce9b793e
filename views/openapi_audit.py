"""The OpenAPI part of the audit log (``GET /api/audit``), merged into views/openapi.py's document by ``extend``."""
from audit import KINDS
from views.openapi_paging import HEADERS, PAGING
from views.openapi_schemas import INTEGER, STRING, TIME, array, closed, errors, json_response, ref

KIND_TEXT = "; ".join(f"{kind}: {text}" for kind, text in KINDS.items())
EVENT = closed({
    "id": INTEGER, "at": TIME,
    "kind": {"enum": list(KINDS), "description": KIND_TEXT},
    "subject": {**STRING, "description": "a repository's input name (activation, approval, rejection, webhook) "
                                         "or a device's name (deploy, rollback)"},
    "actor": {**STRING, "description": "session, token:<name>, cli, or controller (a job on its own)"},
    "detail": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
               "description": "flat details, never a secret. activation: commit, previous, how (auto|approved), "
                              "job_id; approval: commit; rejection: commit, active_commit; deploy and rollback: "
                              "outcome (succeeded|failed|rolled-back), store_path, error, job_id, tag (a tag "
                              "deploy); webhook: forge, event, outcome, job_id"},
})


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


PATHS = {
    "/api/audit": {"get": {
        "summary": "The audit log, newest first, filtered and paginated",
        "parameters": [_query("kind", {"enum": list(KINDS)}, "only entries of this kind"),
                       _query("subject", {**STRING, "maxLength": 200},
                              "only entries about this repository or device (its exact name)"),
                       *PAGING],
        "responses": {"200": {**json_response(array(ref("AuditEvent")), "one page of the log (see the Link "
                                                                         "header)"), "headers": HEADERS},
                      **errors("422")}}},
}


def extend(document: dict) -> dict:
    document["components"]["schemas"]["AuditEvent"] = EVENT
    document["paths"].update(PATHS)
    return document

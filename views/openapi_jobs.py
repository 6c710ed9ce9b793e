"""The OpenAPI part of the jobs list and retry (merged into views/openapi.py's document by ``extend``)."""
from views.openapi_schemas import (
    INTEGER,
    JOB_STATES,
    NULLABLE_INTEGER,
    NULLABLE_STRING,
    NULLABLE_TIME,
    STRING,
    TIME,
    array,
    closed,
    errors,
    json_response,
    ref,
)

SUMMARY = closed({
    "id": INTEGER, "kind": STRING, "subject": NULLABLE_STRING, "state": {"enum": JOB_STATES},
    "progress": closed({"phase": STRING, "done": INTEGER, "total": INTEGER}),
    "error": NULLABLE_STRING, "parent_id": NULLABLE_INTEGER,
    "created_at": TIME, "started_at": NULLABLE_TIME, "finished_at": NULLABLE_TIME,
}, description="a job without its log (GET /api/jobs/{id} has the log and the children)")


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


PARAMETERS = [
    _query("kind", STRING, "only jobs of this kind, e.g. fetch, build, deploy, deploy-tag, rollback"),
    _query("state", {"enum": JOB_STATES}, "only jobs in this state"),
    _query("subject", STRING, "only jobs about this: a device name, tag:<name> or a repository's input name"),
    _query("page", {"type": "integer", "minimum": 1, "default": 1}, "the page, from 1"),
    _query("per_page", {"type": "integer", "minimum": 1, "maximum": 100, "default": 25}, "jobs per page"),
]
LINK = {"Link": {"description": "the next page as <url>; rel=\"next\" (absent on the last page)",
                 "schema": STRING}}

PATHS = {
    "/api/jobs": {"get": {
        "description": "Jobs, newest first, filtered and paginated.",
        "parameters": PARAMETERS,
        "responses": {"200": {**json_response(array(ref("JobSummary"))), "headers": LINK}, **errors("422")}}},
    "/api/jobs/{id}/retry": {
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "post": {"description": "Start the same kind of job for the same subject again (an ended job only).",
                 "responses": {"202": json_response(ref("Accepted"), "started; follow /api/jobs/{job_id}"),
                               **errors("404", "409", "422")}}},
}


def extend(document: dict) -> dict:
    document["components"]["schemas"]["JobSummary"] = SUMMARY
    document["paths"].update(PATHS)
    return document

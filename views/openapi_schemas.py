"""Schemas of the OpenAPI document (views/openapi.py) and the helpers its parts share.

Response objects are closed (``additionalProperties: false``) and list every field the code always returns
as required, so the tests' check of every response (tests/support/openapi_check.py) notices drift. Request
bodies have separate create and PATCH schemas: a PATCH changes only the fields it sends.
"""
from __future__ import annotations

from deploy.targets import TARGET_HELP
from models.states import DeploymentKind, DeploymentState, JobState, RepositoryStatus, StepState
from pipeline.steps import STEP_NAMES
from repos.inputs import NAME_PATTERN as NAME_RULE


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def json_response(schema, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def json_body(schema, required: bool = True) -> dict:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def closed(properties: dict, required=None, description: str | None = None) -> dict:
    """An object with exactly ``properties``; ``required`` defaults to all of them (a response)."""
    schema = {"type": "object", "additionalProperties": False, "properties": properties,
              "required": list(properties) if required is None else list(required)}
    if description:
        schema["description"] = description
    return schema


def array(items) -> dict:
    return {"type": "array", "items": items}


STRING, INTEGER, BOOLEAN = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
NULLABLE_STRING, NULLABLE_INTEGER = {"type": ["string", "null"]}, {"type": ["integer", "null"]}
TIME = {"type": "string", "format": "date-time"}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
STRINGS = array(STRING)

ERROR_TEXT = {
    "400": "bad request: the CSRF check failed (cookie sessions must send X-CSRF-Token) or the request is malformed",
    "401": "not authenticated",
    "404": "unknown name",
    "409": "conflict: the name exists, or a job for it is already queued or running",
    "413": "the body is larger than the controller accepts",
    "422": "invalid input (error.field names the first bad field, error.errors lists all; a body that is not "
           "JSON or is nested deeper than 64 levels: code invalid_json, field body)",
    "500": "unexpected error (the details are in the controller's log)",
    "507": "the data folder's disk is full (error.message says how much is free); nothing was half written",
}


def errors(*codes: str) -> dict:
    """The error responses of an operation: always 401, 500 and 507, plus ``codes``."""
    return {code: json_response(ref("Error"), ERROR_TEXT[code]) for code in sorted({"401", "500", "507", *codes})}


# Error sets by kind of operation.
READ = errors()
READ_NAMED = errors("404")
CHANGE = errors("400", "409", "413", "422")
CHANGE_NAMED = errors("400", "404", "409", "413", "422")
DELETE_NAMED = errors("400", "404")

NAME_PARAMETER = [{"name": "name", "in": "path", "required": True, "schema": STRING}]

STEP_STATES = list(StepState)
STEP_NAMES_ALL = ["fetch", *STEP_NAMES]  # pipeline/fetch_job.py's step, then the validation steps
JOB_STATES = list(JobState)
NAME_PATTERN = NAME_RULE.pattern
NAME_FIXED = "must equal the current identifier if sent (it cannot be changed)"

MODULE_INPUT = closed({"type": STRING, "settings": {"type": "object", "description": "setting name -> value"}},
                      required=["type"])
MODULE_USE = closed({"type": STRING, "settings": {"type": "object"}, "available": BOOLEAN,
                     "display_name": STRING})
EFFECTIVE = closed({
    "type": STRING, "available": BOOLEAN, "display_name": STRING, "sources": STRINGS,
    "settings": array(closed({"name": STRING, "display_name": STRING, "value": {}, "source": STRING,
                              "overridden": array(closed({"source": STRING, "value": {}}))}))})


def _config_input(kind: str, extra: dict, create: bool) -> dict:
    name = {**STRING, "pattern": NAME_PATTERN, "description": "becomes a Nix attribute name"}
    properties = {"name": name if create else {**STRING, "description": NAME_FIXED},
                  "display_name": {**STRING, "minLength": 1}, **extra, "modules": array(MODULE_INPUT)}
    description = (f"A new {kind}." if create else
                   f"Changes to a {kind}: only the fields sent change; modules, when sent, replaces the list.")
    return closed(properties, required=["name", "display_name"] if create else [], description=description)


DEVICE_FIELDS = {"target": {"type": ["string", "null"], "description": f"{TARGET_HELP}; empty, null or left out: "
                                                                      "not set yet (can be built, not deployed)"},
                 "tags": {**STRINGS, "description": "tag identifiers, in tie-break order"}}
TAG_FIELDS = {"priority": {"type": "integer", "minimum": 1, "maximum": 1500, "default": 90,
                           "description": "lower wins; devices use 80"}}
DEVICE = closed({"name": STRING, "display_name": STRING, "target": {"type": ["string", "null"],
                                                                       "description": f"{TARGET_HELP}; null: not set, "
                                                                                      "deploy answers 409"},
                 "tags": STRINGS, "modules": array(ref("ModuleUse")), "warnings": STRINGS})
DEVICE_DETAIL = closed({**DEVICE["properties"], "effective": array(ref("EffectiveModule"))})

SETTING = closed({
    "name": STRING, "display_name": STRING, "type": STRING, "description": NULLABLE_STRING, "default": {},
    "example": NULLABLE_STRING, "nix_attr_name": NULLABLE_STRING, "order": INTEGER,
    "options": array(closed({"label": STRING, "value": {}})), "element_name": NULLABLE_STRING,
    "settings": array(ref("Setting")), "language": NULLABLE_STRING, "type_repr": STRING,
    # Thymis's setting types: a list's identifying sub-setting, a secret's kinds, a timer's defaults
    "element_key": NULLABLE_STRING, "allowed_types": STRINGS, "timer_defaults": {"type": "object"},
    # a secret's processing before delivery and where its SecretType asks to place it (secret_store.placement)
    "processing": STRING, "on_device": closed({"path": NULLABLE_STRING, "owner": NULLABLE_STRING,
                                               "group": NULLABLE_STRING, "mode": NULLABLE_STRING})},
    required=["name", "display_name", "type", "description", "default", "example", "nix_attr_name", "order"])

SCHEMAS = {
    "Error": closed({"error": closed({
        "code": STRING, "message": STRING, "field": STRING,
        "errors": array(closed({"field": STRING, "message": STRING, "code": STRING}))},
        required=["code", "message"])}),
    "Accepted": closed({"job_id": INTEGER}, description="started; follow /api/jobs/{job_id}"),
    "RepositoryInput": closed({
        "display_name": {**STRING, "minLength": 1}, "url": {**STRING, "minLength": 1},
        "name": {**STRING, "description": "flake input name; derived from the display name when omitted"},
        "ref": {**NULLABLE_STRING, "description": "branch, tag or full commit; default the remote's HEAD"}},
        required=["display_name", "url"]),
    "RepositoryPatch": closed({
        "display_name": {**STRING, "minLength": 1}, "url": {**STRING, "minLength": 1},
        "name": {**STRING, "description": NAME_FIXED}, "ref": NULLABLE_STRING}, required=[],
        description="Only the fields sent change; a new URL, ref or access starts a fetch (job_id)."),
    "Step": closed({"step": {**STRING, "enum": STEP_NAMES_ALL}, "state": {"enum": STEP_STATES}, "detail": STRING}),
    "Repository": closed({
        "name": STRING, "display_name": STRING, "url": {**STRING, "description": "never with credentials"},
        "ref": NULLABLE_STRING, "status": {"enum": list(RepositoryStatus)},
        "active_commit": NULLABLE_STRING, "fetched_commit": NULLABLE_STRING, "steps": array(ref("Step")),
        "modules": array(closed({"type": STRING, "display_name": STRING})), "last_checked_at": NULLABLE_TIME,
        "last_error": NULLABLE_STRING,
        "job_id": {**NULLABLE_INTEGER, "description": "the queued or running fetch, if any"}}),
    "ModuleInput": MODULE_INPUT,
    "ModuleUse": MODULE_USE,
    "EffectiveModule": EFFECTIVE,
    "DeviceInput": _config_input("device", DEVICE_FIELDS, create=True),
    "DevicePatch": _config_input("device", DEVICE_FIELDS, create=False),
    "Device": DEVICE,
    "DeviceDetail": DEVICE_DETAIL,
    "TagInput": _config_input("tag", TAG_FIELDS, create=True),
    "TagPatch": _config_input("tag", TAG_FIELDS, create=False),
    "Tag": closed({"name": STRING, "display_name": STRING, "priority": INTEGER, "modules": array(ref("ModuleUse")),
                   "warnings": STRINGS, "devices": {**STRINGS, "description": "devices that have this tag"}}),
    "Setting": SETTING,
    "Module": closed({
        "type": STRING, "display_name": STRING, "description": NULLABLE_STRING, "category": NULLABLE_STRING,
        "icon": NULLABLE_STRING, "source": {**STRING, "description": "built-in or the repository's input name"},
        "settings": array(ref("Setting"))}),
    "ThymisInput": closed({"candidates": STRINGS, "chosen": NULLABLE_STRING, "conflict": BOOLEAN}),
    "Deployment": closed({
        "id": INTEGER, "kind": {"enum": list(DeploymentKind)},
        "state": {"enum": list(DeploymentState)},
        "project_commit": NULLABLE_STRING, "store_path": NULLABLE_STRING, "error": NULLABLE_STRING,
        "job_id": NULLABLE_INTEGER, "started_at": TIME, "finished_at": NULLABLE_TIME,
        "duration": {"type": ["number", "null"]}}),
    "Preview": closed({"device": STRING, "files": {"type": "object", "additionalProperties": STRING},
                       "diff": STRING, "against": NULLABLE_STRING}),
    "Job": closed({
        "id": INTEGER, "kind": STRING, "subject": NULLABLE_STRING, "state": {"enum": JOB_STATES},
        "progress": closed({"phase": STRING, "done": INTEGER, "total": INTEGER}),
        "error": NULLABLE_STRING, "parent_id": NULLABLE_INTEGER,
        "children": array(closed({"id": INTEGER, "subject": NULLABLE_STRING, "state": {"enum": JOB_STATES}})),
        "log": STRING, "created_at": TIME, "started_at": NULLABLE_TIME, "finished_at": NULLABLE_TIME}),
}

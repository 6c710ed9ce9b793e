"""The OpenAPI parts of issue 17's updates on their own: webhook secret, refresh interval, the webhook endpoint."""
from repos.updates import INTERVAL_RULE, MAX_INTERVAL, MAX_SECRET, MIN_SECRET
from repos.webhooks import MAX_BYTES
from views.openapi_schemas import (
    BOOLEAN,
    CHANGE_NAMED,
    NAME_PARAMETER,
    NULLABLE_INTEGER,
    NULLABLE_STRING,
    NULLABLE_TIME,
    READ_NAMED,
    STRING,
    array,
    closed,
    json_body,
    json_response,
    ref,
)

SECRET_INPUT = {"type": ["string", "null"], "description": (
    f"write-only: never returned. The forge webhook's secret ({MIN_SECRET}-{MAX_SECRET} printable characters), "
    "stored encrypted like other credentials; \"\" or null removes it (webhooks are then refused)."),
    "anyOf": [{"type": "null"}, {"const": ""}, {"type": "string", "minLength": MIN_SECRET,
                                               "maxLength": MAX_SECRET}]}
INTERVAL = {"description": f"{INTERVAL_RULE}; default off", "anyOf": [
    {"const": "off"}, {"type": "null"}, {"type": "integer", "minimum": 1, "maximum": MAX_INTERVAL}]}
UPDATE_FIELDS = {
    "webhook_secret_set": {**BOOLEAN, "description": "a webhook secret is set (the secret itself is never returned)"},
    "refresh_interval": {"description": "minutes between scheduled refreshes, or off", "anyOf": [
        {"const": "off"}, {"type": "integer", "minimum": 1}]},
    "next_refresh_at": {**NULLABLE_TIME, "description": "when the schedule refreshes it next (null: off)"},
}
FORGE_HEADERS = [
    {"name": "X-Hub-Signature-256", "in": "header", "required": False, "schema": {"type": "string"},
     "description": "GitHub: sha256=<hex HMAC-SHA256 of the raw body, keyed with the webhook secret>"},
    {"name": "X-GitHub-Event", "in": "header", "required": False, "schema": {"type": "string"},
     "description": "GitHub: push, ping, ..."},
    {"name": "X-Gitlab-Token", "in": "header", "required": False, "schema": {"type": "string"},
     "description": "GitLab: the webhook secret itself"},
    {"name": "X-Gitlab-Event", "in": "header", "required": False, "schema": {"type": "string"},
     "description": "GitLab: Push Hook, Tag Push Hook, ..."},
    {"name": "X-Gitea-Signature", "in": "header", "required": False, "schema": {"type": "string"},
     "description": "Gitea (Forgejo: X-Forgejo-Signature): the hex HMAC-SHA256 of the raw body"},
    {"name": "X-Gitea-Event", "in": "header", "required": False, "schema": {"type": "string"},
     "description": "Gitea (Forgejo: X-Forgejo-Event): push, ..."},
]
HOOK_RESULT = closed({
    "outcome": {"enum": ["queued", "already_queued", "after_running", "pong", "ignored"], "description": (
        "queued: a refresh job was queued; already_queued: one waits to start and fetches this push too; "
        "after_running: a fetch runs, another is queued once it ends; pong: a ping; ignored: see reason")},
    "forge": {"enum": ["github", "gitlab", "gitea"]},
    "event": {"type": "string", "description": "push, ping, or the forge's event name"},
    "reason": NULLABLE_STRING,
    "job_id": {**NULLABLE_INTEGER, "description": "the fetch job that covers this push"},
    "job_url": {**NULLABLE_STRING, "description": "/api/jobs/<job_id> (needs a session or token)"},
})
FOLLOWER = closed({"kind": {"enum": ["device", "tag"]}, "name": STRING, "deploy": {**BOOLEAN, "description": (
    "true: deploy automatically (a tag: one tag deploy); false: build only"), "default": False}},
    required=["kind", "name"])
FOLLOWERS = closed({"followers": array(ref("Follower"))}, description=(
    "Devices and tags built (or deployed) when a new commit of the repository becomes active"))
_PUSH_BODY = {"type": "object", "description": "the forge's push event (ref, after, repository/project)"}
PATHS = {
    "/api/repositories/{name}/followers": {"parameters": NAME_PARAMETER, "get": {
        "summary": "The devices and tags that follow the repository",
        "responses": {"200": json_response(ref("Followers")), **READ_NAMED}}, "put": {
        "summary": "Replace them (422 names an unknown device or tag: followers[i].name)",
        "requestBody": json_body(ref("Followers")),
        "responses": {"200": json_response(ref("Followers")), **CHANGE_NAMED}}},
    "/api/hooks/repositories/{name}": {"parameters": NAME_PARAMETER + FORGE_HEADERS, "post": {
        "summary": "A forge's push webhook (GitHub, GitLab, Gitea/Forgejo) starts a refresh",
        "description": (
            "No session or token: the delivery is authenticated by the repository's webhook_secret (GitHub "
            "X-Hub-Signature-256, GitLab X-Gitlab-Token, Gitea/Forgejo X-Gitea-Signature), compared in constant "
            "time; no CSRF token. An unknown repository, one without a webhook secret and a wrong or missing "
            "signature get the same 401 after the same work, so the answer does not tell whether the "
            "repository exists. A push to a ref the repository does not follow, a deleted ref or another event "
            "is answered 200 with outcome ignored and a reason; a ping with outcome pong."),
        "security": [],
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": _PUSH_BODY},
            "application/x-www-form-urlencoded": {"schema": closed({"payload": {"type": "string"}})}}},
        "responses": {
            "202": json_response(ref("HookResult"), "a refresh covers this push: follow job_id in GET /api/jobs"),
            "200": json_response(ref("HookResult"), "authentic, nothing to do (ping, another ref or event)"),
            "400": json_response(ref("Error"), "authentic, but the body is not a push event this controller reads"),
            "401": json_response(ref("Error"), "wrong or missing signature/token, no webhook secret set, or no "
                                               "such repository (one answer for all)"),
            "413": json_response(ref("Error"), f"the body is larger than {MAX_BYTES // 1024} KiB"),
            "429": json_response(ref("Error"), "too many refused deliveries from this address in the last minute "
                                               "(30): nothing is done or recorded until Retry-After seconds pass"),
            "500": json_response(ref("Error"), "unexpected error (the details are in the controller's log)"),
            "507": json_response(ref("Error"), "the data folder's disk is full"),
        }}},
}


def extend(document: dict) -> dict:
    schemas = document["components"]["schemas"]
    schemas["HookResult"] = HOOK_RESULT
    schemas["Follower"] = FOLLOWER
    schemas["Followers"] = FOLLOWERS
    for name in ("RepositoryInput", "RepositoryPatch"):
        schemas[name]["properties"]["webhook_secret"] = SECRET_INPUT
        schemas[name]["properties"]["refresh_interval"] = INTERVAL
    repository = schemas["Repository"]
    repository["properties"].update(UPDATE_FIELDS)
    repository["required"].extend(field for field in UPDATE_FIELDS if field not in repository["required"])
    document["paths"].update(PATHS)
    return document

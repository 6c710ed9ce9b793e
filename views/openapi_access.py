"""The OpenAPI parts of repository access (merged into views/openapi.py's document by ``extend``)."""
from models.states import AccessKind, HostKeySource
from views.openapi_schemas import (
    CHANGE,
    CHANGE_NAMED,
    DELETE_NAMED,
    INTEGER,
    NAME_PARAMETER,
    NULLABLE_STRING,
    READ,
    READ_NAMED,
    STRING,
    TIME,
    array,
    closed,
    errors,
    json_body,
    json_response,
    ref,
)

KINDS = list(AccessKind)
FAILURE_CODES = "auth_failed, auth_required, host_key, not_found, timeout, unreachable, unknown_ref, protocol"

HOST_KEY = {"oneOf": [{"type": "null"}, closed({
    "host": STRING, "port": INTEGER, "status": {"enum": ["recorded", "new"]},
    "keys": array(closed({"key_type": STRING, "fingerprint": STRING}))})]}
CONNECTED = closed({
    "ok": {"const": True}, "url": STRING, "ref": STRING, "commit": STRING, "refs": INTEGER, "host_key": HOST_KEY,
    "message": STRING}, description="the remote answered and the ref resolved")
NOT_CONNECTED = closed({
    "ok": {"const": False}, "url": STRING, "code": {**STRING, "description": FAILURE_CODES},
    "reason": {**STRING, "description": "authentication failed, host key changed, unknown host, repository not "
                                        "found, timeout, credential unavailable, ..."},
    "message": STRING, "host_key": HOST_KEY})

SCHEMAS = {
    "AccessInput": closed({"kind": {"enum": KINDS}, "username": STRING, "token": {**STRING, "writeOnly": True}},
                          required=["kind"], description=(
        "Write-only credentials. token: the HTTPS token or password; omit it to keep the saved one. "
        "ssh-deploy-key generates a key pair when the repository has none. A URL with user:token@ fills "
        "an https-token access.")),
    "KnownHost": closed({
        "host": STRING, "port": INTEGER, "key_type": STRING,
        "fingerprint": {**STRING, "description": "SHA256:..."}, "source": {"enum": list(HostKeySource)},
        "recorded_by": NULLABLE_STRING, "recorded_at": TIME,
        "line": {**STRING, "description": "the known_hosts line"}}),
    "Access": closed({
        "kind": {"enum": KINDS}, "username": NULLABLE_STRING,
        "public_key": {**STRING, "description": "ssh-deploy-key: add it as a read-only deploy key"},
        "fingerprint": STRING,
        "host_keys": {**array(ref("KnownHost")), "description": "SSH URLs: the keys on record"}},
        required=["kind"], description="Never holds a secret."),
    "DeployKey": closed({"public_key": STRING, "fingerprint": STRING,
                         "active": {"type": "boolean", "description": "the access kind is ssh-deploy-key"}}),
    "ConnectionTest": {"oneOf": [CONNECTED, NOT_CONNECTED]},
    "ConnectionTestInput": {"type": "object", "description": "Fields other than these are ignored.", "properties": {
        "url": STRING, "ref": NULLABLE_STRING, "access": ref("AccessInput")}},
}

PATHS = {
    "/api/repositories/{name}/test-connection": {"parameters": NAME_PARAMETER, "post": {
        "summary": "List the remote's refs with the saved settings, each overridable by the body; saves nothing",
        "requestBody": json_body(ref("ConnectionTestInput"), required=False),
        "responses": {"200": json_response(ref("ConnectionTest")), **CHANGE_NAMED}}},
    "/api/test-connection": {"post": {
        "summary": "Test a repository that is not saved yet (url required; no deploy key)",
        "requestBody": json_body({"allOf": [ref("ConnectionTestInput"), {"required": ["url"]}]}),
        "responses": {"200": json_response(ref("ConnectionTest")), **CHANGE}}},
    "/api/repositories/{name}/deploy-key": {"parameters": NAME_PARAMETER,
        "get": {"responses": {"200": json_response(ref("DeployKey")), **READ_NAMED}},
        "post": {"summary": "Generate a new deploy key (the old one stops working); the access kind is unchanged",
                 "responses": {"201": json_response(ref("DeployKey")), **errors("400", "404")}}},
    "/api/host-ssh-key": {"get": {"summary": "The controller host's SSH key (the default one is created on first use)",
        "responses": {"200": json_response(closed({
            "path": STRING, "public_key": NULLABLE_STRING, "fingerprint": NULLABLE_STRING})), **READ}}},
    "/api/known-hosts": {
        "get": {"responses": {"200": json_response(array(ref("KnownHost"))), **READ}},
        "post": {"summary": "Pre-seed host keys from known_hosts lines (409 when a host has another key on record)",
                 "requestBody": json_body(closed({"lines": STRING}, required=["lines"])),
                 "responses": {"201": json_response(array(ref("KnownHost"))), **CHANGE}}},
    "/api/known-hosts/{host}": {
        "parameters": [{"name": "host", "in": "path", "required": True, "schema": STRING},
                       {"name": "port", "in": "query", "schema": {"type": "integer", "default": 22}}],
        "delete": {"summary": "Forget the host's keys: the next connection trusts what it is shown",
                   "responses": {"204": {"description": "forgotten"}, **DELETE_NAMED, **errors("422")}}},
}


def extend(document: dict) -> dict:
    schemas = document["components"]["schemas"]
    schemas.update(SCHEMAS)
    for name in ("RepositoryInput", "RepositoryPatch"):
        schemas[name]["properties"]["access"] = ref("AccessInput")
    schemas["Repository"]["properties"]["access"] = ref("Access")
    if "access" not in schemas["Repository"]["required"]:
        schemas["Repository"]["required"].append("access")
    document["paths"].update(PATHS)
    return document

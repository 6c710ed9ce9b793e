"""The OpenAPI parts of repository access (merged into views/openapi.py's document by ``extend``)."""


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema, description="OK"):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


KINDS = ["none", "https-token", "ssh-deploy-key", "host-ssh-key"]
NAME = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]
ERRORS = {code: _json(_ref("Error"), text) for code, text in
          (("401", "not authenticated"), ("404", "unknown name"), ("409", "conflict"), ("422", "invalid input"))}

SCHEMAS = {
    "AccessInput": {"type": "object", "required": ["kind"], "description": (
        "Write-only credentials. token: the HTTPS token or password; omit it to keep the saved one. "
        "ssh-deploy-key generates a key pair when the repository has none. A URL with user:token@ fills "
        "an https-token access."), "properties": {
        "kind": {"enum": KINDS}, "username": {"type": "string"}, "token": {"type": "string", "writeOnly": True}}},
    "KnownHost": {"type": "object", "properties": {
        "host": {"type": "string"}, "port": {"type": "integer"}, "key_type": {"type": "string"},
        "fingerprint": {"type": "string", "description": "SHA256:..."}, "source": {"enum": ["first use", "operator"]},
        "recorded_by": {"type": ["string", "null"]}, "recorded_at": {"type": "string", "format": "date-time"},
        "line": {"type": "string", "description": "the known_hosts line"}}},
    "Access": {"type": "object", "description": "Never holds a secret.", "properties": {
        "kind": {"enum": KINDS}, "username": {"type": ["string", "null"]},
        "public_key": {"type": "string", "description": "ssh-deploy-key: add it as a read-only deploy key"},
        "fingerprint": {"type": "string"},
        "host_keys": {"type": "array", "items": _ref("KnownHost"), "description": "SSH URLs: the keys on record"}}},
    "DeployKey": {"type": "object", "properties": {
        "public_key": {"type": "string"}, "fingerprint": {"type": "string"},
        "active": {"type": "boolean", "description": "the access kind is ssh-deploy-key"}}},
    "ConnectionTest": {"type": "object", "required": ["ok", "message"], "properties": {
        "ok": {"type": "boolean"}, "url": {"type": "string"}, "message": {"type": "string"},
        "ref": {"type": "string"}, "commit": {"type": "string"}, "refs": {"type": "integer"},
        "code": {"type": "string", "description": "on failure: auth_failed, auth_required, host_key, not_found, "
                                                  "timeout, unreachable, unknown_ref, protocol"},
        "reason": {"type": "string", "description": "on failure: authentication failed, host key changed, unknown "
                                                    "host, repository not found, timeout, ..."},
        "host_key": {"type": ["object", "null"], "properties": {
            "host": {"type": "string"}, "port": {"type": "integer"}, "status": {"enum": ["recorded", "new"]},
            "keys": {"type": "array", "items": {"type": "object"}}}}}},
    "ConnectionTestInput": {"type": "object", "properties": {
        "url": {"type": "string"}, "ref": {"type": "string"}, "access": _ref("AccessInput")}},
}

PATHS = {
    "/api/repositories/{name}/test-connection": {"parameters": NAME, "post": {
        "summary": "List the remote's refs with the saved settings, each overridable by the body; saves nothing",
        "requestBody": {"required": False, "content": {"application/json": {"schema": _ref("ConnectionTestInput")}}},
        "responses": {"200": _json(_ref("ConnectionTest")), **ERRORS}}},
    "/api/test-connection": {"post": {
        "summary": "Test a repository that is not saved yet (url required; no deploy key)",
        "requestBody": {"content": {"application/json": {"schema": _ref("ConnectionTestInput")}}},
        "responses": {"200": _json(_ref("ConnectionTest")), **ERRORS}}},
    "/api/repositories/{name}/deploy-key": {"parameters": NAME,
        "get": {"responses": {"200": _json(_ref("DeployKey")), **ERRORS}},
        "post": {"summary": "Generate a new deploy key (the old one stops working); the access kind is unchanged",
                 "responses": {"201": _json(_ref("DeployKey")), **ERRORS}}},
    "/api/host-ssh-key": {"get": {"summary": "The controller host's SSH key (the default one is created on first use)",
        "responses": {"200": _json({"type": "object", "properties": {
            "path": {"type": "string"}, "public_key": {"type": ["string", "null"]},
            "fingerprint": {"type": ["string", "null"]}}}), **ERRORS}}},
    "/api/known-hosts": {
        "get": {"responses": {"200": _json({"type": "array", "items": _ref("KnownHost")}), **ERRORS}},
        "post": {"summary": "Pre-seed host keys from known_hosts lines (409 when a host has another key on record)",
                 "requestBody": {"content": {"application/json": {"schema": {"type": "object", "required": ["lines"],
                                 "properties": {"lines": {"type": "string"}}}}}},
                 "responses": {"201": _json({"type": "array", "items": _ref("KnownHost")}), **ERRORS}}},
    "/api/known-hosts/{host}": {
        "parameters": [{"name": "host", "in": "path", "required": True, "schema": {"type": "string"}},
                       {"name": "port", "in": "query", "schema": {"type": "integer", "default": 22}}],
        "delete": {"summary": "Forget the host's keys: the next connection trusts what it is shown",
                   "responses": {"204": {"description": "forgotten"}, **ERRORS}}},
}


def extend(document: dict) -> dict:
    schemas = document["components"]["schemas"]
    schemas.update(SCHEMAS)
    schemas["RepositoryInput"]["properties"]["access"] = _ref("AccessInput")
    schemas["Repository"]["properties"]["access"] = _ref("Access")
    document["paths"].update(PATHS)
    return document

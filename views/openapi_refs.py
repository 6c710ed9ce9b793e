"""The OpenAPI parts of the ref choice (the remote's branches and tags) and of Save asking about an unknown ref,
merged into views/openapi.py's document by ``extend``."""
from repos.remote_refs import MAX_ANSWER_BYTES, MAX_SHOWN
from views.openapi_access import FAILURE_CODES
from views.openapi_schemas import (
    BOOLEAN,
    CHANGE,
    CHANGE_NAMED,
    INTEGER,
    NAME_PARAMETER,
    STRING,
    array,
    closed,
    json_body,
    json_response,
    ref,
)

CONFIRM = {**BOOLEAN, "description": (
    "Save a ref the remote does not list. Without it, a ref (explicit or from the URL) that is new or at a new "
    "URL is looked up first; when the remote answers without it the save is refused with 409 (error.field ref, "
    "error.errors[0].code unknown_ref) and nothing is stored. A commit id, or a remote that does not answer "
    "within 10 s, is saved without asking (its fetch reports on it).")}

REMOTE_REF = closed({
    "name": {**STRING, "description": "what the ref field takes, e.g. main or v1.0"},
    "ref": {**STRING, "description": "refs/heads/<name> or refs/tags/<name>"},
    "kind": {"enum": ["branch", "tag"]},
    "commit": {**STRING, "description": "the commit it is at (annotated tags peeled)"},
    "default": {**BOOLEAN, "description": "the remote's default branch (HEAD)"}})
LISTED = closed({
    "ok": {"const": True}, "url": STRING,
    "refs": {**array(REMOTE_REF), "description": f"the default branch first, then branches, then tags, by name; "
                                                 f"at most {MAX_SHOWN}"},
    "total": {**INTEGER, "description": "branches and tags listed by the remote (before the cut)"},
    "truncated": BOOLEAN,
    "skipped": {**INTEGER, "description": "refs left out: names git does not allow, or longer than 255 characters"},
    "resolved": {"oneOf": [closed({"ref": STRING, "commit": STRING}), closed({"error": STRING})],
                 "description": "where the ref asked for (default: the saved one, else the default branch) is now"},
    "message": STRING})
NOT_LISTED = closed({
    "ok": {"const": False}, "url": STRING,
    "code": {**STRING, "description": FAILURE_CODES + ", too_large (the answer exceeded "
                                      f"{MAX_ANSWER_BYTES // (1 << 20)} MiB)"},
    "reason": STRING, "message": STRING})
SCHEMAS = {"RemoteRefs": {"oneOf": [LISTED, NOT_LISTED], "description": (
    "The remote's branches and tags, listed with the credentials given or saved (any git host: SSH, HTTPS, "
    "git://). Only HEAD, refs/heads/ and refs/tags/ are asked for, with the fetch's time limits; nothing is "
    "stored, not even a new SSH host key.")}}

PATHS = {
    "/api/repositories/{name}/refs": {
        "parameters": [*NAME_PARAMETER, {"name": "ref", "in": "query", "schema": STRING,
                                         "description": "resolve this ref instead of the saved one"}],
        "get": {"summary": "The remote's branches and tags, with the saved URL and access; saves nothing",
                "responses": {"200": json_response(ref("RemoteRefs")), **CHANGE_NAMED}}},
    "/api/remote-refs": {"post": {
        "summary": "The branches and tags of a repository that is not saved yet (url required; no deploy key)",
        "requestBody": json_body({"allOf": [ref("ConnectionTestInput"), {"required": ["url"]}]}),
        "responses": {"200": json_response(ref("RemoteRefs")), **CHANGE}}},
}


def extend(document: dict) -> dict:
    schemas = document["components"]["schemas"]
    schemas.update(SCHEMAS)
    for name in ("RepositoryInput", "RepositoryPatch"):
        schemas[name]["properties"]["confirm_unknown_ref"] = CONFIRM
    document["paths"].update(PATHS)
    return document

"""The OpenAPI parts of issue 17 (signed commits, review), merged into views/openapi.py's document by ``extend``."""
from views.openapi_schemas import (
    BOOLEAN,
    CHANGE_NAMED,
    NAME_PARAMETER,
    NULLABLE_STRING,
    READ_NAMED,
    STRING,
    STRINGS,
    TIME,
    array,
    closed,
    json_body,
    json_response,
    ref,
)

SIGNERS = {**STRING, "description": (
    "SSH public keys in git's allowedSignersFile format, one a line (\"<principal> [options] <keytype> <key>\"), "
    "and/or ASCII-armoured OpenPGP public key blocks (gpg --armor --export <id>; a private key is refused). "
    "When set, a commit must carry an SSH or OpenPGP signature by one of them (the signature step, checked by "
    "ssh-keygen -Y verify or gpg --verify against only these keys) to become active; "
    "\"\" clears them (signatures not checked). Changing them validates the fetched commit again.")}
REVIEW = {"enum": ["auto", "required"], "description": (
    "auto (default): a commit that passes validation becomes active. required: it becomes the candidate "
    "(status awaiting_review) until approved (POST .../approve) or rejected (POST .../reject).")}

FILE_CHANGE = closed({
    "path": STRING, "change": {"enum": ["added", "removed", "modified"]},
    "kind": {"enum": ["python", "flake", "other"], "description": "flake: flake.nix or flake.lock"},
    "highlighted": {**BOOLEAN, "description": "Python module code, flake.nix or flake.lock"},
    "binary": {**BOOLEAN, "description": "named, not dumped (diff is null)"},
    "diff": {"type": ["string", "null"], "description": "unified diff against the active commit's file"},
    "note": {**STRING, "description": "why the diff is not shown (too large)"}},
    required=["path", "change", "kind", "highlighted", "binary", "diff"])
DECISION = closed({"commit": STRING, "decision": {"enum": ["approved", "rejected"]},
                   "decided_by": {**STRING, "description": "session, or token:<name>"}, "decided_at": TIME})
SCHEMAS = {
    "ReviewDecision": DECISION,
    "Candidate": closed({
        "repository": STRING, "commit": STRING, "active_commit": NULLABLE_STRING,
        "commits": {**array(closed({
            "commit": STRING, "author": STRING, "date": STRING, "message": STRING,
            "signature": {"oneOf": [{"type": "null"}, closed({"state": STRING, "detail": STRING})],
                          "description": "the signature step's verdict on this commit (null: not recorded)"}})),
            "description": "the commits reachable from the candidate and not from the active commit, newest first "
                           "(the candidate first); at most 50 (a repository under review is fetched that deep)"},
        "history": closed({"complete": BOOLEAN, "note": {**NULLABLE_STRING, "description": (
            "why the list is not complete: more commits than listed, history not fetched, or the active commit "
            "is no ancestor of the candidate (force-pushed)")}}),
        "files": array(FILE_CHANGE),
        "modules": closed({"added": STRINGS, "removed": STRINGS, "changed": array(closed({
            "type": STRING, "settings_added": STRINGS, "settings_removed": STRINGS, "settings_changed": STRINGS}))}),
        "affected": {**closed({
            "devices": array(closed({"name": STRING, "display_name": STRING, "modules": STRINGS, "changed": STRINGS,
                                     "tags": {**STRINGS, "description": "the tags it uses them through"}})),
            "tags": array(closed({"name": STRING, "display_name": STRING, "modules": STRINGS,
                                  "changed": STRINGS}))}),
            "description": "devices and tags using a module of this repository (a device: its own and its tags'); "
                           "changed: those the candidate adds, removes or changes the settings of"},
        "decisions": {**array(ref("ReviewDecision")), "description": "the latest decisions, newest first"}}),
    "ReviewInput": closed({"commit": {**STRING, "description": "the candidate commit's full id"}},
                          required=["commit"]),
}

_DECIDE = {"requestBody": json_body(ref("ReviewInput")),
           "responses": {"200": json_response(ref("Repository")), **CHANGE_NAMED}}
PATHS = {
    "/api/repositories/{name}/candidate": {"parameters": NAME_PARAMETER, "get": {
        "summary": "The commit awaiting review: what changes against the active commit (404: none awaits)",
        "responses": {"200": json_response(ref("Candidate")), **READ_NAMED}}},
    "/api/repositories/{name}/approve": {"parameters": NAME_PARAMETER, "post": {
        **_DECIDE, "summary": "Activate the candidate (recorded: who, when); 409 when the commit is not the current "
                              "candidate or one of its packages is now provided by another repository"}},
    "/api/repositories/{name}/reject": {"parameters": NAME_PARAMETER, "post": {
        **_DECIDE, "summary": "Drop the candidate and remember it (never offered again; recorded); the active "
                              "commit stays; 409 when the commit is not the current candidate"}},
}


def extend(document: dict) -> dict:
    schemas = document["components"]["schemas"]
    schemas.update(SCHEMAS)
    for name in ("RepositoryInput", "RepositoryPatch"):
        schemas[name]["properties"]["allowed_signers"] = SIGNERS
        schemas[name]["properties"]["review"] = REVIEW
    repository = schemas["Repository"]
    repository["properties"]["allowed_signers"] = {**SIGNERS, "description": "\"\" when none"}
    repository["properties"]["review"] = REVIEW
    repository["properties"]["candidate_commit"] = {**NULLABLE_STRING, "description": "the commit awaiting review"}
    for field in ("allowed_signers", "review", "candidate_commit"):
        if field not in repository["required"]:
            repository["required"].append(field)
    document["paths"].update(PATHS)
    return document

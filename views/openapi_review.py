"""The OpenAPI parts of issue 17 (signed commits, review, webhooks, audit), merged into views/openapi.py's
document by ``extend``."""
from views.openapi_schemas import STRING

SIGNERS = {**STRING, "description": (
    "SSH public keys in git's allowedSignersFile format, one a line (\"<principal> [options] <keytype> <key>\"). "
    "When set, a commit must carry an SSH signature by one of them (the signature step) to become active; "
    "\"\" clears them (signatures not checked). Changing them validates the fetched commit again.")}


def extend(document: dict) -> dict:
    schemas = document["components"]["schemas"]
    for name in ("RepositoryInput", "RepositoryPatch"):
        schemas[name]["properties"]["allowed_signers"] = SIGNERS
    schemas["Repository"]["properties"]["allowed_signers"] = {**SIGNERS, "description": "\"\" when none"}
    if "allowed_signers" not in schemas["Repository"]["required"]:
        schemas["Repository"]["required"].append("allowed_signers")
    return document

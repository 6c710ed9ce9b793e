"""The OpenAPI part for secrets (merged into views/openapi.py's document by ``extend``).

Values are write-only: a request sends ``value`` (or, for a file, ``value_base64``); no response holds it."""
from __future__ import annotations

from models.states import SecretKind
from views.openapi_paging import HEADERS, PAGING, SEARCH
from views.openapi_schemas import (
    CHANGE,
    CHANGE_NAMED,
    DELETE_NAMED,
    ERROR_TEXT,
    INTEGER,
    NAME_PARAMETER,
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

KINDS = [kind.value for kind in SecretKind]
NAME = {**STRING, "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        "description": "also the file name under the device's secrets folder"}
VALUE = {**STRING, "writeOnly": True, "description": (
    "write-only: never returned. single_line: one line; multi_line: text; env_list: NAME=value lines (blank and "
    "# lines allowed); file: the file's text (binary files: value_base64). At most 64 KiB (file: 1 MiB)")}
VALUE_BASE64 = {**STRING, "writeOnly": True, "contentEncoding": "base64",
                "description": "file secrets only: the file's bytes in base64 (write-only)"}
USE = closed({"kind": {"enum": ["device", "tag"]}, "name": STRING,
              "module": {**STRING, "description": "the module type"},
              "setting": {**STRING, "description": "the setting's path, e.g. password or networks[0].psk"}})

SCHEMAS = {
    "Secret": closed({
        "name": NAME, "type": {"enum": KINDS}, "size": {**INTEGER, "description": "bytes of the value"},
        "created_at": TIME, "updated_at": TIME,
        "value_updated_at": {**TIME, "description": "when the value was last set (rotated)"},
        "used_by": {**array(USE), "description": "the secret settings that choose this secret"}},
        description="A secret without its value."),
    "SecretInput": closed({"name": NAME, "type": {"enum": KINDS}, "value": VALUE, "value_base64": VALUE_BASE64},
                          required=["name", "type"],
                          description="value (or value_base64 for a file) is required"),
    "SecretPatch": closed({"type": {"enum": KINDS}, "value": VALUE, "value_base64": VALUE_BASE64},
                          required=[], description=(
        "A new value replaces the old one (value_updated_at records when). A type change is refused (409) "
        "while a setting that does not accept the new type uses the secret.")),
}

PATHS = {
    "/api/secrets": {
        "get": {"parameters": [SEARCH, {"name": "type", "in": "query", "required": False,
                                        "description": "only secrets of this type", "schema": {"enum": KINDS}},
                               *PAGING],
                "responses": {"200": {**json_response(array(ref("Secret")), "one page of the list (see the Link "
                                                                             "header)"), "headers": HEADERS},
                              **READ, "422": json_response(ref("Error"), ERROR_TEXT["422"])}},
        "post": {"requestBody": json_body(ref("SecretInput")),
                 "responses": {"201": json_response(ref("Secret"), "created (Location names it)"), **CHANGE}},
    },
    "/api/secrets/{name}": {
        "parameters": NAME_PARAMETER,
        "get": {"responses": {"200": json_response(ref("Secret")), **READ_NAMED}},
        "patch": {"requestBody": json_body(ref("SecretPatch")),
                  "responses": {"200": json_response(ref("Secret")), **CHANGE_NAMED}},
        "delete": {"summary": "Delete a secret no setting uses (409 names the settings that do)",
                   "responses": {"204": {"description": "deleted"}, **DELETE_NAMED, **errors("409")}},
    },
}


def extend(document: dict) -> dict:
    document["components"]["schemas"].update(SCHEMAS)
    document["paths"].update(PATHS)
    return document

"""The OpenAPI parts of SSH to devices: Test connection and host-key reset (merged by ``extend``)."""
from views.openapi_schemas import (
    NAME_PARAMETER,
    NULLABLE_STRING,
    STRING,
    array,
    closed,
    errors,
    json_response,
    ref,
)

CODES = ("ok, refused, no_route, timeout, unknown_host, permission_denied, host_key_changed, host_key_unknown, "
         "closed, failed")

SCHEMAS = {
    "DeviceConnectionTest": closed({
        "ok": {"type": "boolean"}, "code": {**STRING, "description": CODES},
        "message": {**STRING, "description": "the exact reason, e.g. the public key to install or both host key "
                                             "fingerprints"},
        "public_key": {**NULLABLE_STRING, "description": "the controller's key (created on first need)"},
        "host_key": closed({"status": {"enum": ["recorded", "new", "changed", "unknown"]},
                            "recorded": array(STRING), "presented": array(STRING)},
                           description="fingerprints as '<key type> SHA256:...'")},
        description="Logs in and runs `true`; saves nothing (a new host key is recorded by the first deploy)."),
}

PATHS = {
    "/api/devices/{name}/test-connection": {"parameters": NAME_PARAMETER, "post": {
        "summary": "Test the SSH connection to a device with the controller's key",
        "responses": {"200": json_response(ref("DeviceConnectionTest")), **errors("400", "404", "409")}}},
    "/api/devices/{name}/host-key": {"parameters": NAME_PARAMETER, "delete": {
        "summary": "Forget the host key on record for the device's host:port (the next connection trusts what it "
                   "is shown)",
        "responses": {"204": {"description": "forgotten"}, **errors("400", "404", "409")}}},
}


def extend(document: dict) -> dict:
    document["components"]["schemas"].update(SCHEMAS)
    document["paths"].update(PATHS)
    return document

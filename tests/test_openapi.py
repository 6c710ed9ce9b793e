"""The OpenAPI document describes every JSON route the app serves, and the tests' responses are held to it."""
import json
import re

import pytest
from flask import jsonify
from jsonschema import Draft202012Validator

from tests.support.openapi_check import ApiMismatch, check_exchange, document


def test_openapi_lists_every_api_route(app, api):
    document = api.get("/api/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    documented = {re.sub(r"\{[^}]+\}", "{}", path) for path in document["paths"]}
    served = {re.sub(r"<[^>]+>", "{}", rule.rule) for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/api/") and rule.rule != "/api/openapi.json"}
    assert served - documented == set()


def test_every_schema_is_valid_and_every_reference_resolves(api):
    doc = document()
    assert api.get("/api/openapi.json").get_json() == doc  # the check uses the document the app serves
    for schema in doc["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(doc)))
    assert refs - set(doc["components"]["schemas"]) == set()


def _tag(api) -> dict:
    response = api.post("/api/tags", json={"name": "lab", "display_name": "Lab"})
    assert response.status_code == 201
    return response.get_json()


def test_a_real_response_passes_and_each_kind_of_drift_fails(api):
    tag = _tag(api)
    body = json.dumps(tag).encode()
    check_exchange("GET", "/api/tags/lab", 200, "application/json", body)  # as served: passes

    drifted = [
        ("GET", "/api/tags/lab", 200, {k: v for k, v in tag.items() if k != "warnings"}, "'warnings' is a required"),
        ("GET", "/api/tags/lab", 200, {**tag, "colour": "red"}, "Additional properties"),
        ("GET", "/api/tags/lab", 200, {**tag, "priority": "90"}, "is not of type 'integer'"),
        ("GET", "/api/tags", 200, tag, "is not of type 'array'"),
        ("GET", "/api/tags/lab", 404, {"error": "no tag"}, "is not of type 'object'"),
        ("GET", "/api/tags/lab", 404, {"error": {"code": "not_found"}}, "'message' is a required"),
        ("GET", "/api/tags/lab", 418, tag, "status 418 is not documented"),
        ("PUT", "/api/tags/lab", 200, tag, "no PUT for /api/tags/{name}"),
        ("GET", "/api/nowhere", 200, tag, "no path for /api/nowhere"),
        ("DELETE", "/api/tags/lab", 204, tag, "promises no JSON body"),
    ]
    for method, path, status, wrong, reason in drifted:
        with pytest.raises(ApiMismatch, match=re.escape(reason)):
            check_exchange(method, path, status, "application/json", json.dumps(wrong).encode())


def test_an_accepted_request_body_must_match_the_request_schema():
    tag = {"name": "lab", "display_name": "Lab", "priority": 90, "modules": [], "warnings": [], "devices": []}
    answer = json.dumps(tag).encode()
    check_exchange("PATCH", "/api/tags/lab", 200, "application/json", answer, {"priority": 50}, b"{}")
    with pytest.raises(ApiMismatch, match="Additional properties"):
        check_exchange("PATCH", "/api/tags/lab", 200, "application/json", answer, {"colour": "red"}, b"{}")
    with pytest.raises(ApiMismatch, match="marks the body required"):
        check_exchange("PATCH", "/api/tags/lab", 200, "application/json", answer, None, b"")
    # A refused body is not held to the request schema: tests send wrong bodies on purpose.
    error = json.dumps({"error": {"code": "invalid", "message": "unknown field 'colour'", "field": "colour"}})
    check_exchange("PATCH", "/api/tags/lab", 422, "application/json", error.encode(), {"colour": "red"}, b"{}")


def test_the_fixture_clients_check_every_response(app, token):
    @app.get("/api/tags/<name>/colour")
    def undocumented(name):
        return jsonify({"colour": "red"})

    client = app.test_client(use_cookies=False)
    headers = {"Authorization": f"Bearer {token}"}
    with pytest.raises(ApiMismatch, match="no path for /api/tags/lab/colour"):
        client.get("/api/tags/lab/colour", headers=headers)
    assert client.get("/api/tags", headers=headers).get_json() == []

"""A deeply nested JSON body is invalid input (422 naming the body) at every JSON endpoint, never a 500."""
import pytest

RAW_BODY = {"/api/thymis/import"}  # takes a state.json file as the body: its own reader says why it is refused
WEBHOOK = "/api/hooks/repositories/name"  # authenticates the raw body before reading it (test_webhooks.py): 401


def deep(levels: int) -> str:
    return '{"display_name": ' + "[" * levels + "]" * levels + "}"


def operations_with_a_body(api):
    document = api.get("/api/openapi.json").get_json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "requestBody" in operation:
                yield method, path.replace("{", "").replace("}", "")  # path parameters: unknown names


@pytest.mark.parametrize("levels", [100, 100_000])
def test_deep_bodies_are_refused_everywhere(api, levels):
    seen = 0
    for method, path in operations_with_a_body(api):
        response = getattr(api, method)(path, data=deep(levels), content_type="application/json")
        if path == WEBHOOK:
            assert response.status_code == 401
            continue
        assert response.status_code in (404, 422), (method, path, response.status_code, response.get_data()[:300])
        if response.status_code == 422 and path in RAW_BODY:
            assert response.get_json()["error"]["field"] == "file"
        elif response.status_code == 422:
            error = response.get_json()["error"]
            assert error["code"] == "invalid_json" and error["field"] == "body", (method, path, error)
            assert "nested deeper than 64 levels" in error["message"]
            seen += 1
    assert seen >= 5  # the create endpoints at least


def test_a_body_within_the_limit_is_read(api):
    response = api.post("/api/tags", json={"name": "t1", "display_name": "T1", "priority": 50, "modules": []})
    assert response.status_code == 201, response.get_json()
    assert api.post("/api/tags", data="{not json", content_type="application/json").get_json()["error"]["message"] == (
        "The request body cannot be read: it is not valid JSON")

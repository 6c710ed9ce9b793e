"""The OpenAPI document describes every JSON route the app serves."""
import re


def test_openapi_lists_every_api_route(app, api):
    document = api.get("/api/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    documented = {re.sub(r"\{[^}]+\}", "{}", path) for path in document["paths"]}
    served = {re.sub(r"<[^>]+>", "{}", rule.rule) for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/api/") and rule.rule != "/api/openapi.json"}
    assert served - documented == set()

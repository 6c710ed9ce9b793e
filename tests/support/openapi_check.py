"""Every response the tests receive is checked against the API document (views.openapi.DOCUMENT, which
/api/openapi.json serves).

``install(app)`` makes ``app.test_client()`` return a client that, after each request to a documented path
or under /api, finds the operation (path template, method) and the response (status) in the document and
validates the JSON body against its schema. An undocumented path, method or status fails, and so does a JSON
body where the document promises none, or a body the server accepted (2xx) that the document's request
schema would refuse. A failure raises AssertionError at the request, so the test that made it fails.
"""
from __future__ import annotations

import io
import json
import re
from functools import cache, lru_cache

from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

DOCUMENT_URI = "urn:thymis-controller:openapi"


class ApiMismatch(AssertionError):
    """A response (or an accepted request body) that the API document does not describe."""


@lru_cache(maxsize=1)
def _document() -> str:
    from views.openapi import DOCUMENT
    return json.dumps(DOCUMENT)  # frozen: tests cannot change it by accident


def document() -> dict:
    return json.loads(_document())


@lru_cache(maxsize=1)
def _registry() -> Registry:
    return Registry().with_resource(DOCUMENT_URI, Resource(contents=document(), specification=DRAFT202012))


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


@cache
def _template(path: str) -> re.Pattern:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")


def find_path(doc: dict, path: str) -> str | None:
    """The document's path template for a request path; a literal path wins over a template."""
    if path in doc["paths"]:
        return path
    matches = [t for t in doc["paths"] if _template(t).match(path)]
    return min(matches, key=lambda t: t.count("{")) if matches else None


def _validate(instance, pointer: str, what: str) -> None:
    validator = Draft202012Validator({"$ref": f"{DOCUMENT_URI}#/{pointer}"}, registry=_registry())
    error = best_match(validator.iter_errors(instance))
    if error is not None:
        location = "".join(f"[{p!r}]" for p in error.absolute_path) or "(top level)"
        raise ApiMismatch(f"{what} does not match the API document at {location}: {error.message}\n"
                          f"body: {json.dumps(instance)[:2000]}")


def check_exchange(method: str, path: str, status: int, mimetype: str, body: bytes,
                   request_json=None, request_body: bytes | None = None) -> None:
    """Raise ApiMismatch unless the document describes this response (and, on success, this request)."""
    doc = document()
    if not (path.startswith("/api/") or path in doc["paths"]):
        return
    what = f"{method} {path} -> {status}"
    template = find_path(doc, path)
    if template is None:
        raise ApiMismatch(f"{what}: the API document has no path for {path}")
    operation = doc["paths"][template].get(method.lower())
    if operation is None:
        raise ApiMismatch(f"{what}: the API document has no {method} for {template}")
    response = operation["responses"].get(str(status))
    if response is None:
        raise ApiMismatch(f"{what}: status {status} is not documented for {method} {template} "
                          f"(documented: {', '.join(operation['responses'])})")
    content = response.get("content", {})
    if mimetype == "application/json":
        if "application/json" not in content:
            raise ApiMismatch(f"{what}: the document promises no JSON body, got {body[:200]!r}")
        pointer = _pointer("paths", template, method.lower(), "responses", str(status), "content",
                           "application/json", "schema")
        _validate(json.loads(body), pointer, f"the {what} response")
    elif content:
        raise ApiMismatch(f"{what}: the document promises {', '.join(content)}, got {mimetype or 'no body'}")
    elif body:
        raise ApiMismatch(f"{what}: the document promises no body, got {body[:200]!r}")
    if 200 <= status < 300 and request_body is not None:
        _check_request(operation, template, method, request_json, request_body, what)


def _check_request(operation: dict, template: str, method: str, request_json, request_body: bytes,
                   what: str) -> None:
    described = operation.get("requestBody")
    if described is None:
        return
    if not request_body:
        if described.get("required"):
            raise ApiMismatch(f"{what}: accepted without a body, but the document marks the body required")
        return
    if request_json is None or "application/json" not in described["content"]:
        return  # a form or other body: not what this operation documents
    pointer = _pointer("paths", template, method.lower(), "requestBody", "content", "application/json", "schema")
    _validate(request_json, pointer, f"the accepted {what} request body")


class CheckedClient(FlaskClient):
    """A test client whose every response is checked against the API document."""

    def open(self, *args, **kwargs):
        sent = None
        if not (args and isinstance(args[0], (EnvironBuilder, dict, Request))):
            options = {k: kwargs.pop(k) for k in ("buffered", "follow_redirects") if k in kwargs}
            request = self._request_from_builder_args(args, kwargs)
            sent = request.environ["wsgi.input"].read()
            request.environ["wsgi.input"] = io.BytesIO(sent)
            args, kwargs = (request,), options
        response = super().open(*args, **kwargs)
        final = response.request
        if response.history:
            sent = None  # the body went to the first URL, not to the one that answered
        request_json = None
        if sent and final.mimetype == "application/json":
            try:
                request_json = json.loads(sent)
            except (ValueError, RecursionError):  # a malformed or deeply nested body the API must refuse
                pass
        check_exchange(final.method, final.path, response.status_code, response.mimetype or "",
                       response.get_data(), request_json, sent)
        return response


def install(app) -> None:
    """Make ``app.test_client()`` check every response against the API document."""
    app.test_client_class = CheckedClient

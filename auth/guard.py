"""Authentication on every request but the public ones, and CSRF protection for cookie sessions."""
from __future__ import annotations

import secrets

from flask import abort, current_app, g, jsonify, redirect, session, url_for
from htmx_flask import make_response, request

from auth.tokens import token_owner

PUBLIC_ENDPOINTS = {"auth.login", "health.healthz", "static", "ui.favicon"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# Forge webhooks: authenticated by the repository's webhook secret (views/api_hooks.py), neither session nor
# token, and no CSRF token (a forge has none). Exactly this endpoint, POST only.
WEBHOOK_ENDPOINT, WEBHOOK_METHOD = "api_hooks.repository_push", "POST"


def csrf_token() -> str:
    """The session's CSRF token; while a fragment is rendered to be kept for everyone (views/cached.py), the
    placeholder that each request fills in with its own."""
    placeholder = g.get("csrf_placeholder")
    if placeholder:
        return placeholder
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def wants_json() -> bool:
    return request.path.startswith("/api/")


def json_error(status: int, code: str, message: str, field: str | None = None):
    body = {"error": {"code": code, "message": message}}
    if field:
        body["error"]["field"] = field
    return jsonify(body), status


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def check_request():
    """before_request hook: authenticate, then check CSRF for cookie-authenticated changes."""
    if request.endpoint == WEBHOOK_ENDPOINT and request.method == WEBHOOK_METHOD:
        return None
    if request.endpoint in PUBLIC_ENDPOINTS:
        if request.method not in SAFE_METHODS and request.endpoint == "auth.login":
            _check_csrf()
        return None
    token = _bearer_token()
    if token is not None:
        owner = token_owner(token)
        if owner is None:
            return json_error(401, "unauthenticated", "the bearer token is not valid")
        g.auth = f"token:{owner.name}"
        return None
    user = session.get("user")
    if user and user == current_app.config["THYMIS"].auth_basic_username:
        g.auth = "session"
        if request.method not in SAFE_METHODS:
            _check_csrf()
        return None
    if wants_json():
        return json_error(401, "unauthenticated", "log in or send 'Authorization: Bearer <token>'")
    if request.htmx:  # read from HX-Request by htmx_flask
        # htmx would swap the login page into a fragment: ask it to load the page instead.
        response = make_response("", 401, redirect=url_for("auth.login"))
    else:
        response = redirect(url_for("auth.login",
                                    next=request.full_path.rstrip("?") if request.method == "GET" else None))
    response.vary.add("HX-Request")
    return response


def _check_csrf() -> None:
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
    expected = session.get("csrf")
    if not expected or not secrets.compare_digest(sent.encode(), expected.encode()):
        abort(400, description="the form has expired or did not come from this controller (CSRF check failed); "
                               "reload the page and try again")

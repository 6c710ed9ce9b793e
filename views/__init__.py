"""Blueprints: thin views that parse input, call a service and answer with a page, a partial or JSON."""
from __future__ import annotations

from flask import render_template, request
from werkzeug.exceptions import HTTPException

from auth import json_error, wants_json
from errors import disk_full_message, is_disk_full

# Only the controller's own scripts and styles (no inline code, handlers or style attributes); module icons are
# data: images; htmx talks to the controller only.
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


def register_views(app) -> None:
    from views import (
        api_configs,
        api_deploy,
        api_errors,
        api_jobs,
        api_repositories,
        auth_views,
        cli,
        configs_pages,
        deploy_pages,
        health,
        jobs_pages,
        modules_pages,
        openapi,
        repositories_pages,
    )
    for module in (auth_views, health, repositories_pages, jobs_pages, configs_pages, modules_pages, api_repositories,
                   api_jobs, api_configs, api_deploy, deploy_pages, openapi):
        app.register_blueprint(module.blueprint)
    from views import (
        access_pages,
        api_access,
        api_import,
        api_review,
        device_ssh_views,
        import_pages,
        overview_pages,
        review_pages,
        ui,
    )
    for module in (access_pages, api_access, api_import, import_pages, overview_pages, ui, api_review, review_pages,
                   device_ssh_views):
        app.register_blueprint(module.blueprint)
    from views import api_secrets, audit_views, remote_refs_views, secrets_pages
    for module in (api_secrets, secrets_pages, audit_views, remote_refs_views):
        app.register_blueprint(module.blueprint)
    from views import api_followers, api_hooks
    for module in (api_hooks, api_followers):  # forge webhooks, followers (issue 17)
        app.register_blueprint(module.blueprint)
    cli.register(app)
    api_errors.register(app)
    from views.safe_json import SafeJSONProvider
    app.json = SafeJSONProvider(app)  # request bodies: a nesting limit instead of a RecursionError

    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if wants_json():
            code = {400: "bad_request", 401: "unauthenticated", 404: "not_found", 405: "method_not_allowed",
                    413: "too_large", 415: "unsupported_media_type"}.get(exc.code, "error")
            return json_error(exc.code, code, exc.description or exc.name)
        return render_template("error.html", status=exc.code, title=exc.name, message=exc.description), exc.code

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if is_disk_full(exc):
            message = disk_full_message(app.config["THYMIS"].project_path)
            app.logger.error("%s %s: %s", request.method, request.path, message)
            if wants_json():
                return json_error(507, "disk_full", message)
            return render_template("error.html", status=507, title="Disk full", message=message), 507
        app.logger.exception("unexpected error on %s %s", request.method, request.path)
        message = "the controller hit an unexpected error; the details are in its log"
        if wants_json():
            return json_error(500, "internal_error", message)
        return render_template("error.html", status=500, title="Internal error", message=message), 500

"""How the JSON API reports bad input, unknown names and conflicts (the body DESIGN.md promises)."""
from __future__ import annotations

from flask import current_app, jsonify, render_template, request

from auth import json_error, wants_json
from errors import FieldError, InputError, NotFound
from jobs import JobConflict


def json_body() -> dict:
    data = None
    if request.is_json:
        try:
            data = current_app.json.loads(request.get_data(cache=True))
        except ValueError as e:  # malformed, or nested too deeply (views/safe_json.py)
            reason = str(e) if "nested deeper" in str(e) else "it is not valid JSON"
            raise InputError([FieldError("body", f"The request body cannot be read: {reason}",
                                         "invalid_json")]) from None
    if not isinstance(data, dict):
        raise InputError([FieldError("body", "send a JSON object with Content-Type: application/json",
                                     "invalid_json")])
    return data


def input_error(exc: InputError):
    first = exc.first
    response, status = json_error(exc.status, "conflict" if exc.status == 409 else first.code, first.message,
                                  first.field)
    body = response.get_json()
    body["error"]["errors"] = [{"field": e.field, "message": e.message, "code": e.code} for e in exc.errors]
    return jsonify(body), status


def register(app) -> None:
    @app.errorhandler(InputError)
    def _input_error(exc):
        if wants_json():
            return input_error(exc)
        return (render_template("error.html", status=exc.status, title="Not saved", message=exc.first.message),
                exc.status)

    @app.errorhandler(NotFound)
    def _not_found(exc):
        if wants_json():
            return json_error(404, "not_found", str(exc))
        return render_template("error.html", status=404, title="Not found", message=str(exc)), 404

    @app.errorhandler(JobConflict)
    def _conflict(exc):
        message = f"a {exc.job.kind} job for this is already {exc.job.state} (job {exc.job.id}); try again when it ends"
        if wants_json():
            return json_error(409, "conflict", message)
        return render_template("error.html", status=409, title="Busy", message=message), 409

"""Answering htmx and plain requests from the same view."""
from __future__ import annotations

from flask import current_app, render_template, request


def settings():
    return current_app.config["THYMIS"]


def page_or_partial(page: str, partial: str, status: int = 200, **context):
    """The full page for a normal request, the partial for htmx (which swaps it into the page)."""
    template = partial if request.headers.get("HX-Request") else page
    return render_template(template, **context), status

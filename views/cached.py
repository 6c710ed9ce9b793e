"""Lists built once per data generation (models/data_generation.py) and reused until anything is written.

Each process keeps what it built with the generation it read *before* building, so a write in any process makes
every process build again on its next request (a write while building leaves newer data under an older
generation: built again next time, never stale). Kept: whole JSON list responses (they hold nothing that
depends on who asks) and rendered list fragments of pages, in which the session's CSRF token is a placeholder
filled in per request (no token is ever kept). At most MAX_BYTES in all; the least recently used go first.
"""
from __future__ import annotations

import functools
import secrets
import threading
from collections import OrderedDict

from flask import Response, g, make_response, render_template, request
from markupsafe import Markup

from auth.guard import csrf_token
from models import database
from models.data_generation import data_generation

MAX_BYTES = 8 * 1024 * 1024
CSRF_PLACEHOLDER = "csrf-placeholder-" + secrets.token_hex(16)  # per process: never sent, never guessable

_entries: OrderedDict[tuple, tuple[int, object, int]] = OrderedDict()  # key -> (generation, value, size)
_size = 0
_lock = threading.Lock()


def reuse(key: tuple, build, size=len):
    """``build()``, or what it returned for ``key`` at the current data generation."""
    global _size
    key = (database.obj.database, *key)
    generation = data_generation()
    with _lock:
        hit = _entries.get(key)
        if hit is not None and hit[0] == generation:
            _entries.move_to_end(key)
            return hit[1]
    value = build()
    weight = size(value)
    with _lock:
        old = _entries.pop(key, None)
        _size -= old[2] if old else 0
        if weight <= MAX_BYTES:
            _entries[key] = (generation, value, weight)
            _size += weight
        while _size > MAX_BYTES:
            _size -= _entries.popitem(last=False)[1][2]
    return value


def clear() -> None:
    global _size
    with _lock:
        _entries.clear()
        _size = 0


def reused_response(view):
    """A JSON list view whose answer (status, body, headers) is kept per URL; the view runs on a miss."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        def build():
            response = make_response(view(*args, **kwargs))
            headers = [(k, v) for k, v in response.headers.items() if k.lower() != "set-cookie"]
            return response.status_code, response.get_data(), headers
        status, body, headers = reuse(("response", request.url), build, size=lambda v: len(v[1]))
        return Response(body, status, headers)
    return wrapper


def fragment(template: str, build_context, extra_key: tuple = ()) -> Markup:
    """``template`` rendered with ``build_context()`` (called on a miss only), kept per template, request URL
    and endpoint (its pager links depend on them) and ``extra_key``."""
    def build() -> str:
        g.csrf_placeholder = CSRF_PLACEHOLDER
        try:
            return render_template(template, **build_context())
        finally:
            g.csrf_placeholder = None
    key = ("fragment", template, request.endpoint, request.full_path, *extra_key)
    html = reuse(key, build)
    return Markup(html.replace(CSRF_PLACEHOLDER, csrf_token()) if CSRF_PLACEHOLDER in html else html)


def content(template: str, build_context, keep: bool = True) -> Markup:
    """A page's content: kept per data generation as ``fragment`` when ``keep`` (a plain GET, not a form shown
    again with its errors), rendered afresh otherwise."""
    if keep:
        return fragment(template, build_context)
    return Markup(render_template(template, **build_context()))


def page(title: str, content_html: Markup, status: int = 200):
    """The full page around content rendered on its own (the top bar, flashes and CSRF token per request)."""
    return render_template("list_page.html", title=title, content=content_html), status

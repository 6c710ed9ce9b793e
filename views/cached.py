"""Lists built once per data generation (models/data_generation.py) and reused until anything is written.

Each process keeps what it built with the generation it read *before* building, so a write in any process makes
every process build again on its next request (a write while building leaves newer data under an older
generation: built again next time, never stale). Kept: whole JSON list responses (they hold nothing that
depends on who asks), whole list pages and fragments such as the module picker. In kept HTML the session's CSRF
token is a placeholder filled in per request (no token is ever kept); what else a page shows per request (the
theme, signed in or not, the sandbox's state) is part of its key, and a page with flashed messages waiting is
not kept. At most MAX_BYTES in all; the least recently used go first.
"""
from __future__ import annotations

import functools
import secrets
import threading
from collections import OrderedDict

from flask import Response, g, make_response, render_template, request, session
from markupsafe import Markup

import sandbox
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


def _kept(key: tuple, render) -> str:
    """``render()`` with the CSRF placeholder in place of the token, kept under ``key``. Nested calls keep the
    placeholder until the outermost one is done."""
    def build() -> str:
        outer = g.get("csrf_placeholder")
        g.csrf_placeholder = CSRF_PLACEHOLDER
        try:
            return render()
        finally:
            g.csrf_placeholder = outer
    return reuse(key, build)


def _filled(html: str) -> Markup:
    """The request's own CSRF token in place of the placeholder (inside an outer ``_kept``: the placeholder)."""
    return Markup(html.replace(CSRF_PLACEHOLDER, csrf_token()) if CSRF_PLACEHOLDER in html else html)


def _key(*parts) -> tuple:
    # The URL and endpoint: pager and filter links, the navigation's current section and the theme form's return
    # address depend on them.
    return (*parts, request.endpoint, request.full_path)


def fragment(template: str, build_context, extra_key: tuple = ()) -> Markup:
    """``template`` rendered with ``build_context()`` (called on a miss only), kept per template, URL, endpoint
    and ``extra_key``."""
    return _filled(_kept(_key("fragment", template, *extra_key),
                         lambda: render_template(template, **build_context())))


def _around_key() -> tuple | None:
    """What the page around the content (base.html) shows besides data and the CSRF token: the theme, whether
    someone is signed in (the navigation, the sandbox banner) and the sandbox's state. None while flashed
    messages wait (each is shown once)."""
    if session.get("_flashes"):
        return None
    return session.get("theme"), session.get("user") is not None, tuple(sorted(sandbox.isolation().items()))


def page(title: str, template: str, build_context, status: int = 200, keep: bool = True):
    """The page ``template`` rendered with ``build_context()`` shows, in list_page.html. Kept per data generation,
    URL, endpoint and what ``_around_key`` names when ``keep`` (not a form shown again) and nothing is flashed."""
    def render() -> str:
        return render_template("list_page.html", title=title,
                               content=Markup(render_template(template, **build_context())))
    around = _around_key() if keep and status == 200 else None
    if around is None:
        return render(), status
    return _filled(_kept(_key("page", template, title, *around), render)), status

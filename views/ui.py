"""Page-wide pieces: template filters for readable values, the favicon, the colour theme kept in the session."""
from __future__ import annotations

import json
import re

from flask import Blueprint, redirect, request, send_from_directory, session
from markupsafe import Markup, escape

from views.auth_views import _safe_next

blueprint = Blueprint("ui", __name__)
THEMES = ("auto", "light", "dark")
_CODE = re.compile(r"`([^`\n]+)`")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


@blueprint.app_template_filter("codeify")
def codeify(text) -> Markup:
    """Text with Markdown-style `code` shown as <code> (everything else escaped)."""
    return Markup(_CODE.sub(lambda m: f"<code>{m.group(1)}</code>", str(escape("" if text is None else text))))


def humanise(name: str) -> str:
    """``exposePort`` / ``expose_port`` -> "Expose port"."""
    words = _CAMEL.sub(" ", name).replace("_", " ").replace("-", " ").split()
    text = " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in words)
    return text[:1].upper() + text[1:]


@blueprint.app_template_filter("setting_label")
def setting_label(entry: dict) -> str:
    """A module's own display name for a setting, else its name humanised (also when the SDK only capitalised it:
    the 2024 API's ``exposePort`` arrives as "Exposeport")."""
    name = entry.get("name") or ""
    shown = entry.get("display_name") or ""
    if not shown or shown == name or shown == name.replace("_", " ").capitalize():
        return humanise(name)
    return shown


@blueprint.app_template_filter("readable")
def readable(value) -> Markup:
    """A setting value for reading: lists as lists, dicts as key/value lists, the rest as JSON (text quoted, so
    an empty text differs from unset)."""
    if isinstance(value, list):
        if not value:
            return Markup('<span class="hint">empty list</span>')
        return Markup('<ul class="values">') + Markup("").join(
            Markup("<li>") + readable(v) + Markup("</li>") for v in value) + Markup("</ul>")
    if isinstance(value, dict):
        if not value:
            return Markup('<span class="hint">empty</span>')
        return Markup('<dl class="values">') + Markup("").join(
            Markup("<dt>") + escape(k) + Markup("</dt><dd>") + readable(v) + Markup("</dd>")
            for k, v in value.items()) + Markup("</dl>")
    if value is None:
        return Markup('<span class="hint">unset</span>')
    return Markup("<code>") + escape(json.dumps(value)) + Markup("</code>")


@blueprint.app_template_filter("diff_lines")
def diff_lines(diff: str) -> list[tuple[str, str]]:
    """A unified diff as (css class, line) pairs: added, removed, hunk headers, file headers, context."""
    out = []
    for line in (diff or "").splitlines():
        if line.startswith(("+++", "---")):
            kind = "diff-file"
        elif line.startswith("+"):
            kind = "diff-add"
        elif line.startswith("-"):
            kind = "diff-del"
        elif line.startswith("@@"):
            kind = "diff-hunk"
        else:
            kind = "diff-ctx"
        out.append((kind, line))
    return out


# Pages of a blueprint that belong to another section of the navigation (endpoint -> the nav link's endpoint).
_SECTION = {"access_pages.known_hosts_page": "access_pages.known_hosts_page",
            "access_pages.add_known_hosts": "access_pages.known_hosts_page"}


@blueprint.app_template_global("is_current")
def is_current(endpoint: str, **kwargs) -> bool:
    """Whether the page being shown belongs to the navigation link ``endpoint`` (its blueprint, same ``kinds``)."""
    here = request.endpoint or ""
    if here in _SECTION or endpoint in _SECTION.values():
        return _SECTION.get(here) == endpoint
    if here.partition(".")[0] != endpoint.partition(".")[0]:
        return False
    args = request.view_args or {}
    return all(args.get(key) == value for key, value in kwargs.items())


@blueprint.app_context_processor
def _theme():
    theme = session.get("theme", "auto")
    return {"theme": theme if theme in THEMES else "auto", "themes": THEMES}


@blueprint.get("/favicon.ico")
def favicon():
    return send_from_directory(blueprint.root_path + "/../static", "favicon.svg", mimetype="image/svg+xml",
                               max_age=86400)


@blueprint.post("/theme")
def theme():
    """Light, dark or auto (the browser's prefers-color-scheme), kept in the session; back to the same page."""
    chosen = request.form.get("theme", "auto")
    session["theme"] = chosen if chosen in THEMES else "auto"
    return redirect(_safe_next(request.form.get("next")))


# Nix's progress chatter in a job log: build output of a derivation ("name> ..."), its phases, building/copying.
_NIX_PROGRESS = re.compile(r"^(?:[\w.+-]+(?:> |: phase )|(?:building|copying|copying path|downloading|fetching|"
                           r"querying|these \d+ (?:derivations|paths) will be)\b)")
COLLAPSE_AT = 4


@blueprint.app_template_filter("log_blocks")
def log_blocks(log: str) -> list[dict]:
    """A job log as blocks: runs of at least COLLAPSE_AT Nix progress lines become one collapsed block."""
    blocks: list[dict] = []
    for line in (log or "").splitlines():
        progress = bool(_NIX_PROGRESS.match(line))
        if blocks and blocks[-1]["progress"] == progress:
            blocks[-1]["lines"].append(line)
        else:
            blocks.append({"progress": progress, "lines": [line]})
    for block in blocks:
        block["collapsed"] = block["progress"] and len(block["lines"]) >= COLLAPSE_AT
    return blocks

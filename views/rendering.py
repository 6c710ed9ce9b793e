"""Answering htmx and plain requests from the same view: views branch on HX-Request only through these helpers.

htmx_flask (initialised in app.py) reads the header into ``request.htmx``. A response that depends on it says so
with ``Vary: HX-Request``, so a cache never hands a partial to a browser that asked for the page, or the reverse.
(The one other reader is auth.guard: an htmx request without a session gets a 401 that tells htmx to go to /login.)
"""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template
from htmx_flask import make_response, request


def settings():
    return current_app.config["THYMIS"]


def page_or_partial(page: str, partial: str | None, status: int = 200, /, *, trigger: str | None = None,
                    **context):
    """The full page for a normal request, the partial for htmx (which swaps it into the page).

    ``partial=None`` answers htmx with an empty body (the swap removes the target); ``trigger`` names an event
    htmx fires in the browser after an htmx answer (e.g. for other parts of the page to reload).
    """
    if request.htmx:
        response = _partial(partial, status, trigger, context)
    else:
        response = make_response(render_template(page, **context), status)
    response.vary.add("HX-Request")
    return response


def confirm(title: str, message: str, *, action: str | None, button: str | None, cancel: str, affected=(),
            danger: bool = False, note: str | None = None, fields: dict | None = None):
    """Ask before ``action`` (a POST URL): a page without JavaScript, the page's dialog with htmx (the link that
    leads here is ``confirm_link`` in macros/forms.html). ``affected``: (group, [(label, url[, code])]) pairs.
    ``button=None``: the action would be refused (``note`` says why); the answer only offers to close.
    ``fields``: hidden form fields the action is posted with (what was chosen)."""
    return page_or_partial("confirm.html", "_confirm.html", title=title, message=message, action=action,
                           button=button, cancel=cancel, affected=affected, danger=danger, note=note,
                           fields=fields or {})


def partial_or_redirect(partial: str | None, url: str, message: str | None = None, /, *, trigger: str | None = None,
                        **context):
    """The partial for htmx; a plain form post is redirected to ``url`` (post/redirect/get) with ``message`` flashed.

    For htmx the message goes out of band into the page's live status region (base.html), so a removal (an empty
    partial) still says what happened.
    """
    if request.htmx:
        response = _partial(partial, 200, trigger, context, message)
    else:
        context.pop("extra", None)
        if message:
            flash(message)
        response = redirect(url)
    response.vary.add("HX-Request")
    return response


def _partial(partial: str | None, status: int, trigger: str | None, context: dict, message: str | None = None):
    extra = context.pop("extra", "")  # already rendered out-of-band swaps to send along
    body = (render_template(partial, **context) if partial else "") + extra
    if message:
        body += live_status(message)
    return make_response(body, status, trigger=trigger)


def live_status(message: str, kind: str = "flash") -> str:
    """An out-of-band swap of the page's live status region (announced by screen readers, shown at the top)."""
    return render_template("_live_status.html", message=message, kind=kind)


def retarget(response, target: str, swap: str = "outerHTML"):
    """Tell htmx to swap this answer into ``target`` instead of the element that asked (e.g. an error)."""
    response.headers["HX-Retarget"] = target
    response.headers["HX-Reswap"] = swap
    response.vary.add("HX-Request")
    return response

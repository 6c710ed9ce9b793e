"""The remote's branches and tags for the repository forms (htmx, and a page without JavaScript) and as JSON.
Listing stores nothing."""
from __future__ import annotations

from flask import Blueprint, jsonify, url_for
from htmx_flask import request

from errors import InputError
from repos import connection_check, remote_refs
from repos import repositories as service
from repos.inputs import shown_again
from repos.vault import SecretUnavailable
from views.api_errors import json_body
from views.rendering import page_or_partial, settings
from views.repositories_pages import section_context

blueprint = Blueprint("remote_refs", __name__)


def listing(repo, data) -> dict:
    """``remote_refs.list_refs`` for a saved repository (its settings, overridden by ``data``) or for ``data``."""
    if repo is None:
        spec, ref, creds = connection_check.new_target(data, settings())
    else:
        spec, ref, creds_for = connection_check.target_of(repo, data, settings())
        try:
            creds = creds_for()
        except SecretUnavailable as exc:
            failed = connection_check.unavailable(spec, exc)
            failed.pop("host_key")
            return failed
    return remote_refs.list_refs(spec, creds, settings(), ref)


@blueprint.get("/api/repositories/<name>/refs")
def api_repository_refs(name: str):
    """With the saved URL and access; ``?ref=`` resolves that ref instead of the saved one."""
    repo = service.get_repository(name)
    return jsonify(listing(repo, {"ref": request.args["ref"]} if "ref" in request.args else {}))


@blueprint.post("/api/remote-refs")
def api_remote_refs():
    """A repository that is not saved yet: ``{url, ref?, access?}``."""
    return jsonify(listing(None, json_body()))


def _form_listing(repo) -> tuple[dict, dict]:
    """(what the form shows again, the listing); a "Use" button without JavaScript sends ``use_ref``."""
    data = request.form.copy()
    if data.get("use_ref"):
        data["ref"] = data.pop("use_ref")
    try:
        refs = listing(repo, data)
    except InputError as exc:
        refs = {"ok": False, "message": exc.first.message}
    return shown_again(data), refs


@blueprint.post("/repositories/remote-refs")
def new_refs():
    form, refs = _form_listing(None)
    page = {} if request.htmx else section_context(form)  # the whole list only for the page without JavaScript
    return page_or_partial("repositories.html", "_remote_refs.html", refs=refs,
                           refs_action=url_for("remote_refs.new_refs"), **page)


@blueprint.post("/repositories/<name>/refs")
def repository_refs(name: str):
    repo = service.get_repository(name)
    form, refs = _form_listing(repo)
    return page_or_partial("repository_edit.html", "_remote_refs.html", repo=repo, refs=refs, error=None,
                           refs_action=url_for("remote_refs.repository_refs", name=name),
                           form={"display_name": repo.display_name, **form})

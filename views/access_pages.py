"""Pages for repository access: the edit page's access panel, test connection, deploy key, known hosts."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from errors import InputError
from repos import access, connection_check, known_hosts, ssh_keys
from repos import repositories as service
from repos.inputs import shown_again
from repos.urls import UrlError, parse_remote_url
from views.rendering import confirm, page_or_partial, partial_or_redirect, settings

blueprint = Blueprint("access_pages", __name__)


def access_view(repo, form: dict | None = None) -> dict:
    """What the access panel of ``repo``'s edit page shows (the kind chosen in ``form`` wins)."""
    row = access.access_row(repo)
    chosen = ((form or {}).get("access") or {}).get("kind") or row.kind
    try:
        spec = parse_remote_url(repo.url, allow_local=True)
    except UrlError:
        spec = None
    ssh = spec is not None and spec.scheme == "ssh"
    return {
        "kinds": [(kind, access.LABELS[kind]) for kind in access.KINDS], "kind": chosen, "saved_kind": row.kind,
        "username": ((form or {}).get("access") or {}).get("username", row.username) or "",
        "has_token": row.kind == access.HTTPS_TOKEN and bool(row.token),
        "deploy_key": row.deploy_public_key,
        "deploy_fingerprint": ssh_keys.public_fingerprint(row.deploy_public_key) if row.deploy_public_key else None,
        "host_key": access.host_key_json(settings()),
        "ssh": ssh, "host": spec.host if ssh else None, "port": (spec.port or 22) if ssh else None,
        "entry": known_hosts.host_entry(spec.host, spec.port) if ssh else None,
        "host_keys": known_hosts.keys_for(spec.host, spec.port) if ssh else [],
    }


@blueprint.app_context_processor
def _helpers():
    return {"access_view": access_view}


@blueprint.post("/repositories/<name>/test-connection")
def test_connection(name: str):
    repo = service.get_repository(name)
    try:
        result = connection_check.check_repository(repo, request.form, settings())
    except InputError as exc:
        result = {"ok": False, "reason": "invalid input", "message": access.redact_url(exc.first.message)}
    form = {"display_name": repo.display_name, **shown_again(request.form)}
    return page_or_partial("repository_edit.html", "_connection_result.html", repo=repo, form=form, error=None,
                           result=result)


@blueprint.route("/repositories/<name>/deploy-key", methods=["GET", "POST"])
def deploy_key(name: str):
    repo = service.get_repository(name)
    if request.method == "GET":  # replacing a key asks first
        edit = url_for("repositories.edit", name=name) + "#access"
        return confirm(f"Replace the deploy key of {repo.display_name}?", "The current key stops working for this "
                       "repository at once: its fetches fail until you add the new public key to the repository.",
                       action=url_for("access_pages.deploy_key", name=name), button="Generate a new key",
                       cancel=edit, danger=True)
    access.regenerate_deploy_key(repo, settings())
    return partial_or_redirect("_deploy_key.html", url_for("repositories.edit", name=name) + "#access",
                               "Generated a new deploy key: add its public key to the repository, then save with "
                               "access SSH deploy key.", repo=repo, view=access_view(repo))


def _confirm_reset(host: str, port: int, repo_name: str | None):
    entry = known_hosts.host_entry(host, port)
    keys = known_hosts.keys_for(host, port)
    cancel = (url_for("repositories.edit", name=repo_name) + "#access" if repo_name
              else url_for("access_pages.known_hosts_page"))
    return confirm(f"Forget the host key of {entry}?", "The next connection trusts whatever key the host presents "
                   "(trust on first use again). Do this only when you know the host's key was replaced.",
                   action=url_for("access_pages.reset_known_host", host=host, port=port, repository=repo_name),
                   button="Reset host key", cancel=cancel, danger=True,
                   affected=[("Keys on record", [(f"{k.key_type} {k.fingerprint}", cancel) for k in keys])])


@blueprint.get("/known-hosts")
def known_hosts_page():
    return render_template("known_hosts.html", rows=known_hosts.all_hosts(), lines="", error=None)


@blueprint.post("/known-hosts")
def add_known_hosts():
    lines = request.form.get("lines", "")
    try:
        rows = known_hosts.add_operator_keys(lines, settings())
    except InputError as exc:
        return render_template("known_hosts.html", rows=known_hosts.all_hosts(), lines=lines, error=exc), exc.status
    flash(f"Trusted {len(rows)} host key(s).")
    return redirect(url_for("access_pages.known_hosts_page"))


@blueprint.route("/known-hosts/reset", methods=["GET", "POST"])
def reset_known_host():
    host, port = request.args.get("host", ""), request.args.get("port", "22")
    if request.method == "GET":
        return _confirm_reset(host, int(port) if port.isdigit() else 22, request.args.get("repository"))
    known_hosts.reset_host(host, int(port) if port.isdigit() else 22, settings())
    message = (f"Forgot the host key of {known_hosts.host_entry(host, int(port) if port.isdigit() else 22)}: "
               "the next connection records the key the host presents.")
    repo_name = request.args.get("repository")
    if repo_name:  # the reset button of a repository's access panel
        repo = service.get_repository(repo_name)
        return partial_or_redirect("_host_keys.html", url_for("repositories.edit", name=repo_name) + "#access",
                                   message, repo=repo, view=access_view(repo))
    flash(message)
    return redirect(url_for("access_pages.known_hosts_page"))

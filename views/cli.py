"""Operator commands: flask --app app repos add|list|refresh|remove, tokens create|list|revoke, admin set-password,
thymis import, secrets rotate-key."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from auth.passwords import set_admin_password
from auth.tokens import TokenError, create_token, revoke_token
from errors import InputError
from models import ApiToken, Job, JobState, Repository

repos = AppGroup("repos", help="Manage external repositories.")
tokens = AppGroup("tokens", help="Manage API tokens for the JSON API.")
admin = AppGroup("admin", help="Controller administration.")
thymis = AppGroup("thymis", help="Coming from Thymis: import a Thymis project.")
secrets = AppGroup("secrets", help="Secrets and the key they are encrypted with.")


def _service():
    """repos/repositories.py, loaded by the repos commands only (tokens and admin start faster without it)."""
    from repos import repositories
    return repositories


def _settings():
    return current_app.config["THYMIS"]


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _wait_for(job: Job) -> Job:
    """Run the job here if no server has taken it yet, else follow it until it ends."""
    if not current_app.extensions["jobs"].run_now(job):
        while Job.get_by_id(job.id).active:
            time.sleep(0.5)
    return Job.get_by_id(job.id)


def _report(repo_name: str, job: Job, wait: bool) -> None:
    if not wait:
        click.echo(f"job {job.id} queued; follow it with GET /api/jobs/{job.id}")
        return
    job = _wait_for(job)
    repo = Repository.get_or_none(Repository.name == repo_name)
    click.echo(job.log.rstrip())
    if repo is not None:
        click.echo(f"{repo.name}: {repo.status} {repo.fetched_commit or ''}".rstrip())
    if job.state != JobState.SUCCEEDED:
        _fail(job.error or "the job failed")


def _input_failure(exc: InputError) -> None:
    _fail("; ".join(f"{e.field}: {e.message}" for e in exc.errors))


@repos.command("add")
@click.argument("url")
@click.option("--display-name", "-d", required=True, help="The name shown in the UI.")
@click.option("--name", help="The flake input name (derived from the display name when omitted).")
@click.option("--ref", help="Branch, tag or full commit (default: the remote's HEAD branch).")
@click.option("--review", type=click.Choice(["auto", "required"]), default="auto",
              help="required: a commit that passes validation awaits approval instead of becoming active.")
@click.option("--refresh-interval", default="off", help="Minutes between scheduled refreshes, or off (default).")
@click.option("--unknown-ref-ok", is_flag=True, help="Add it even when the remote has no such branch or tag yet.")
@click.option("--wait/--no-wait", default=True, help="Fetch now and report the result (default) or only queue it.")
def repos_add(url, display_name, name, ref, review, refresh_interval, unknown_ref_ok, wait):
    service = _service()
    data = {"url": url, "display_name": display_name, "review": review,
            "refresh_interval": _minutes(refresh_interval), "confirm_unknown_ref": unknown_ref_ok}
    if name:
        data["name"] = name
    if ref:
        data["ref"] = ref
    try:
        repo, job = service.create_repository(data, _settings())
    except InputError as exc:
        _input_failure(exc)
    click.echo(f"added {repo.name} ({repo.display_name})")
    _report(repo.name, job, wait)


@repos.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON the API returns.")
def repos_list(as_json):
    service = _service()
    rows = service.repositories_json(Repository.select().order_by(Repository.name))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        commit = (row["active_commit"] or row["fetched_commit"] or "-")[:7]
        click.echo(f"{row['name']}\t{row['status']}\t{commit}\t{row['ref'] or '(default branch)'}\t{row['url']}")


@repos.command("refresh")
@click.argument("name")
@click.option("--wait/--no-wait", default=True)
def repos_refresh(name, wait):
    service = _service()
    try:
        job = service.refresh_repository(service.get_repository(name))
    except (service.NotFound, service.JobConflict) as exc:
        _fail(str(exc))
    _report(name, job, wait)


@repos.command("review")
@click.argument("name")
@click.argument("policy", type=click.Choice(["auto", "required"]))
def repos_review(name, policy):
    """Set the review policy: required makes a commit that passes validation await approval."""
    service = _service()
    try:
        repo, _job = service.update_repository(service.get_repository(name), {"review": policy}, _settings())
    except service.NotFound as exc:
        _fail(str(exc))
    except InputError as exc:
        _input_failure(exc)
    click.echo(f"{repo.name}: review {repo.review}")


@repos.command("interval")
@click.argument("name")
@click.argument("minutes")
def repos_interval(name, minutes):
    """Refresh the repository every MINUTES minutes (a fetch job), or "off"."""
    repo = _update(name, {"refresh_interval": _minutes(minutes)})
    shown = f"every {repo.refresh_interval} minute(s), next at {repo.refresh_due_at} UTC" if repo.refresh_interval \
        else "off"
    click.echo(f"{repo.name}: refresh {shown}")


@repos.command("webhook-secret")
@click.argument("name")
@click.option("--generate", is_flag=True, help="Make a random secret and print it once (give it to the forge).")
@click.option("--remove", is_flag=True, help="Remove the secret: webhooks are refused.")
def repos_webhook_secret(name, generate, remove):
    """Set the secret forge webhooks authenticate with (asked for, hidden, unless --generate or --remove)."""
    import secrets as random
    if generate and remove:
        _fail("give --generate or --remove, not both")
    secret = "" if remove else random.token_urlsafe(32) if generate else click.prompt(
        "Webhook secret", hide_input=True, confirmation_prompt=True)
    repo = _update(name, {"webhook_secret": secret})
    if generate:
        click.echo(secret)
    click.echo(f"{repo.name}: webhook secret {'set' if repo.webhook_secret else 'removed'}; forges POST to "
               f"{_settings().base_url.rstrip('/')}/api/hooks/repositories/{repo.name}", err=generate)


@repos.command("follow")
@click.argument("name")
@click.option("--device", "devices", multiple=True, help="A device that follows the repository (repeatable).")
@click.option("--tag", "tags", multiple=True, help="A tag whose devices follow it (repeatable).")
@click.option("--deploy/--build-only", default=False, help="Deploy automatically, or build only (default).")
@click.option("--remove", is_flag=True, help="Stop these devices and tags following it.")
def repos_follow(name, devices, tags, deploy, remove):
    """Devices and tags built (or deployed) when a new commit of the repository becomes active; without
    --device or --tag, list them."""
    from repos.followers import followers_json, set_followers
    try:
        repo = _service().get_repository(name)
    except _service().NotFound as exc:
        _fail(str(exc))
    named = {("device", d) for d in devices} | {("tag", t) for t in tags}
    current = [f for f in followers_json(repo) if (f["kind"], f["name"]) not in named]
    if named and not remove:
        current += [{"kind": kind, "name": item, "deploy": deploy} for kind, item in sorted(named)]
    try:
        shown = set_followers(repo, {"followers": current}) if named else followers_json(repo)
    except InputError as exc:
        _input_failure(exc)
    for f in shown:
        click.echo(f"{f['kind']}\t{f['name']}\t{'deploy' if f['deploy'] else 'build'}")
    if not shown:
        click.echo(f"nothing follows {repo.name}")


def _minutes(text: str):
    """A refresh interval argument as the JSON API takes it: "off", or a whole number (else refused as given)."""
    return int(text) if text.strip().isdigit() else text


def _update(name: str, data: dict):
    service = _service()
    try:
        repo, _job = service.update_repository(service.get_repository(name), data, _settings())
    except service.NotFound as exc:
        _fail(str(exc))
    except InputError as exc:
        _input_failure(exc)
    return repo


@repos.command("remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def repos_remove(name, yes):
    service = _service()
    try:
        repo = service.get_repository(name)
    except service.NotFound as exc:
        _fail(str(exc))
    if not yes:
        click.confirm(f"Remove {repo.display_name} ({repo.name}) and its fetched data?", abort=True)
    service.delete_repository(repo, _settings())
    click.echo(f"removed {name}")


@tokens.command("create")
@click.argument("name")
def tokens_create(name):
    try:
        token = create_token(name)
    except TokenError as exc:
        _fail(str(exc))
    click.echo(token)


@tokens.command("list")
def tokens_list():
    for row in ApiToken.select().order_by(ApiToken.name):
        click.echo(f"{row.name}\tcreated {row.created_at}\tlast used {row.last_used_at or 'never'}")


@tokens.command("revoke")
@click.argument("name")
def tokens_revoke(name):
    if not revoke_token(name):
        _fail(f"no token named {name!r}")
    click.echo(f"revoked {name}")


@admin.command("set-password")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def admin_set_password(password):
    if _settings().password_file is not None:
        _fail(f"the admin password is read from {_settings().password_file} (THYMIS_AUTH_BASIC_PASSWORD_FILE); "
              "change it there")
    if len(password) < 8:
        _fail("the password must have at least 8 characters")
    set_admin_password(password)
    click.echo("admin password changed")


@thymis.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as the API returns it.")
def thymis_import(path, as_json):
    """Import a Thymis project folder (its repository/state.json) or a state.json file."""
    from configs.thymis_import import import_thymis_project
    try:
        report = import_thymis_project(path, _settings())
    except InputError as exc:
        _input_failure(exc)
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2))
        return
    for line in report.lines():
        click.echo(line)
    if report.jobs:
        click.echo(f"fetching the repositories: jobs {', '.join(map(str, report.jobs))} (GET /api/jobs/<id>)")


@secrets.command("rotate-key")
def rotate_key_command():
    """Re-encrypt every secret and repository credential under a new key (the old one is kept until all are)."""
    from repos.vault import SecretUnavailable, key_path
    from secret_store.rotate import rotate_key
    try:
        count = rotate_key(_settings())
    except SecretUnavailable as exc:
        _fail(str(exc))
    click.echo(f"re-encrypted {count} value(s) under a new key in {key_path(_settings())}; the old key is gone")


def register(app) -> None:
    for group in (repos, tokens, admin, thymis, secrets):
        app.cli.add_command(group)

"""External Repositories pages: list, add, edit, refresh, remove. Work with and without JavaScript."""
from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for

from configs.affected import repository_users
from errors import InputError
from models import Repository, RepositoryStatus
from repos import repositories as service
from repos.inputs import shown_again
from repos.listing import RepositoryRow, load_row, load_rows, matching, status_filter
from repos.thymis_override import (
    choose_thymis,
    thymis_candidates,
    thymis_choice,
    thymis_conflict,
)
from repos.urls import UrlError, parse_remote_url
from views.cached import fragment, page
from views.jobs_pages import STARTED
from views.paging import paginate, query_args, search_text
from views.rendering import confirm, live_status, partial_or_redirect, settings

blueprint = Blueprint("repositories", __name__, url_prefix="/repositories")


def _context(row: RepositoryRow) -> dict:
    return {"repo": row.repo, "job": row.job, "modules": row.modules}


def _row(repo: Repository) -> dict:
    return _context(load_row(repo))


def _list_context() -> dict:
    """One page of rows, searched and filtered by the query string (?q=, ?status=, ?page=, ?per_page=)."""
    v = query_args()
    filters = {"q": search_text(v), "status": status_filter(v)}
    query = matching(filters["q"], filters["status"]).order_by(Repository.display_name, Repository.name)
    page = paginate(query, v)
    return {"rows": [_context(row) for row in load_rows(page.items)], "page": page, "filters": filters,
            "filtered": any(filters.values()), "statuses": [(s.value, s.value) for s in RepositoryStatus]}


def outcome(repo: Repository) -> str:
    """One sentence on where a repository stands, for the live status after its job."""
    if repo.status == "ready":
        return f"{repo.display_name} is ready."
    if repo.status == "failed" and repo.active_commit:
        return (f"{repo.display_name}: the latest commit failed; the active commit {repo.active_commit[:7]} "
                "stays in use.")
    return f"{repo.display_name} is {repo.status}."


def section_context(form=None, error: InputError | None = None, message: str | None = None) -> dict:
    return {**_list_context(), "form": form or {}, "error": error, "message": message,
            "thymis_candidates": thymis_candidates(), "thymis_chosen": thymis_choice(),
            "thymis_conflict": thymis_conflict(), "allow_local": settings().allow_local_repositories}


def _section(form=None, error: InputError | None = None, status: int = 200, **extra):
    """The page, or for htmx the section (list and add form); kept per data generation when it shows no form again
    (a plain GET)."""
    keep = form is None and error is None and not extra

    def context() -> dict:
        return {**section_context(form, error), **extra}
    if not request.htmx:
        response = make_response(*page("External Repositories", "repositories.html", context, status, keep=keep))
    elif keep:
        response = make_response(fragment("_repositories_section.html", context), status)
    else:
        response = make_response(render_template("_repositories_section.html", **context()), status)
    response.vary.add("HX-Request")
    return response


@blueprint.get("")
def index():
    return _section()


def _page_status(exc: InputError) -> int:
    """A page asking about an unknown ref is a question (200, like the duplicate warning); JSON answers 409."""
    return 200 if exc.first.code == "unknown_ref" else exc.status


def _duplicate_of(form) -> Repository | None:
    """The repository already added from the same (normalised) URL, if any."""
    try:
        spec = parse_remote_url(form.get("url") or "", allow_local=settings().allow_local_repositories)
    except UrlError:
        return None
    return Repository.get_or_none(Repository.url == spec.url)


@blueprint.post("")
def add():
    data = request.form.copy()
    add_anyway = data.pop("add_anyway", None)
    duplicate = None if add_anyway else _duplicate_of(data)
    if duplicate is not None:  # warn before saving: the same modules twice fail the unique step
        return _section(shown_again(data), duplicate=duplicate)
    try:
        repo, _job = service.create_repository(data, settings())
    except InputError as exc:
        return _section(form=shown_again(data), error=exc, status=_page_status(exc), add_anyway=add_anyway)
    return partial_or_redirect("_repositories_section.html", url_for("repositories.index"),
                               f"Added {repo.display_name}; fetching it now.", trigger=STARTED,
                               **section_context())


@blueprint.get("/<name>/row")
def row(name: str):
    """The row, swapped in when its job ends (the row's progress bar polls the job, not the row).

    ``?poll=1`` is the row's old polling URL: it still answers 286 (stop polling) once nothing is running.
    """
    row = _row(service.get_repository(name))
    status = 286 if request.args.get("poll") and row["job"] is None else 200
    body = render_template("_repository_row.html", **row)
    if request.headers.get("HX-Request") and row["job"] is None:  # the job ended: say how, replacing "fetching"
        body += live_status(outcome(row["repo"]), "flash" if row["repo"].status == "ready" else "warning")
    return body, status


def _edit_form(form):
    """The edit form as the service reads it: an empty webhook secret keeps the saved one; the box removes it."""
    form = form.copy()
    remove = form.pop("remove_webhook_secret", None)
    if remove:
        form["webhook_secret"] = ""
    elif not form.get("webhook_secret"):
        form.pop("webhook_secret", None)
    return form


@blueprint.route("/<name>/edit", methods=["GET", "POST"])
def edit(name: str):
    repo = service.get_repository(name)
    page = {"repo": repo}
    if request.method == "GET":
        return render_template("repository_edit.html", **page, form={"display_name": repo.display_name,
                               "url": repo.url, "ref": repo.ref or "", "allowed_signers": repo.allowed_signers or "",
                               "review": repo.review, "refresh_interval": repo.refresh_interval or "off"}, error=None)
    try:
        service.update_repository(repo, _edit_form(request.form), settings())
    except InputError as exc:
        return render_template("repository_edit.html", **page, form=shown_again(request.form),
                               error=exc), _page_status(exc)
    flash(f"Saved {repo.display_name}.")
    return redirect(url_for("repositories.index"))


@blueprint.post("/<name>/refresh")
def refresh(name: str):
    repo = service.get_repository(name)
    try:
        service.refresh_repository(repo)
    except service.JobConflict as exc:
        flash(f"{repo.display_name} is already being fetched (job {exc.job.id}).")
    return partial_or_redirect("_repository_row.html", url_for("repositories.index"), trigger=STARTED,
                               **_row(service.get_repository(name)))


@blueprint.route("/<name>/delete", methods=["GET", "POST"])
def delete(name: str):
    repo = service.get_repository(name)
    if request.method == "GET":
        users = repository_users(repo)
        in_use = ("Its modules are in use: they stay in these configurations with their settings, but are left out "
                  "of builds until a repository provides them again.") if users["devices"] or users["tags"] else None
        return confirm(f"Remove {repo.display_name}?", f"This deletes the repository `{repo.name}` ({repo.url}) and "
                       "everything fetched from it.", action=url_for("repositories.delete", name=name), danger=True,
                       button="Remove", cancel=url_for("repositories.index"), note=in_use, affected=[
                           ("Devices using its modules", [(d.display_name, url_for(
                               "configs.detail", kinds="devices", name=d.name), d.name) for d in users["devices"]]),
                           ("Tags using its modules", [(t.display_name, url_for(
                               "configs.detail", kinds="tags", name=t.name), t.name) for t in users["tags"]])])
    service.delete_repository(repo, settings())
    # htmx swaps the row for nothing: it disappears.
    return partial_or_redirect(None, url_for("repositories.index"),
                               f"Removed {repo.display_name} and its fetched data.")


@blueprint.post("/thymis-input")
def thymis_input():
    try:
        choose_thymis(request.form.get("repository") or None)
    except InputError as exc:
        flash(exc.first.message)
    return redirect(url_for("repositories.index"))

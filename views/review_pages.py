"""The review page of a repository's candidate commit, with Approve and Reject (plain CSRF-protected forms)."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from errors import InputError, NotFound
from repos import repositories as service
from repos import review
from views.rendering import settings

blueprint = Blueprint("review_pages", __name__, url_prefix="/repositories")


@blueprint.get("/<name>/review")
def show(name: str):
    repo = service.get_repository(name)
    try:
        candidate = review.candidate_json(repo, settings())
    except NotFound:
        candidate = None
    return render_template("repository_review.html", repo=repo, candidate=candidate,
                           decisions=review.decisions_json(repo))


def _decide(name: str, decide, done: str):
    repo = service.get_repository(name)
    try:
        decide(repo, {"commit": request.form.get("commit", "")}, g.auth)
    except InputError as exc:
        flash(exc.first.message)
        return redirect(url_for("review_pages.show", name=name))
    flash(f"{done} {request.form['commit'][:12]} of {repo.display_name}.")
    return redirect(url_for("repositories.index"))


@blueprint.post("/<name>/approve")
def approve(name: str):
    return _decide(name, review.approve, "Approved")


@blueprint.post("/<name>/reject")
def reject(name: str):
    return _decide(name, review.reject, "Rejected")

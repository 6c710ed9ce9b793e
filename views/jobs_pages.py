"""A job's page, and its progress bar: the one partial that pages with long work poll."""
from flask import Blueprint, abort, redirect, render_template, request, url_for
from htmx_flask import make_response

from jobs import NotCancellable, cancel_job
from models import Job

blueprint = Blueprint("jobs", __name__, url_prefix="/jobs")
ENDED = "job-ended"  # the event the progress bar fires when its job ends (a repository row then reloads itself)


@blueprint.get("/<int:job_id>")
def show(job_id: int):
    job = Job.get_or_none(Job.id == job_id)
    if job is None:
        return render_template("error.html", status=404, title="Not found", message=f"no job with id {job_id}"), 404
    return render_template("job.html", repo=job.repository, job=job)


@blueprint.get("/<int:job_id>/progress")
def progress(job_id: int):
    """The progress bar alone (_job_progress.html polls it every second); 286 stops htmx's polling once the job
    ended."""
    job = Job.get_or_none(Job.id == job_id)
    if job is None:
        abort(404, description=f"no job with id {job_id}")
    if job.active:
        return render_template("_job_progress.html", job=job)
    return make_response(render_template("_job_progress.html", job=job), 286, trigger=ENDED)


@blueprint.post("/<int:job_id>/cancel")
def cancel(job_id: int):
    """The Cancel button of a queued or running job: back to where it was pressed (htmx: the progress bar)."""
    job = Job.get_or_none(Job.id == job_id)
    if job is None:
        abort(404, description=f"no job with id {job_id}")
    try:
        job = cancel_job(job)
    except NotCancellable as exc:
        return render_template("error.html", status=409, title="Not cancelled", message=str(exc)), 409
    if request.headers.get("HX-Request"):
        return make_response(render_template("_job_progress.html", job=job), 286, trigger=ENDED)
    return redirect(url_for("jobs.show", job_id=job.id), 303)

"""A job's page, and its progress bar: the one partial that pages with long work poll."""
from flask import Blueprint, abort, render_template
from htmx_flask import make_response

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

"""The jobs pages: the list (filters, pages), one job with its log, retry, the progress bar and the top bar's
indicator of running jobs."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from htmx_flask import make_response

from errors import InputError
from jobs import JobConflict, NotCancellable, cancel_job
from jobs.listing import JobQuery, known_kinds, list_jobs, parse_query, running
from jobs.retry import retry as retry_job
from models import Job, JobState
from views.cached import page, reuse

blueprint = Blueprint("jobs", __name__, url_prefix="/jobs")
ENDED = "job-ended"  # the event the progress bar fires when its job ends (a repository row then reloads itself)
STARTED = "job-started"  # the event after which the top bar's indicator reloads (it does not poll when idle)


@blueprint.app_template_global("jobs_indicator")
def jobs_indicator() -> dict:
    """Shown on every page: reused until the data changes (views/cached.py)."""
    count, latest = reuse(("jobs-indicator",), running, size=lambda _: 1)
    return {"count": count, "latest": latest}


@blueprint.get("")
def index():
    try:
        query = parse_query(request.args)
    except InputError as exc:
        flash(exc.first.message)
        query = JobQuery()

    def context() -> dict:
        rows, more = list_jobs(query)
        return {"rows": rows, "more": more, "query": query, "kinds": known_kinds(),
                "states": [s.value for s in JobState]}
    return page("Jobs", "jobs.html", context)


@blueprint.get("/indicator")
def indicator():
    return render_template("_jobs_indicator.html", indicator=jobs_indicator())


@blueprint.get("/<int:job_id>")
def show(job_id: int):
    job = Job.get_or_none(Job.id == job_id)
    if job is None:
        return render_template("error.html", status=404, title="Not found", message=f"no job with id {job_id}"), 404
    return render_template("job.html", repo=job.repository, job=job)


@blueprint.get("/<int:job_id>/live")
def live(job_id: int):
    """The job page's state and log (_job_live.html polls it every 2 s while the job runs); 286 once it ended: htmx
    swaps that last answer in and stops polling."""
    job = Job.get_or_none(Job.id == job_id)
    if job is None:
        abort(404, description=f"no job with id {job_id}")
    return make_response(render_template("_job_live.html", job=job), 200 if job.active else 286)


@blueprint.post("/<int:job_id>/retry")
def retry(job_id: int):
    job = Job.get_or_none(Job.id == job_id)
    if job is None:
        abort(404, description=f"no job with id {job_id}")
    try:
        started = retry_job(job)
    except JobConflict as exc:
        flash(f"A {exc.job.kind} job is already {exc.job.state} (job {exc.job.id}).")
        return redirect(url_for("jobs.show", job_id=exc.job.id))
    except InputError as exc:
        flash(exc.first.message)
        return redirect(url_for("jobs.show", job_id=job.id))
    flash(f"Retrying job {job.id} as job {started.id}.")
    return redirect(url_for("jobs.show", job_id=started.id))


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

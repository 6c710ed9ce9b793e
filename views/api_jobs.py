"""Jobs over JSON: one job, the list (filtered, paginated with a Link header), retry."""
from flask import Blueprint, jsonify, request, url_for

from auth import json_error
from jobs import NotCancellable, cancel_job
from jobs.listing import list_jobs, parse_query
from jobs.retry import retry
from jobs.serialize import job_json
from models import Job, isoformat
from views.cached import reused_response

blueprint = Blueprint("api_jobs", __name__, url_prefix="/api")


def job_summary(job: Job) -> dict:
    """A job as in the list: job_json's fields without the log and the children (no query per job)."""
    return {"id": job.id, "kind": job.kind, "subject": job.subject, "state": job.state,
            "progress": {"phase": job.phase, "done": job.done, "total": job.total}, "error": job.error,
            "parent_id": job.parent_id, **_times(job)}


def _times(job: Job) -> dict:
    return {"created_at": isoformat(job.created_at), "started_at": isoformat(job.started_at),
            "finished_at": isoformat(job.finished_at)}


@blueprint.get("/jobs")
@reused_response
def jobs():
    query = parse_query(request.args)
    rows, more = list_jobs(query)
    response = jsonify([job_summary(job) for job in rows])
    if more:
        link = url_for("api_jobs.jobs", **query.filters(), page=query.page + 1, per_page=query.per_page)
        response.headers["Link"] = f'<{link}>; rel="next"'
    return response


@blueprint.get("/jobs/<int:job_id>")
def get_job(job_id: int):
    job = Job.get_or_none(Job.id == job_id)
    if job is None:
        return json_error(404, "not_found", f"no job with id {job_id}")
    return jsonify(job_json(job))


@blueprint.post("/jobs/<int:job_id>/cancel")
def cancel(job_id: int):
    job = Job.get_or_none(Job.id == job_id)
    if job is None:
        return json_error(404, "not_found", f"no job with id {job_id}")
    try:
        return jsonify(job_json(cancel_job(job)))
    except NotCancellable as exc:
        return json_error(409, "conflict", str(exc))


@blueprint.post("/jobs/<int:job_id>/retry")
def retry_job(job_id: int):
    job = Job.get_or_none(Job.id == job_id)
    if job is None:
        return json_error(404, "not_found", f"no job with id {job_id}")
    started = retry(job)
    response = jsonify({"job_id": started.id})
    response.headers["Location"] = url_for("api_jobs.get_job", job_id=started.id)
    return response, 202

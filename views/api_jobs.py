from flask import Blueprint, jsonify

from auth import json_error
from jobs import NotCancellable, cancel_job
from jobs.serialize import job_json
from models import Job

blueprint = Blueprint("api_jobs", __name__, url_prefix="/api")


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

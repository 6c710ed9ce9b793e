from flask import Blueprint, render_template

from models import Job

blueprint = Blueprint("jobs", __name__, url_prefix="/jobs")


@blueprint.get("/<int:job_id>")
def show(job_id: int):
    job = Job.get_or_none(Job.id == job_id)
    if job is None:
        return render_template("error.html", status=404, title="Not found", message=f"no job with id {job_id}"), 404
    return render_template("job.html", repo=job.repository, job=job)

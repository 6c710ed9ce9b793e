from models import isoformat


def job_json(job) -> dict:
    return {
        "id": job.id,
        "kind": job.kind,
        "subject": job.subject,
        "state": job.state,
        "progress": {"phase": job.phase, "done": job.done, "total": job.total},
        "error": job.error,
        "log": job.log,
        "created_at": isoformat(job.created_at),
        "started_at": isoformat(job.started_at),
        "finished_at": isoformat(job.finished_at),
    }

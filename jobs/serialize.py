from models import isoformat


def job_json(job) -> dict:
    return {
        "id": job.id,
        "kind": job.kind,
        "subject": job.subject,
        "state": job.state,
        "progress": {"phase": job.phase, "done": job.done, "total": job.total},
        "error": job.error,
        "parent_id": job.parent_id,
        "children": [{"id": c.id, "subject": c.subject, "state": c.state}
                     for c in job.children.order_by(job.__class__.id)],
        "log": job.log,
        "created_at": isoformat(job.created_at),
        "started_at": isoformat(job.started_at),
        "finished_at": isoformat(job.finished_at),
    }

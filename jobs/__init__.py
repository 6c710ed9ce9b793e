from jobs.queue import JobConflict, active_job_for, claim, enqueue, reap_orphans  # noqa: F401
from jobs.registry import DuplicateJobKind, JobKinds, UnknownJobKind  # noqa: F401
from jobs.runner import JobFailed, JobRunner, run_job  # noqa: F401

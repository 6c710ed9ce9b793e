from jobs.context import JobCancelled  # noqa: F401
from jobs.ending import NotCancellable, cancel_job, cancel_jobs_of, reap_orphans  # noqa: F401
from jobs.queue import JobConflict, active_job_for, claim, enqueue  # noqa: F401
from jobs.registry import DuplicateJobKind, JobKinds, UnknownJobKind  # noqa: F401
from jobs.runner import JobFailed, JobRunner, run_job  # noqa: F401

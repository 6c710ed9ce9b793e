"""The values the state and kind columns hold, as StrEnum constants (each member is the stored string)."""
from __future__ import annotations

from enum import StrEnum

__all__ = ["ACTIVE_JOB_STATES", "AccessKind", "DeploymentKind", "DeploymentState", "HostKeySource", "JobState",
           "RepositoryStatus", "SecretKind", "StepState"]


class RepositoryStatus(StrEnum):
    """Repository.status: where the latest fetch and validation of the repository is."""
    PENDING = "pending"          # added or refreshed, its fetch job is queued
    FETCHING = "fetching"
    VALIDATING = "validating"
    READY = "ready"              # the latest fetched commit passed and is active
    FAILED = "failed"            # the latest attempt failed; an earlier active commit stays in use
    AWAITING_REVIEW = "awaiting_review"  # review: required; the fetched commit passed and waits for approval


class StepState(StrEnum):
    """The state of one step in Repository.steps and CommitValidation.steps."""
    PENDING = "pending"
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"          # did not run: a step it needs failed, or nothing it needs is there
    WARNING = "warning"          # ran and found something to fix that does not stop the commit


class JobState(StrEnum):
    """Job.state."""
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"      # by an operator, or because its repository or device was deleted


ACTIVE_JOB_STATES = (JobState.QUEUED, JobState.RUNNING)


class DeploymentKind(StrEnum):
    """Deployment.kind."""
    BUILD = "build"
    DEPLOY = "deploy"
    ROLLBACK = "rollback"


class DeploymentState(StrEnum):
    """Deployment.state."""
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ROLLED_BACK = "rolled-back"  # the switch failed and the device went back to its previous generation


class AccessKind(StrEnum):
    """RepositoryAccess.kind: how the controller authenticates to a repository's remote."""
    NONE = "none"
    HTTPS_TOKEN = "https-token"
    DEPLOY_KEY = "ssh-deploy-key"
    HOST_KEY = "host-ssh-key"


class HostKeySource(StrEnum):
    """KnownHost.source: how a trusted SSH host key was recorded."""
    FIRST_USE = "first use"
    OPERATOR = "operator"


class SecretKind(StrEnum):
    """Secret.kind: Thymis's secret types (thymis_controller.db_models.SecretTypes has the same values)."""
    SINGLE_LINE = "single_line"  # one line of text (a password, a token)
    MULTI_LINE = "multi_line"    # text of several lines (a key, a certificate)
    ENV_LIST = "env_list"        # NAME=value lines (an environment file)
    FILE = "file"                # any bytes

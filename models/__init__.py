"""The database: tables (entities), the values of their state and kind columns (states), opening and migrating."""
from models.db import database, isoformat, open_database, utcnow  # noqa: F401
from models.entities import (  # noqa: F401
    ApiToken,
    AuditEvent,
    CommitValidation,
    ControllerSetting,
    Deployment,
    Device,
    DeviceTag,
    Job,
    KnownHost,
    Repository,
    RepositoryAccess,
    RepositoryFollower,
    ReviewDecision,
    Secret,
    Tag,
)
from models.states import (  # noqa: F401
    ACTIVE_JOB_STATES,
    AccessKind,
    DeploymentKind,
    DeploymentState,
    HostKeySource,
    JobState,
    RepositoryStatus,
    SecretKind,
    StepState,
)

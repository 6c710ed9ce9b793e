"""The controller's tables."""
from __future__ import annotations

from peewee import (
    AutoField,
    BooleanField,
    CharField,
    DateTimeField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    TextField,
)
from playhouse.sqlite_ext import AutoIncrementField

from models.db import BaseModel, JSONField, utcnow
from models.states import AccessKind, DeploymentState, JobState, RepositoryStatus


class ControllerSetting(BaseModel):
    key = CharField(primary_key=True)
    value = TextField()


class ApiToken(BaseModel):
    id = AutoField()
    name = CharField(unique=True)
    token_hash = CharField(unique=True)
    created_at = DateTimeField(default=utcnow)
    last_used_at = DateTimeField(null=True)


class Repository(BaseModel):
    id = AutoIncrementField()  # never reused: a job bound to a deleted row can never touch a new one
    name = CharField(unique=True)            # the flake input name
    display_name = CharField()
    url = TextField()                        # never with credentials
    ref = CharField(null=True)               # None: the remote's HEAD branch
    status = CharField(default=RepositoryStatus.PENDING)  # a RepositoryStatus
    fetched_commit = CharField(null=True)
    active_commit = CharField(null=True)
    last_checked_at = DateTimeField(null=True)
    last_error = TextField(null=True)
    steps = JSONField(default=list)          # the latest attempt: [{step, state: a StepState, detail}], fetch first
    allowed_signers = TextField(null=True)   # git's allowedSignersFile text; None: signatures not checked
    review = CharField(default="auto")       # "auto": a passing commit becomes active; "required": it awaits review
    candidate_commit = CharField(null=True)  # review: required: the passing commit awaiting approval
    webhook_secret = TextField(null=True)    # Fernet token (repos/vault.py) of the forge webhook's secret; write-only
    refresh_interval = IntegerField(null=True)  # minutes between scheduled refreshes; None: off
    refresh_due_at = DateTimeField(null=True)   # when the scheduler (repos/updates.py) refreshes it next
    created_at = DateTimeField(default=utcnow)


class Job(BaseModel):
    id = AutoIncrementField()  # never reused: a job bound to a deleted row can never touch a new one
    kind = CharField()
    repository = ForeignKeyField(Repository, null=True, on_delete="SET NULL", backref="jobs")
    subject = CharField(null=True)           # what the job is about, kept when the repository is gone
    payload = JSONField(null=True)
    state = CharField(default=JobState.QUEUED)  # a JobState
    phase = CharField(default="queued")
    done = IntegerField(default=0)
    total = IntegerField(default=0)
    log = TextField(default="")
    error = TextField(null=True)
    worker = CharField(null=True)            # "<host>:<pid>" of the process running it
    parent = ForeignKeyField("self", null=True, on_delete="SET NULL", backref="children")
    created_at = DateTimeField(default=utcnow)
    started_at = DateTimeField(null=True)
    finished_at = DateTimeField(null=True)
    heartbeat_at = DateTimeField(null=True)

    @property
    def active(self) -> bool:
        return self.state in (JobState.QUEUED, JobState.RUNNING)


class CommitValidation(BaseModel):
    """Validation results cached by (repository, commit): an unchanged commit is never validated twice."""
    id = AutoField()
    repository = ForeignKeyField(Repository, on_delete="CASCADE", backref="validations")
    commit = CharField()
    ok = BooleanField()
    steps = JSONField()                      # [{step, state: a StepState, detail}], in pipeline.steps.STEPS order
    modules = JSONField()                    # module descriptions from the sandbox
    packages = JSONField()                   # top-level Python package names
    flake = JSONField(null=True)             # {description, inputs, has_thymis_input}
    signers = CharField(null=True)           # digest of the allowed signers it was checked with (signature.py)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("repository", "commit"), True),)


ALL_MODELS = [ControllerSetting, ApiToken, Repository, Job, CommitValidation]


class Tag(BaseModel):
    id = AutoIncrementField()  # never reused: a job bound to a deleted row can never touch a new one
    name = CharField(unique=True)
    display_name = CharField()
    priority = IntegerField(default=90)      # lower wins, as in Thymis; device settings use 80
    modules = JSONField(default=list)        # [{type, settings}]
    created_at = DateTimeField(default=utcnow)


class Device(BaseModel):
    id = AutoIncrementField()  # never reused: a job bound to a deleted row can never touch a new one
    name = CharField(unique=True)            # the nixosConfigurations attribute name
    display_name = CharField()
    target = CharField(default="")           # read by deploy.targets.parse_target; "": not set, cannot deploy
    modules = JSONField(default=list)        # [{type, settings}]
    created_at = DateTimeField(default=utcnow)


class DeviceTag(BaseModel):
    device = ForeignKeyField(Device, on_delete="CASCADE", backref="tag_links")
    tag = ForeignKeyField(Tag, on_delete="CASCADE", backref="device_links")
    position = IntegerField(default=0)

    class Meta:
        indexes = ((("device", "tag"), True),)


CONFIG_MODELS = [Tag, Device, DeviceTag]


class Deployment(BaseModel):
    """One build, deploy or rollback of a device: what was built from which project revision, and how it went."""
    id = AutoIncrementField()  # never reused: a job bound to a deleted row can never touch a new one
    device = ForeignKeyField(Device, null=True, on_delete="SET NULL", backref="deployments")
    device_name = CharField()
    kind = CharField()                       # a DeploymentKind
    job = ForeignKeyField(Job, null=True, on_delete="SET NULL")
    project_commit = CharField(null=True)
    store_path = CharField(null=True)
    state = CharField(default=DeploymentState.RUNNING)  # a DeploymentState
    error = TextField(null=True)
    started_at = DateTimeField(default=utcnow)
    finished_at = DateTimeField(null=True)
    duration = FloatField(null=True)


DEPLOY_MODELS = [Deployment]


class RepositoryAccess(BaseModel):
    """How the controller authenticates to a repository's remote; secrets are Fernet tokens (repos/vault.py)."""
    repository = ForeignKeyField(Repository, primary_key=True, on_delete="CASCADE", backref="access_rows")
    kind = CharField(default=AccessKind.NONE)  # an AccessKind
    username = CharField(null=True)          # https-token: the HTTP user name (not a secret)
    token = TextField(null=True)             # https-token: the token or password, encrypted
    deploy_private_key = TextField(null=True)  # OpenSSH private key, encrypted; kept when the kind changes
    deploy_public_key = TextField(null=True)   # "ssh-ed25519 AAAA... comment"
    updated_at = DateTimeField(default=utcnow)


class KnownHost(BaseModel):
    """An SSH host key the controller trusts: recorded on first use or pasted by an operator."""
    id = AutoField()
    host = CharField()                       # lower-case host name or IP, as in the repository URL
    port = IntegerField(default=22)
    key_type = CharField()                   # "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", ...
    key = TextField()                        # base64 of the public key blob
    fingerprint = CharField()                # "SHA256:..." as ssh prints it
    source = CharField()                     # a HostKeySource
    recorded_by = CharField(null=True)       # the repository whose fetch recorded it
    recorded_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("host", "port", "key_type"), True),)


ACCESS_MODELS = [RepositoryAccess, KnownHost]


class Secret(BaseModel):
    """A value modules use on devices (a password, a token, an environment file, a certificate): write-only,
    stored as a Fernet token (repos/vault.py), delivered to devices at deploy (secret_store/delivery.py)."""
    id = AutoField()
    name = CharField(unique=True)            # also the file name under the device's secrets folder
    kind = CharField()                       # a SecretKind
    value = TextField()                      # Fernet token of the value's bytes; never returned or logged
    size = IntegerField(default=0)           # bytes of the value
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)        # any change
    value_updated_at = DateTimeField(default=utcnow)  # the value was last replaced


SECRET_MODELS = [Secret]


class ReviewDecision(BaseModel):
    """An approval or rejection of a repository's candidate commit: who, when, which commit."""
    id = AutoField()
    repository = ForeignKeyField(Repository, on_delete="CASCADE", backref="decisions")
    commit = CharField()
    decision = CharField()                   # "approved" or "rejected"
    decided_by = CharField()                 # "session" or "token:<name>" (auth.guard's g.auth)
    decided_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("repository", "commit"), False),)


REVIEW_MODELS = [ReviewDecision]


class AuditEvent(BaseModel):
    """One entry of the audit log (audit.record): what happened to what, who did it, and plain details."""
    id = AutoIncrementField()                # never reused: entries are only ever added
    at = DateTimeField(default=utcnow)
    kind = CharField()                       # one of audit.KINDS
    subject = CharField()                    # a repository's input name or a device name
    actor = CharField()                      # "session", "token:<name>", "cli" or "controller"
    detail = JSONField(default=dict)         # flat {key: str | int | float | bool | None}, never a secret

    class Meta:
        indexes = ((("kind", "id"), False), (("subject", "id"), False))


AUDIT_MODELS = [AuditEvent]


class RepositoryFollower(BaseModel):
    """A device or tag that follows a repository: built again (or deployed, with ``deploy``) when a new commit
    of it becomes active (repos/followers.py)."""
    id = AutoField()
    repository = ForeignKeyField(Repository, on_delete="CASCADE", backref="followers")
    device = ForeignKeyField(Device, null=True, on_delete="CASCADE")
    tag = ForeignKeyField(Tag, null=True, on_delete="CASCADE")
    deploy = BooleanField(default=False)     # "deploy automatically"; else build only

    class Meta:
        indexes = ((("repository", "device", "tag"), True),)


FOLLOWER_MODELS = [RepositoryFollower]

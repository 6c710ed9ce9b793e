from models.db import database, open_database, utcnow, isoformat  # noqa: F401
from models.entities import (ApiToken, CommitValidation, ControllerSetting, Deployment, Device,  # noqa: F401
                             DeviceTag, Job, KnownHost, Repository, RepositoryAccess, Tag)

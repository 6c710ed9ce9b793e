from models.db import database, open_database, utcnow, isoformat  # noqa: F401
from models.entities import (ApiToken, CommitValidation, ControllerSetting, Device, DeviceTag, Job,  # noqa: F401
                             KnownHost, Repository, RepositoryAccess, Tag)

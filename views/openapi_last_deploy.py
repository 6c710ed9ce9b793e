"""The OpenAPI part of a device's last deploy in the device objects (merged into Device and DeviceDetail by
``extend``)."""
from models.states import DeploymentKind, DeploymentState
from views.openapi_schemas import NULLABLE_INTEGER, NULLABLE_TIME, TIME, closed

LAST_DEPLOY = {"oneOf": [{"type": "null", "description": "never deployed or rolled back"}, closed({
    "kind": {"enum": [DeploymentKind.DEPLOY, DeploymentKind.ROLLBACK]},
    "state": {"enum": list(DeploymentState)},
    "started_at": TIME, "finished_at": {**NULLABLE_TIME, "description": "null while it runs"},
    "job_id": {**NULLABLE_INTEGER, "description": "its job (GET /api/jobs/{id} has the log); null once removed"},
}, description="the device's latest deploy or rollback, as the devices page shows it (builds do not count)")]}


def extend(document: dict) -> None:
    schemas = document["components"]["schemas"]
    for name in ("Device", "DeviceDetail"):
        schemas[name] = {**schemas[name], "properties": {**schemas[name]["properties"], "last_deploy": LAST_DEPLOY},
                         "required": [*schemas[name]["required"], "last_deploy"]}

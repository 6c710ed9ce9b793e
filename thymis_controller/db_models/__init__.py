"""``thymis_controller.db_models``: the enumerations that module settings name (as in Thymis).

Thymis keeps its database tables here; modules only use the enumerations, e.g.
``SecretType(allowed_types=[db_models.SecretTypes.SINGLE_LINE], ...)``. There are no tables here: module
code never reaches the controller's database.
"""

from thymis_controller.db_models.secrets import SecretProcessingTypes, SecretTypes

__all__ = ["SecretProcessingTypes", "SecretTypes"]

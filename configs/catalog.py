"""Every module an operator can use: the built-in ones and those of each repository's active commit."""
from __future__ import annotations

from functools import lru_cache

from models import Repository
from pipeline.commit_validation import active_validations

BUILTIN = "built-in"


@lru_cache(maxsize=1)
def builtin_descriptions() -> tuple[dict, ...]:
    # Built-in modules are this project's own code, so describing them in the web process is safe.
    from thymis_controller.modules.builtin_modules import builtin_module_descriptions
    return tuple(builtin_module_descriptions())


def available_modules() -> dict[str, dict]:
    """type -> description with `source` (built-in or repository input name) and `source_name`."""
    catalog = {m["type"]: {**m, "source": BUILTIN, "source_name": "Built-in"} for m in builtin_descriptions()}
    for validation in active_validations().order_by(Repository.display_name):
        repo = validation.repository
        for module in validation.modules or []:
            catalog.setdefault(module["type"], {**module, "source": repo.name, "source_name": repo.display_name})
    return catalog


def grouped(catalog: dict[str, dict]) -> list[tuple[str, list[dict]]]:
    """Modules grouped by source for pickers: built-in first, then repositories by name."""
    groups: dict[str, list[dict]] = {}
    for module in catalog.values():
        groups.setdefault(module["source_name"], []).append(module)
    order = sorted(groups, key=lambda name: (name != "Built-in", name.lower()))
    return [(name, sorted(groups[name], key=lambda m: m["display_name"].lower())) for name in order]

"""Every module an operator can use: the built-in ones and those of each repository's active commit.

The catalogue is built once per *catalogue generation*: a counter in the database that triggers bump whenever
an active commit, a repository's name or display name, or a stored validation changes, or a repository is
removed (models/migrations.py). Each process keeps what it built for the generation it read, so every gunicorn
worker sees a change on its next request at the cost of one small query.
"""
from __future__ import annotations

import threading
from functools import lru_cache

from models import Repository, database
from pipeline.commit_validation import active_validations

BUILTIN = "built-in"

_cache: dict[tuple[str, str], tuple[int, object]] = {}  # (database file, what) -> (generation, value)
_lock = threading.Lock()


@lru_cache(maxsize=1)
def builtin_descriptions() -> tuple[dict, ...]:
    # Built-in modules are this project's own code, so describing them in the web process is safe.
    from thymis_controller.modules.builtin_modules import builtin_module_descriptions
    return tuple(builtin_module_descriptions())


def catalog_generation() -> int:
    row = database.execute_sql("SELECT value FROM catalog_generation WHERE id = 1").fetchone()
    return row[0] if row else 0


def cached_per_generation(what: str, build):
    """``build()``, reused until the catalogue generation changes. The generation is read before building:
    a change while building leaves a newer value under an older generation, rebuilt on the next call."""
    key = (database.obj.database, what)
    generation = catalog_generation()
    hit = _cache.get(key)
    if hit is not None and hit[0] == generation:
        return hit[1]
    value = build()
    with _lock:
        _cache[key] = (generation, value)
    return value


def _build_catalog() -> dict[str, dict]:
    catalog = {m["type"]: {**m, "source": BUILTIN, "source_name": "Built-in"} for m in builtin_descriptions()}
    for validation in active_validations().order_by(Repository.display_name):
        repo = validation.repository
        for module in validation.modules or []:
            catalog.setdefault(module["type"], {**module, "source": repo.name, "source_name": repo.display_name})
    return catalog


def available_modules() -> dict[str, dict]:
    """type -> description with `source` (built-in or repository input name) and `source_name`.

    A new dict each call (callers may add to it); the descriptions in it are shared: do not change them."""
    return dict(cached_per_generation("catalog", _build_catalog))


def grouped(catalog: dict[str, dict]) -> list[tuple[str, list[dict]]]:
    """Modules grouped by source for pickers: built-in first, then repositories by name."""
    groups: dict[str, list[dict]] = {}
    for module in catalog.values():
        groups.setdefault(module["source_name"], []).append(module)
    order = sorted(groups, key=lambda name: (name != "Built-in", name.lower()))
    return [(name, sorted(groups[name], key=lambda m: m["display_name"].lower())) for name in order]


def grouped_modules() -> list[tuple[str, list[dict]]]:
    """``grouped(available_modules())``, cached per generation like the catalogue."""
    return cached_per_generation("grouped", lambda: grouped(available_modules()))

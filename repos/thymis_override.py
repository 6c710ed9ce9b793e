"""Which repository overrides the project's `thymis` input: the candidates and the operator's choice.

A repository is a candidate when its active commit's flake declares a `thymis` input or it is named `thymis`.
The choice is stored in the controller settings; deploy/render.py turns it into the flake's `thymis` line.
"""
from __future__ import annotations

from configs.catalog import cached_per_generation
from errors import FieldError, InputError
from models import ControllerSetting
from pipeline.commit_validation import active_validations

__all__ = ["THYMIS_CHOICE_KEY", "choose_thymis", "thymis_candidates", "thymis_choice", "thymis_conflict"]

THYMIS_CHOICE_KEY = "thymis_input"


def thymis_choice() -> str | None:
    """The repository the operator picked to provide `thymis`, or None."""
    row = ControllerSetting.get_or_none(ControllerSetting.key == THYMIS_CHOICE_KEY)
    return row.value if row else None


def thymis_candidates() -> list[str]:
    """Repositories whose active commit's flake declares a `thymis` input, or that are named `thymis`."""
    return list(cached_per_generation("thymis_candidates", _candidates))


def _candidates() -> list[str]:
    names = []
    for row in active_validations():
        if (row.flake or {}).get("has_thymis_input") or row.repository.name == "thymis":
            names.append(row.repository.name)
    return names


def thymis_conflict() -> list[str] | None:
    """The candidates when more than one would override `thymis` and the operator has not picked one of them."""
    candidates = thymis_candidates()
    if len(candidates) > 1 and thymis_choice() not in candidates:
        return candidates
    return None


def choose_thymis(name: str | None) -> None:
    """Store the operator's pick (None clears it); only a current candidate can be picked."""
    if name is None:
        ControllerSetting.delete().where(ControllerSetting.key == THYMIS_CHOICE_KEY).execute()
        return
    if name not in thymis_candidates():
        raise InputError([FieldError("repository",
                                     f"'{name}' is not a repository whose flake provides a thymis input")])
    ControllerSetting.insert(key=THYMIS_CHOICE_KEY, value=name).on_conflict_replace().execute()

"""The module catalogue is cached per catalogue generation: a new active commit or a removed repository is seen
at once, by the app that made the change and by every other worker process of the same controller."""
from __future__ import annotations

import json
import urllib.request

from models import CommitValidation, Repository, database, open_database
from tests.support.fleet import SETTINGS, module_type, seed_fleet


def _activate_new_commit(name: str, new_type: str) -> None:
    """What the pipeline does when a commit passes: store its validation, then make it active."""
    repo = Repository.get(Repository.name == name)
    commit = "f" * 40
    CommitValidation.create(repository=repo, commit=commit, ok=True, steps=[], packages=[name], flake=None,
                            modules=[{"type": new_type, "display_name": "New module", "description": "",
                                      "category": "", "icon": None, "settings": SETTINGS}])
    Repository.update(active_commit=commit, fetched_commit=commit).where(Repository.id == repo.id).execute()


def _types(body) -> set[str]:
    return {m["type"] for m in body}


def test_new_active_commit_and_removed_repository_reach_the_catalogue(app, api):
    with database.connection_context():
        seed_fleet(3, modules_per_repo=2)
    assert module_type(1, 0) in _types(api.get("/api/modules").get_json())
    with database.connection_context():
        _activate_new_commit("fleet1", "fleet1.new.Module")
    types = _types(api.get("/api/modules").get_json())
    assert "fleet1.new.Module" in types and module_type(1, 0) not in types
    assert api.delete("/api/repositories/fleet2").status_code == 204
    types = _types(api.get("/api/modules").get_json())
    assert module_type(2, 0) not in types and module_type(0, 0) in types


def _get_types(base: str, token: str) -> set[str]:
    request = urllib.request.Request(base + "/api/modules", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:  # a new connection: either worker answers
        return _types(json.load(response))


def test_every_worker_sees_a_change_made_elsewhere(controller, tmp_path):
    base, _password = controller
    open_database(tmp_path / "data" / "controller.sqlite3")
    from auth.tokens import create_token
    with database.connection_context():
        token = create_token("catalog")
        seed_fleet(3, modules_per_repo=2)
    rounds = 20  # with two workers, each answers some of them (all 20 by one worker: odds of 2 in a million)
    assert all(module_type(1, 0) in _get_types(base, token) for _ in range(rounds))  # both caches warm
    with database.connection_context():
        _activate_new_commit("fleet1", "fleet1.new.Module")
    seen = [_get_types(base, token) for _ in range(rounds)]
    assert all("fleet1.new.Module" in t and module_type(1, 0) not in t for t in seen)
    with database.connection_context():
        Repository.delete().where(Repository.name == "fleet2").execute()
    seen = [_get_types(base, token) for _ in range(rounds)]
    assert all(module_type(2, 0) not in t and module_type(0, 0) in t for t in seen)

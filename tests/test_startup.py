"""Start-up does only what it must: no password hashing once a hash is stored, and operator commands
(``flask --app app tokens ...``) load no page or API view (so they start about as fast as ``flask --version``)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import auth.passwords

ROOT = Path(__file__).resolve().parents[1]


def test_no_password_hashing_when_a_hash_is_stored(app_factory, monkeypatch, announced):
    hashed = []
    real = auth.passwords.generate_password_hash

    def counting(password, *args, **kwargs):  # the real hash, counted
        hashed.append(password)
        return real(password, *args, **kwargs)

    monkeypatch.setattr(auth.passwords, "generate_password_hash", counting)
    app_factory()
    assert len(hashed) == 1 and len(announced) == 1  # the first start creates the password
    app_factory()
    app_factory()
    assert len(hashed) == 1 and len(announced) == 1  # later starts (each worker, each command) hash nothing


PROBE = """
import json, sys
sys.argv = ["flask", "--app", "app", *sys.argv[1:]]
from app import create_app
app = create_app()
print(json.dumps({"rules": sorted(r.rule for r in app.url_map.iter_rules()), "commands": sorted(app.cli.commands),
                  "views_loaded": "views.api_deploy" in sys.modules,
                  "transport_loaded": "repos.transport" in sys.modules}))
"""


def _probe(tmp_path, *command: str) -> dict:
    env = {**os.environ, "THYMIS_PROJECT_PATH": str(tmp_path / "data"), "FLASK_RUN_FROM_CLI": "true"}
    done = subprocess.run([sys.executable, "-c", PROBE, *command], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_operator_commands_load_no_views_and_other_commands_get_the_whole_app(tmp_path):
    tokens = _probe(tmp_path, "tokens", "create", "ci")
    assert tokens["rules"] == ["/static/<path:filename>"] and not tokens["views_loaded"]
    assert not tokens["transport_loaded"]  # no fetch machinery for a token
    assert {"repos", "tokens", "admin"} <= set(tokens["commands"])
    server_like = _probe(tmp_path, "routes")  # flask routes, run and shell see every view
    assert "/api/repositories" in server_like["rules"] and server_like["views_loaded"]
    created = subprocess.run([str(Path(sys.executable).with_name("flask")), "--app", "app", "tokens", "create", "ci"],
                             cwd=ROOT, env={**os.environ, "THYMIS_PROJECT_PATH": str(tmp_path / "data")},
                             capture_output=True, text=True, timeout=120, check=False)
    assert created.returncode == 0 and created.stdout.strip().startswith("thy_")

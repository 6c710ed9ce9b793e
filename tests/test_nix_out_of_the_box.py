"""Nix works out of the box (issue 15, item 2): the controller started exactly as the README says
(``./scripts/run.sh``), with no NIX_CONFIG of its own, builds a device with the nixpkgs STAND-IN; an offline
fetch during a build is one sentence; /healthz reports the nix version.

Real nix (Debian's, whose nix.conf does not enable flakes), real gunicorn, the nixpkgs and thymis stand-ins.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.nix import needs_nix
from tests.support.processes import Service, http_status

ROOT = Path(__file__).resolve().parents[1]
CORE = "thymis_controller.modules.thymis.ThymisDevice"


def _call(base: str, token: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _wait(base: str, token: str, job_id: int, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, job = _call(base, token, "GET", f"/api/jobs/{job_id}")
        if job["state"] not in ("queued", "running"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish: {job}")


@pytest.fixture
def readme_controller(tmp_path):
    """``./scripts/run.sh`` as the README says, with an environment that has no NIX_CONFIG; yields
    (start(flake_url) -> (base_url, token))."""
    services = []

    def start(flake_url: str):
        data = tmp_path / "data"
        env = {key: value for key, value in os.environ.items() if not key.startswith(("NIX_", "THYMIS_"))}
        env.update({"THYMIS_PROJECT_PATH": str(data), "THYMIS_LISTEN": "127.0.0.1:0", "THYMIS_WORKERS": "1",
                    "THYMIS_FLAKE_URL": flake_url})
        found = {}

        def ready() -> bool:
            found["base"] = next(iter(re.findall(r"Listening at: (http://127\.0\.0\.1:\d+)", service.output())), None)
            return bool(found["base"]) and http_status(found["base"] + "/login") == 200

        service = Service(["bash", "scripts/run.sh"], tmp_path / "run.log", probe=ready, name="scripts/run.sh",
                          cwd=ROOT, env=env)
        services.append(service)
        service.wait_until_ready(120)
        flask = Path(sys.executable).with_name("flask")
        token = subprocess.run([flask, "--app", "app", "tokens", "create", "test"], cwd=ROOT, env=env,
                               capture_output=True, text=True, check=True, timeout=60).stdout.split()[-1]
        return found["base"], token

    yield start
    for service in services:
        service.stop()


@needs_nix
def test_controller_started_by_run_sh_without_nix_config_builds_a_device(readme_controller, standins):
    base, token = readme_controller(standins.thymis_url)
    with urllib.request.urlopen(base + "/healthz", timeout=10) as response:
        health = json.loads(response.read())
    installed = subprocess.run(["nix", "--version"], capture_output=True, text=True, check=True).stdout
    assert health["nix_version"] and health["nix_version"] in installed
    status, created = _call(base, token, "POST", "/api/devices", {
        "name": "pi", "display_name": "Pi", "modules": [{"type": CORE, "settings": {"device_name": "pi"}}]})
    assert status == 201, created
    status, started = _call(base, token, "POST", "/api/devices/pi/build")
    assert status == 202, started
    job = _wait(base, token, started["job_id"])
    assert job["state"] == "succeeded", job["log"]
    assert "experimental Nix feature" not in job["log"]


@needs_nix
def test_an_offline_fetch_during_a_build_is_one_sentence(readme_controller, tmp_path):
    flake = tmp_path / "thymis-online"
    flake.mkdir()
    (flake / "flake.nix").write_text(
        '{ inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";\n'
        '  outputs = { self, nixpkgs }: { nixosModules.thymis-device = { }; }; }\n')
    base, token = readme_controller(f"path:{flake}")
    _call(base, token, "POST", "/api/devices", {
        "name": "pi", "display_name": "Pi", "modules": [{"type": CORE, "settings": {"device_name": "pi"}}]})
    status, started = _call(base, token, "POST", "/api/devices/pi/build")
    assert status == 202, started
    job = _wait(base, token, started["job_id"])
    assert job["state"] == "failed"
    sentence = ("could not fetch github:NixOS/nixpkgs: no network; set THYMIS_FLAKE_URL to a local flake or "
                "configure a substituter")
    assert sentence in job["error"], job
    assert job["log"].count("retrying in") <= 1, job["log"]

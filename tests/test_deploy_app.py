"""Build and deploy devices from the controller: external modules and inputs end up in the built system.

Real nix, real git server; nixpkgs is the STAND-IN of tests/fixtures/nixpkgs-standin (nixpkgs cannot be
downloaded here) and the thymis flake is the test flake of tests/fixtures/thymis-standin.
"""
import os

import pytest

from tests.conftest import wait_for_job
from tests.support import repo_trees as rb
from tests.support.nix import toplevel_config

CORE = "thymis_controller.modules.thymis.ThymisDevice"
CUSTOM = "thymis_controller.modules.custom_nix.CustomNixModule"
GREETER = "demo_modules.modules.Greeter"
OFFLINE_FLAKE = '{ description = "demo"; outputs = { self }: { value = "from the demo flake"; }; }\n'


@pytest.fixture
def app_config(standins, profile, activation_log):
    return {"thymis_flake_url": standins.thymis_url, "system_profile": profile}


@pytest.fixture
def demo(api, git_server, tmp_path):
    """A ready external repository `demo` with the Greeter module and an offline flake."""
    root = rb.valid_repo(tmp_path / "demo-tree")
    (root / "flake.nix").write_text(OFFLINE_FLAKE)
    name = git_server.new_name("deploy-demo")
    git_server.make_repo(name, {str(p.relative_to(root)): p.read_text() for p in root.rglob("*") if p.is_file()})
    created = api.post("/api/repositories", json={"url": git_server.url(name), "display_name": "Demo", "name": "demo"})
    assert wait_for_job(api, created.get_json()["job_id"])["state"] == "succeeded"
    return "demo"


def device(api, name, *, extra_nix="", tags=(), greeting="moin"):
    modules = [{"type": CORE, "settings": {"device_name": name}},
               {"type": GREETER, "settings": {"greeting": greeting}},
               {"type": CUSTOM, "settings": {"nix_code": "thymis.fromInput = inputs.demo.value;\n" + extra_nix}}]
    response = api.post("/api/devices", json={"name": name, "display_name": name, "tags": list(tags),
                                              "target": "local", "modules": modules})
    assert response.status_code == 201, response.get_json()


def run(api, path, body=None):
    response = api.post(path, json=body) if body is not None else api.post(path)
    assert response.status_code == 202, response.get_json()
    return wait_for_job(api, response.get_json()["job_id"], timeout=180)


def test_build_contains_settings_from_pages_and_external_modules(api, demo):
    api.post("/api/tags", json={"name": "lab", "display_name": "Lab",
                                "modules": [{"type": GREETER, "settings": {"greeting": "from tag", "port": 7000}}]})
    device(api, "pi", tags=["lab"])
    job = run(api, "/api/devices/pi/build")
    assert job["state"] == "succeeded", job["log"]
    built = api.get("/api/devices/pi/deployments").get_json()[0]
    assert built["kind"] == "build" and built["state"] == "succeeded" and built["store_path"].startswith("/nix/store/")
    config = toplevel_config(built["store_path"])
    assert config["networking"]["hostName"] == "pi"
    assert config["environment"]["etc"]["greeting"]["text"] == "moin"      # device (80) beats tag (90)
    assert config["demo"]["port"] == 7000                                  # only the tag sets it
    assert config["thymis"]["fromInput"] == "from the demo flake"          # inputs.<input-name> reaches modules
    preview = api.get("/api/devices/pi/preview").get_json()
    assert preview["against"] == built["project_commit"] and preview["diff"] == ""


def test_deploy_switches_and_a_failing_switch_rolls_back(api, demo, profile, activation_log):
    device(api, "pi")
    first = run(api, "/api/devices/pi/deploy")
    assert first["state"] == "succeeded", first["log"]
    good = api.get("/api/devices/pi/deployments").get_json()[0]["store_path"]
    assert os.path.realpath(profile) == good
    assert good in activation_log.read_text()

    api.patch("/api/devices/pi", json={"modules": [
        {"type": CORE, "settings": {"device_name": "pi"}},
        {"type": CUSTOM, "settings": {"nix_code": "thymis.test.failSwitch = true;"}}]})
    failed = run(api, "/api/devices/pi/deploy")
    assert failed["state"] == "failed" and "rolled back" in failed["error"]
    latest = api.get("/api/devices/pi/deployments").get_json()[0]
    assert latest["state"] == "rolled-back"
    assert os.path.realpath(profile) == good

    api.patch("/api/devices/pi", json={"modules": [{"type": CORE, "settings": {"device_name": "pi2"}}]})
    assert run(api, "/api/devices/pi/deploy")["state"] == "succeeded"
    assert os.path.realpath(profile) != good
    back = run(api, "/api/devices/pi/rollback", {"store_path": good})
    assert back["state"] == "succeeded", back["log"]
    assert os.path.realpath(profile) == good
    bad = api.post("/api/devices/pi/rollback", json={"store_path": "/nix/store/not-ours"})
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "store_path"


def test_deploy_tag_with_one_failing_device(api, demo, app, tmp_path):
    api.post("/api/tags", json={"name": "fleet", "display_name": "Fleet"})
    device(api, "good1", tags=["fleet"])
    device(api, "bad", tags=["fleet"], extra_nix="thymis.test.failSwitch = true;\n")
    job = run(api, "/api/tags/fleet/deploy")
    assert job["state"] == "failed"
    assert "1 of 2 devices deployed" in job["error"] and "bad" in job["error"]
    children = {c["subject"]: c["state"] for c in job["children"]}
    assert children == {"good1": "succeeded", "bad": "failed"}


def test_second_job_for_a_device_is_a_conflict_and_unknown_device_404(api, demo):
    device(api, "pi")
    first = api.post("/api/devices/pi/build")
    second = api.post("/api/devices/pi/build")
    assert second.status_code == 409, second.get_json()
    wait_for_job(api, first.get_json()["job_id"], timeout=180)
    assert api.post("/api/devices/nope/build").status_code == 404


def test_thymis_override_from_an_external_flake(api, git_server, thymis_fork, client, app):
    import json
    flake = '{ inputs.thymis.url = "URL"; outputs = { self, thymis }: { }; }\n'.replace("URL", thymis_fork)
    for name in ("forka", "forkb"):
        served = git_server.new_name(name)
        git_server.make_repo(served, {"README.md": rb.MARKER_README, "flake.nix": flake})
        created = api.post("/api/repositories",
                           json={"url": git_server.url(served), "display_name": name, "name": name})
        assert wait_for_job(api, created.get_json()["job_id"])["state"] == "succeeded"
    api.post("/api/devices", json={"name": "pi", "display_name": "Pi",
                                   "modules": [{"type": CORE, "settings": {"device_name": "pi"}}]})
    failed = run(api, "/api/devices/pi/build")
    assert failed["state"] == "failed" and "forka" in failed["error"] and "forkb" in failed["error"]
    assert api.get("/api/thymis-input").get_json() == {"candidates": ["forka", "forkb"], "chosen": None,
                                                       "conflict": True}
    assert "all override" in client.get("/repositories").get_data(as_text=True)
    bad = api.put("/api/thymis-input", json={"repository": "nope"})
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "repository"

    assert api.put("/api/thymis-input", json={"repository": "forka"}).get_json()["conflict"] is False
    built = run(api, "/api/devices/pi/build")
    assert built["state"] == "succeeded", built["log"]
    store_path = api.get("/api/devices/pi/deployments").get_json()[0]["store_path"]
    assert toplevel_config(store_path)["thymis"]["base"] == "thymis-fork"
    lock = json.loads((app.config["THYMIS"].project_dir / "flake.lock").read_text())
    assert lock["nodes"]["root"]["inputs"]["thymis"] == ["forka", "thymis"]


def test_local_activation_through_the_privileged_helper(app_factory, standins, tmp_path):
    """With THYMIS_LOCAL_ACTIVATION_COMMAND (set by the NixOS module) the controller never switches itself."""
    calls = tmp_path / "helper-calls"
    helper = tmp_path / "activate-helper"
    # the secrets come first (deliver-secrets, their stream on stdin: none here), then the switch
    helper.write_text(f'#!/bin/sh\n[ "$1" != deliver-secrets ] || {{ cat >/dev/null; echo "secrets: none"; exit 0; }}\n'
                      f'echo "activating $1"\necho "$1" >> {calls}\n[ -e "$1/config.json" ] || exit 7\n')
    helper.chmod(0o755)
    app = app_factory(thymis_flake_url=standins.thymis_url, local_activation_command=str(helper),
                      system_profile=tmp_path / "untouched" / "system")
    from auth.tokens import create_token
    from models import database
    with database.connection_context():
        token = create_token("helper-test")
    client = app.test_client(use_cookies=False)
    headers = {"Authorization": f"Bearer {token}"}
    client.post("/api/devices", headers=headers, json={"name": "pi", "display_name": "Pi", "target": "local",
                                                       "modules": [{"type": CORE, "settings": {"device_name": "pi"}}]})
    job_id = client.post("/api/devices/pi/deploy", headers=headers).get_json()["job_id"]

    class Api:
        def get(self, path):
            return client.get(path, headers=headers)
    job = wait_for_job(Api(), job_id, timeout=180)
    assert job["state"] == "succeeded", job["log"]
    store_path = client.get("/api/devices/pi/deployments", headers=headers).get_json()[0]["store_path"]
    assert calls.read_text().split() == [store_path]
    assert f"activating {store_path}" in job["log"]
    assert not (tmp_path / "untouched").exists()

    helper.write_text('#!/bin/sh\n[ "$1" != deliver-secrets ] || { cat >/dev/null; exit 0; }\n'
                      "echo 'refused: not a system built by this controller' >&2\nexit 3\n")
    job_id = client.post("/api/devices/pi/deploy", headers=headers).get_json()["job_id"]
    job = wait_for_job(Api(), job_id, timeout=180)
    assert job["state"] == "failed"
    assert job["error"] == "activation failed (exit 3): refused: not a system built by this controller"


def test_build_from_the_device_page_and_preview(api, demo, client):
    device(api, "pi")
    preview = client.get("/devices/pi/preview").get_data(as_text=True)
    assert "never built" in preview and "hosts/pi/" in preview and "networking.hostName" in preview
    started = client.post("/devices/pi/build", data={"csrf_token": client.csrf})
    assert started.status_code == 302
    page = client.get("/devices/pi").get_data(as_text=True)
    assert "Started build" in page
    job_id = int(page.split('id="job-')[1].split('"')[0])
    job = wait_for_job(api, job_id, timeout=180)
    assert job["state"] == "succeeded", job["log"]
    progress = client.get(f"/jobs/{job_id}/progress", headers={"HX-Request": "true"})
    assert progress.status_code == 286 and 'data-state="succeeded"' in progress.get_data(as_text=True)
    page = client.get("/devices/pi").get_data(as_text=True)
    store_path = api.get("/api/devices/pi/deployments").get_json()[0]["store_path"]
    assert store_path in page
    again = client.get("/devices/pi/preview").get_data(as_text=True)
    assert "No changes." in again


def test_tag_deploy_leaves_out_a_device_that_is_busy(api, demo):
    from jobs.queue import worker_id
    from models import Job, database, utcnow
    api.post("/api/tags", json={"name": "fleet", "display_name": "Fleet"})
    device(api, "free", tags=["fleet"])
    device(api, "busy", tags=["fleet"])
    with database.connection_context():
        running = Job.create(kind="build", subject="busy", state="running", worker=worker_id(),
                             started_at=utcnow(), heartbeat_at=utcnow())
    try:
        job = run(api, "/api/tags/fleet/deploy")
    finally:
        with database.connection_context():
            Job.update(state="succeeded").where(Job.id == running.id).execute()
    assert job["state"] == "failed" and "skipped (busy): busy" in job["error"]
    assert {c["subject"]: c["state"] for c in job["children"]} == {"free": "succeeded"}

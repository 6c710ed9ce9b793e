"""Deploy details (issue 15, items 7 and 8), with real nix and the nixpkgs STAND-IN: the activation helper's
output in order, its own summary and its rollback on the record; one "switched" line; a deploy's duration is
the whole deploy; a device's preview diff holds only its own flake block and follows a manual rollback.
"""
from datetime import datetime

import pytest

from tests.conftest import wait_for_job

CORE = "thymis_controller.modules.thymis.ThymisDevice"
CUSTOM = "thymis_controller.modules.custom_nix.CustomNixModule"
PREVIOUS = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-previous"

# Writes like the NixOS module's pair (thymis-controller-activate around thymis-activate): stdout and stderr
# interleaved, the summary in the middle, a generic line last.
ROLLING_BACK_HELPER = f"""#!/bin/sh
[ "$1" != deliver-secrets ] || {{ cat >/dev/null; echo "secrets: none"; exit 0; }}
echo "thymis-controller-activate: starting thymis-activate@x.service"
echo "thymis-activate: switch to $1 (previous: {PREVIOUS})"
echo "thymis-activate: switch-to-configuration switch failed (exit status 4)" >&2
echo "thymis-activate: rolling back to {PREVIOUS}" >&2
echo "activating the configuration... (previous system)"
echo "thymis-controller-activate: the activation of $1 failed (journalctl -u 'x' as root has the details)" >&2
exit 1
"""


@pytest.fixture
def app_config(standins, profile, activation_log):
    return {"thymis_flake_url": standins.thymis_url, "system_profile": profile}


def device(api, name, nix=""):
    modules = [{"type": CORE, "settings": {"device_name": name}}]
    if nix:
        modules.append({"type": CUSTOM, "settings": {"nix_code": nix}})
    response = api.post("/api/devices", json={"name": name, "display_name": name, "target": "local",
                                              "modules": modules})
    assert response.status_code == 201, response.get_json()


def run(api, path, body=None):
    response = api.post(path, json=body) if body is not None else api.post(path)
    assert response.status_code == 202, response.get_json()
    return wait_for_job(api, response.get_json()["job_id"], timeout=180)


def test_the_activation_helper_is_logged_in_order_with_its_summary_and_its_rollback(app_factory, standins,
                                                                                   tmp_path):
    helper = tmp_path / "helper"
    helper.write_text(ROLLING_BACK_HELPER)
    helper.chmod(0o755)
    app = app_factory(thymis_flake_url=standins.thymis_url, local_activation_command=str(helper),
                      system_profile=tmp_path / "untouched")
    from auth.tokens import create_token
    from models import database
    with database.connection_context():
        bearer = create_token("helper")
    client = app.test_client(use_cookies=False)

    class Api:
        def __getattr__(self, method):
            return lambda path, **kw: getattr(client, method)(path, headers={"Authorization": f"Bearer {bearer}"},
                                                               **kw)
    api = Api()
    device(api, "pi")
    job = run(api, "/api/devices/pi/deploy")
    assert job["state"] == "failed"
    assert job["error"] == (f"switch failed, rolled back to {PREVIOUS} "
                            "(switch-to-configuration switch failed (exit status 4))")
    order = ["starting thymis-activate@x.service", "switch to /nix/store/", "switch failed (exit status 4)",
             f"rolling back to {PREVIOUS}", "activating the configuration", "the activation of /nix/store/"]
    positions = [job["log"].index(text) for text in order]
    assert positions == sorted(positions), job["log"]
    record = api.get("/api/devices/pi/deployments").get_json()[0]
    assert record["kind"] == "deploy" and record["state"] == "rolled-back" and record["error"] == job["error"]


def test_one_switched_line_and_the_duration_is_the_whole_deploy(api):
    device(api, "pi")
    job = run(api, "/api/devices/pi/deploy")
    assert job["state"] == "succeeded", job["log"]
    assert job["log"].count("switched ") == 1, job["log"]
    record = api.get("/api/devices/pi/deployments").get_json()[0]
    elapsed = (datetime.fromisoformat(record["finished_at"]) - datetime.fromisoformat(record["started_at"]))
    assert abs(record["duration"] - elapsed.total_seconds()) < 1.0
    rolled = run(api, "/api/devices/pi/rollback", {"store_path": record["store_path"]})
    assert rolled["state"] == "succeeded" and rolled["log"].count("switched ") == 1, rolled["log"]


def test_preview_diffs_only_the_device_and_follows_a_manual_rollback(api):
    device(api, "pi", "thymis.note = \"one\";")
    device(api, "other")
    first = run(api, "/api/devices/pi/deploy")
    assert first["state"] == "succeeded", first["log"]
    good = api.get("/api/devices/pi/deployments").get_json()[0]
    two = {"type": CUSTOM, "settings": {"nix_code": "thymis.note = \"two\";"}}
    api.patch("/api/devices/pi", json={"modules": [{"type": CORE, "settings": {"device_name": "pi"}}, two]})
    second = run(api, "/api/devices/pi/deploy")
    assert second["state"] == "succeeded", second["log"]
    device(api, "third")                                     # another device's block appears in flake.nix
    preview = api.get("/api/devices/pi/preview").get_json()
    assert "third" not in preview["diff"] and preview["diff"] == ""
    rolled = run(api, "/api/devices/pi/rollback", {"store_path": good["store_path"]})
    assert rolled["state"] == "succeeded", rolled["log"]
    preview = api.get("/api/devices/pi/preview").get_json()
    assert preview["against"] == good["project_commit"]      # what the device runs now
    assert '"one"' in preview["diff"]
    assert '"two"' in preview["diff"]

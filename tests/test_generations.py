"""A device's generations are its target's profile (issue 15): numbered, the current one marked, build-only records
kept apart in the history; rollback picks a generation by its number. Page and JSON alike.

Real nix with the nixpkgs STAND-IN (tests/support/nix.py), a real profile for local deploys and a real sshd.
"""
import os

import pytest

from tests.conftest import wait_for_job
from tests.support.sshd import sshd_available

CORE = "thymis_controller.modules.thymis.ThymisDevice"
CUSTOM = "thymis_controller.modules.custom_nix.CustomNixModule"


@pytest.fixture
def app_config(standins, profile, activation_log, request):
    config = {"thymis_flake_url": standins.thymis_url, "system_profile": profile}
    if "sshd" in request.fixturenames:
        config["ssh_key"] = request.getfixturevalue("sshd").options.key_file
    return config


def run(api, path, body=None):
    response = api.post(path, json=body) if body is not None else api.post(path)
    assert response.status_code == 202, response.get_json()
    return wait_for_job(api, response.get_json()["job_id"], timeout=180)


def modules(word: str) -> list:
    return [{"type": CORE, "settings": {"device_name": "pi"}},
            {"type": CUSTOM, "settings": {"nix_code": f'environment.etc.word.text = "{word}";'}}]


def test_generations_are_the_profile_and_rollback_picks_a_number(api, client, profile):
    assert api.post("/api/devices", json={"name": "pi", "display_name": "Pi", "target": "local",
                                          "modules": modules("one")}).status_code == 201
    assert run(api, "/api/devices/pi/build")["state"] == "succeeded"
    assert api.get("/api/devices/pi/generations").get_json() == []          # a build is not a generation
    assert run(api, "/api/devices/pi/deploy")["state"] == "succeeded"
    api.patch("/api/devices/pi", json={"modules": modules("two")})
    assert run(api, "/api/devices/pi/deploy")["state"] == "succeeded"
    api.patch("/api/devices/pi", json={"modules": modules("three")})
    assert run(api, "/api/devices/pi/build")["state"] == "succeeded"      # built, never activated

    history = api.get("/api/devices/pi/deployments").get_json()
    assert [h["kind"] for h in history] == ["build", "deploy", "deploy", "build"]
    deploys = [h for h in history if h["kind"] == "deploy"]
    listed = api.get("/api/devices/pi/generations").get_json()
    assert [(g["number"], g["current"]) for g in listed] == [(2, True), (1, False)]
    assert [g["store_path"] for g in listed] == [d["store_path"] for d in deploys]
    assert [g["project_commit"] for g in listed] == [d["project_commit"] for d in deploys]
    assert listed[0]["deployment_id"] == deploys[0]["id"] and listed[0]["created_at"].endswith("Z")
    assert history[0]["store_path"] not in {g["store_path"] for g in listed}
    assert os.readlink(profile) == "system-2-link"

    # the page: the device page loads the list on its own; the list names numbers, current, and roll back buttons
    page = client.get("/devices/pi").get_data(as_text=True)
    assert 'hx-get="/devices/pi/generations" hx-trigger="load"' in page
    assert "build only (not activated)" in page and "Roll back to generation" not in page
    part = client.get("/devices/pi/generations", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "2 <strong>(current)</strong>" in part and f"<code>{profile}</code>" in part
    assert 'href="/devices/pi/rollback?generation=1"' in part and "Roll back to generation 1…" in part  # asks
    assert "generation=2" not in part                                       # no rollback to the current one
    assert "<html" in client.get("/devices/pi/generations").get_data(as_text=True)   # no-JS: a page of its own

    posted = client.post("/devices/pi/rollback", data={"csrf_token": client.csrf, "generation": "1"})
    assert posted.status_code == 302
    job = wait_for_job(api, api.get("/api/jobs?kind=rollback").get_json()[0]["id"], timeout=120)
    assert job["state"] == "succeeded", job["log"]
    assert "rolling back" in job["log"] and "to generation 1" in job["log"]
    assert os.readlink(profile) == "system-1-link"
    assert [(g["number"], g["current"]) for g in api.get("/api/devices/pi/generations").get_json()] == \
        [(2, False), (1, True)]

    missing = run(api, "/api/devices/pi/rollback", {"generation": 9})
    assert missing["state"] == "failed"
    assert missing["error"] == f"generation 9 is not a generation of {profile} on local (it has: 1, 2)"
    assert os.readlink(profile) == "system-1-link"
    retried = api.post(f"/api/jobs/{missing['id']}/retry")                # a retry asks for the same number
    assert retried.status_code == 202, retried.get_json()
    again = wait_for_job(api, retried.get_json()["job_id"], timeout=120)
    assert again["kind"] == "rollback" and again["error"] == missing["error"]
    for bad in ({"generation": "two"}, {"generation": 0}, {"generation": True}, {}):
        answer = api.post("/api/devices/pi/rollback", json=bad)
        assert answer.status_code == 422, bad
        assert answer.get_json()["error"] == {**answer.get_json()["error"], "field": "generation",
                                              "message": "choose the generation to roll back to: its number in "
                                                         "the device's generations"}


def test_an_unreachable_target_is_one_sentence_and_never_blocks_the_device_page(api, client):
    from tests.support.processes import free_port
    target = f"ssh://root@127.0.0.1:{free_port()}"
    assert api.post("/api/devices", json={"name": "far", "display_name": "Far", "target": target}).status_code == 201
    answer = api.get("/api/devices/far/generations")
    assert answer.status_code == 502
    error = answer.get_json()["error"]
    assert error["code"] == "unreachable" and "refused the connection on port" in error["message"]
    part = client.get("/devices/far/generations", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert error["message"] in part.replace("&#39;", "'")
    assert client.get("/devices/far").status_code == 200      # the device page itself does not log in
    assert api.post("/api/devices", json={"name": "nowhere", "display_name": "N"}).status_code == 201
    unset = api.get("/api/devices/nowhere/generations")
    assert unset.status_code == 409 and unset.get_json()["error"]["message"].startswith("set a target first")


@pytest.mark.skipif(not sshd_available(), reason="needs sshd and root")
def test_generations_over_ssh(api, sshd):
    from repos.ssh_keys import public_key_of
    assert api.post("/api/devices", json={"name": "pi", "display_name": "Pi", "target": sshd.target,
                                          "modules": modules("ssh")}).status_code == 201
    sshd.authorize(public_key_of(sshd.options.key_file))
    job = run(api, "/api/devices/pi/deploy")
    assert job["state"] == "succeeded", job["log"]
    deployed = api.get("/api/devices/pi/deployments").get_json()[0]
    listed = api.get("/api/devices/pi/generations").get_json()      # the device's /nix/var/nix/profiles/system
    ours = [g for g in listed if g["store_path"] == deployed["store_path"]]   # (an earlier run may have made one too)
    assert ours and all(g["deployment_id"] == deployed["id"] and g["number"] >= 1 for g in ours)
    assert ours[0]["project_commit"] == deployed["project_commit"]
    assert sum(g["current"] for g in listed) == 1                    # (other tests share this machine's profile)
    assert [g["number"] for g in listed] == sorted((g["number"] for g in listed), reverse=True)

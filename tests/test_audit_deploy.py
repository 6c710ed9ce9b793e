"""Deploys and rollbacks in the audit log: who started them, which device, how they ended (real nix, the
stand-ins of tests/support/nix.py, local activation into a test profile)."""
import pytest

from tests.conftest import wait_for_job
from tests.test_audit import entries
from tests.test_deploy_app import CORE, CUSTOM, demo, device, run  # noqa: F401  (demo is a fixture)


@pytest.fixture
def app_config(standins, profile, activation_log):
    return {"thymis_flake_url": standins.thymis_url, "system_profile": profile}


def test_deploys_and_rollbacks_are_recorded_with_who_and_outcome(api, demo, client):  # noqa: F811
    api.post("/api/tags", json={"name": "fleet", "display_name": "Fleet"})
    device(api, "pi", tags=["fleet"])
    tag_job = run(api, "/api/tags/fleet/deploy")
    assert tag_job["state"] == "succeeded", tag_job["log"]
    good = api.get("/api/devices/pi/deployments").get_json()[0]["store_path"]
    [deployed] = entries(api, subject="pi")
    assert deployed["kind"] == "deploy" and deployed["actor"] == "token:tests"
    assert deployed["detail"] == {"outcome": "succeeded", "store_path": good, "error": None,
                                  "job_id": tag_job["children"][0]["id"], "tag": "fleet"}

    api.patch("/api/devices/pi", json={"modules": [
        {"type": CORE, "settings": {"device_name": "pi"}},
        {"type": CUSTOM, "settings": {"nix_code": "thymis.test.failSwitch = true;"}}]})
    failed = client.post("/api/devices/pi/deploy", headers={"X-CSRF-Token": client.csrf})  # a signed-in browser
    assert failed.status_code == 202, failed.get_json()
    assert wait_for_job(api, failed.get_json()["job_id"], timeout=180)["state"] == "failed"
    job = run(api, f"/api/jobs/{failed.get_json()['job_id']}/retry")  # retried by the token: its deploy
    assert job["state"] == "failed"
    newest = entries(api, subject="pi", kind="deploy")
    assert [(e["actor"], e["detail"]["outcome"]) for e in newest] == [
        ("token:tests", "rolled-back"), ("session", "rolled-back"), ("token:tests", "succeeded")]
    assert "rolled back" in newest[0]["detail"]["error"] and newest[0]["detail"]["job_id"] == job["id"]

    back = run(api, "/api/devices/pi/rollback", {"store_path": good})
    assert back["state"] == "succeeded", back["log"]
    [rollback] = entries(api, subject="pi", kind="rollback")
    assert rollback["actor"] == "token:tests"
    assert rollback["detail"] == {"outcome": "succeeded", "store_path": good, "error": None, "job_id": back["id"]}
    html = client.get("/audit?subject=pi").get_data(as_text=True)
    assert html.count('data-kind="deploy"') == 3 and 'data-kind="rollback"' in html and "rolled-back" in html

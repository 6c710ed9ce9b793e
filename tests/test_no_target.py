"""A device gets a target only when the operator gives one: imported devices and devices created without a target
can be built but never deployed or rolled back ("set a target first", on pages and in JSON alike).

Before, an imported Thymis device (Thymis keeps targets outside state.json) and a device created through the API
without a target got ``local``: deploying it would have switched this appliance itself.
"""
import json

from models import Device
from tests.conftest import wait_for_job

CORE = "thymis_controller.modules.thymis.ThymisDevice"
SET_FIRST = "set a target first: device {} has no deployment target yet"


def _import(app, tmp_path, *identifiers):
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"tags": [{"identifier": "lab", "displayName": "Lab", "priority": 70, "modules": []}],
                                "configs": [{"identifier": name, "displayName": name.title(), "tags": ["lab"],
                                             "modules": [{"type": CORE, "settings": {"device_name": name}}]}
                                            for name in identifiers]}))
    result = app.test_cli_runner().invoke(args=["thymis", "import", str(path)])
    assert result.exit_code == 0, result.output
    return result.output


def test_imported_devices_have_no_target_and_are_not_deployed(app, api, client, tmp_path):
    out = _import(app, tmp_path, "kiosk")
    assert "the imported devices have no target and cannot be deployed until you set one (kiosk)" in out
    assert "`local`" not in out
    assert Device.get(Device.name == "kiosk").target == ""
    assert api.get("/api/devices/kiosk").get_json()["target"] is None

    for path, body in (("deploy", None), ("rollback", {"store_path": "/nix/store/" + "a" * 32 + "-x"})):
        answer = api.post(f"/api/devices/kiosk/{path}", json=body) if body else api.post(f"/api/devices/kiosk/{path}")
        assert answer.status_code == 409, answer.get_json()
        error = answer.get_json()["error"]
        assert error["message"].startswith(SET_FIRST.format("kiosk")) and error["field"] == "target"
    tag = api.post("/api/tags/lab/deploy")
    assert tag.status_code == 409
    assert tag.get_json()["error"]["message"].startswith("set a target first: kiosk of tag lab have no deployment")
    assert api.get("/api/jobs").get_json() == []  # nothing started

    # the page: no Deploy button, the confirmation page and the form post both say the same sentence
    page = client.get("/devices/kiosk").get_data(as_text=True)
    assert 'id="no-target"' in page and "/devices/kiosk/deploy" not in page
    asked = client.get("/devices/kiosk/deploy", follow_redirects=True).get_data(as_text=True)
    assert SET_FIRST.format("kiosk") in asked
    posted = client.post("/devices/kiosk/deploy", data={"csrf_token": client.csrf}, follow_redirects=True)
    assert SET_FIRST.format("kiosk") in posted.get_data(as_text=True)
    tag_page = client.get("/tags/lab/deploy", follow_redirects=True).get_data(as_text=True)
    assert "set a target first: kiosk of tag lab" in tag_page
    assert api.get("/api/jobs").get_json() == []
    assert "not set" in client.get("/devices").get_data(as_text=True)

    # building needs no target; setting one makes Deploy appear
    assert api.post("/api/devices/kiosk/build").status_code == 202
    assert api.patch("/api/devices/kiosk", json={"target": "ssh://root@192.0.2.1"}).get_json()["target"] \
        == "ssh://root@192.0.2.1"
    assert "/devices/kiosk/deploy" in client.get("/devices/kiosk").get_data(as_text=True)


def test_no_path_gives_local_without_being_asked(api, client):
    created = api.post("/api/devices", json={"name": "quiet", "display_name": "Quiet"})
    assert created.status_code == 201 and created.get_json()["target"] is None
    form = client.get("/devices").get_data(as_text=True)
    assert 'name="target" value=""' in form  # the create form is not prefilled with local
    client.post("/devices", data={"csrf_token": client.csrf, "name": "paged", "display_name": "Paged", "target": ""})
    assert api.get("/api/devices/paged").get_json()["target"] is None
    copy = client.post("/devices/quiet/duplicate", data={"csrf_token": client.csrf, "name": "copy"})
    assert copy.status_code == 302
    assert Device.get(Device.name == "copy").target == ""  # a copy keeps "not set"

    chosen = api.post("/api/devices", json={"name": "here", "display_name": "Here", "target": "local"})
    assert chosen.get_json()["target"] == "local"
    assert api.patch("/api/devices/here", json={"target": None}).get_json()["target"] is None  # unset again
    assert api.post("/api/devices/here/deploy").status_code == 409
    bad = api.patch("/api/devices/here", json={"target": "ftp://x"})
    assert bad.status_code == 422 and "the target must be 'local'" in bad.get_json()["error"]["message"]


def test_a_follower_without_a_target_is_skipped_with_the_reason(app, api, git_server):
    """'Deploy automatically' on a device without a target: the fetch logs why it did not deploy, and succeeds."""
    from tests.test_webhooks import HOOK, add_repository, headers, new_commit, push_body
    name, server = add_repository(api, git_server)
    assert api.post("/api/devices", json={"name": "kiosk", "display_name": "Kiosk"}).status_code == 201
    followers = {"followers": [{"kind": "device", "name": "kiosk", "deploy": True}]}
    assert api.put(f"/api/repositories/{name}/followers", json=followers).status_code == 200
    new_commit(server)
    body = push_body("github")
    hook = app.test_client(use_cookies=False).post(HOOK.format(name), data=body, headers=headers("github", body))
    fetch = wait_for_job(api, hook.get_json()["job_id"])
    assert fetch["state"] == "succeeded", fetch["log"]
    assert "kiosk: deploy skipped: set a target first: device kiosk has no deployment target yet" in fetch["log"]
    assert api.get("/api/jobs?subject=kiosk").get_json() == []

"""GET /api/devices and GET /api/devices/<name> carry each device's last deploy or rollback (kind, state, times,
job id), as the devices page shows it: a build alone does not count; never deployed is null. Real deploys (the
stand-in nixpkgs and thymis flake of test_deploy_app)."""
from tests.test_deploy_app import CORE, CUSTOM, app_config, demo, device, run  # noqa: F401 (fixtures)


def _last(api, name):
    listed = {d["name"]: d["last_deploy"] for d in api.get("/api/devices").get_json()}
    single = api.get(f"/api/devices/{name}").get_json()["last_deploy"]
    assert listed[name] == single  # the list and the device agree
    return single


def test_the_last_deploy_in_device_objects(api, demo):  # noqa: F811
    device(api, "pi")
    device(api, "spare")
    assert _last(api, "pi") is None and _last(api, "spare") is None
    assert run(api, "/api/devices/pi/build")["state"] == "succeeded"
    assert _last(api, "pi") is None  # a build does not change the device

    first = run(api, "/api/devices/pi/deploy")
    assert first["state"] == "succeeded", first["log"]
    last = _last(api, "pi")
    assert {k: last[k] for k in ("kind", "state", "job_id")} == {"kind": "deploy", "state": "succeeded",
                                                                 "job_id": first["id"]}
    assert last["started_at"] <= last["finished_at"] and last["finished_at"] <= first["finished_at"]

    api.patch("/api/devices/pi", json={"modules": [
        {"type": CORE, "settings": {"device_name": "pi"}},
        {"type": CUSTOM, "settings": {"nix_code": "thymis.test.failSwitch = true;"}}]})
    failed = run(api, "/api/devices/pi/deploy")
    assert failed["state"] == "failed"
    assert {k: _last(api, "pi")[k] for k in ("kind", "state", "job_id")} == {
        "kind": "deploy", "state": "rolled-back", "job_id": failed["id"]}
    assert _last(api, "spare") is None
    created = api.post("/api/devices", json={"name": "new", "display_name": "New"})
    assert created.status_code == 201 and created.get_json()["last_deploy"] is None

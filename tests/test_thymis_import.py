"""Importing a Thymis project (its state.json) through the CLI and the page, then building an imported device.

The state.json is written here from Thymis's documented schema (controller/thymis_controller/models/state.py:
version, repositories {input name: {url, follows, inputs_follows}}, tags [{displayName, identifier, priority,
modules}], configs [{displayName, identifier, modules, tags}]). Real git server, real nix; nixpkgs is the
stand-in of tests/fixtures/nixpkgs-standin.
"""
import json

import pytest

from tests.conftest import wait_for_job
from tests.support import repo_trees as rb
from tests.support.nix import toplevel_config

CORE = "thymis_controller.modules.thymis.ThymisDevice"
GREETER = "demo_modules.modules.Greeter"
GONE = "acme_signage.modules.Signage"   # a module no repository here provides
OFFLINE_FLAKE = '{ description = "demo"; outputs = { self }: { value = "from the demo flake"; }; }\n'


def thymis_state(demo_url: str) -> dict:
    module = {"type": GREETER, "settings": {"greeting": "from the device"}}
    return {
        "version": "0.0.9",
        "repositories": {
            "thymis": {"url": "github:thymis-io/thymis/v0.6", "follows": None, "inputs_follows": {}},
            "nixpkgs": {"url": None, "follows": "thymis/nixpkgs", "inputs_follows": {}},
            "demo": {"url": demo_url, "follows": None, "inputs_follows": {}},
            "mirror": {"url": None, "follows": "demo/nixpkgs", "inputs_follows": {}},
        },
        "tags": [
            {"displayName": "Office", "identifier": "office", "priority": 70,
             "modules": [{"type": GREETER, "settings": {"greeting": "from the office tag"}}]},
            {"displayName": "Lab", "identifier": "lab", "priority": 90,
             "modules": [{"type": GREETER, "settings": {"port": 7000, "level": "high"}},
                         {"type": GONE, "settings": {"url": "https://example.org"}}]},
        ],
        "configs": [
            {"displayName": "Sensor 01", "identifier": "sensor-01", "tags": ["lab"],
             "modules": [{"type": CORE, "settings": {"device_name": "sensor-01", "device_type": "generic-x86_64"}},
                         module]},
            {"displayName": "Front desk", "identifier": "front-desk", "tags": ["office", "lab", "kitchen"],
             "modules": [{"type": CORE, "settings": {"device_name": "front-desk"}}, module]},
        ],
    }


@pytest.fixture
def app_config(standins):
    return {"thymis_flake_url": standins.thymis_url}


@pytest.fixture
def demo_url(git_server, tmp_path):
    root = rb.valid_repo(tmp_path / "demo-tree")
    (root / "flake.nix").write_text(OFFLINE_FLAKE)
    name = git_server.new_name("thymis-demo")
    git_server.make_repo(name, {str(p.relative_to(root)): p.read_text() for p in root.rglob("*") if p.is_file()})
    return git_server.url(name)


def project_folder(tmp_path, state):
    """A Thymis project folder: <project path>/repository/state.json (``state``: a dict or the file's bytes)."""
    folder = tmp_path / "thymis-project"
    (folder / "repository").mkdir(parents=True)
    data = state if isinstance(state, bytes) else json.dumps(state, indent=2).encode()
    (folder / "repository" / "state.json").write_bytes(data)
    return folder


def snapshot(api):
    return {kind: api.get(f"/api/{kind}").get_json() for kind in ("repositories", "tags", "devices")}


def test_cli_import_then_build(app, api, demo_url, tmp_path):
    folder = project_folder(tmp_path, thymis_state(demo_url))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["thymis", "import", str(folder)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"imported from {folder / 'repository' / 'state.json'}" in out
    assert "  repositories: demo\n" in out and "  tags: office, lab\n" in out
    assert "  devices: sensor-01, front-desk\n" in out
    assert "not imported: repository mirror: it has no URL (it follows demo/nixpkgs" in out
    assert "not imported: configuration front-desk: its tag kitchen (the tag was not imported)" in out
    assert f"warning: tag lab: module {GONE} is not available here (yet)" in out
    assert "repository thymis" not in out and "repository nixpkgs" not in out  # THYMIS_FLAKE_URL provides them

    jobs = [line for line in out.splitlines() if line.startswith("fetching the repositories: jobs ")]
    job_id = int(jobs[0].split("jobs ")[1].split(" ")[0])
    assert wait_for_job(api, job_id)["state"] == "succeeded"
    repo = api.get("/api/repositories/demo").get_json()
    assert repo["url"] == demo_url and repo["status"] == "ready"

    tag = api.get("/api/tags/lab").get_json()
    assert tag["priority"] == 90 and [m["type"] for m in tag["modules"]] == [GREETER, GONE]
    assert tag["modules"][1]["settings"] == {"url": "https://example.org"} and not tag["modules"][1]["available"]
    device = api.get("/api/devices/front-desk").get_json()
    assert device["tags"] == ["office", "lab"] and device["display_name"] == "Front desk"
    assert device["modules"][1] == {"type": GREETER, "settings": {"greeting": "from the device"}, "available": True,
                                    "display_name": "Greeter"}
    assert device["warnings"] == []  # the repository's modules are available now

    build = api.post("/api/devices/front-desk/build")
    assert build.status_code == 202
    job = wait_for_job(api, build.get_json()["job_id"], timeout=180)
    assert job["state"] == "succeeded", job["log"]
    config = toplevel_config(api.get("/api/devices/front-desk/deployments").get_json()[0]["store_path"])
    assert config["networking"]["hostName"] == "front-desk"
    assert config["environment"]["etc"]["greeting"]["text"] == "from the office tag"  # priority 70 beats 80
    assert config["demo"]["port"] == 7000 and config["demo"]["level"] == "high"     # only the lab tag sets them

    before = snapshot(api)
    again = runner.invoke(args=["thymis", "import", str(folder / "repository" / "state.json")])
    assert again.exit_code == 1
    assert "this state.json was already imported (" in again.output
    assert snapshot(api) == before


@pytest.mark.parametrize(("content", "message"), [
    (b"{ not json", "the file is not valid JSON: Expecting property name enclosed in double quotes at line 1"),
    (b"\xff\xfe", "the file is not UTF-8 text"),
    (b"[1, 2]", "the file is not a Thymis state.json: it has none of repositories, tags, configs"),
    (json.dumps({"configs": [{"identifier": "ok", "modules": []}, {"identifier": "x", "modules": [{"settings": {}}]}]})
     .encode(), "configuration x: module 1 must be an object with a type"),
    (json.dumps({"tags": [{"identifier": "t", "modules": [], "priority": "high"}]}).encode(),
     "tag t: the priority must be a whole number"),
    (json.dumps({"configs": [{"identifier": "a", "modules": []}, {"identifier": "a", "modules": []}]}).encode(),
     "the configuration identifier a is used twice"),
])
def test_a_broken_file_changes_nothing(app, api, tmp_path, content, message):
    api.post("/api/tags", json={"name": "kept", "display_name": "Kept"})
    before = snapshot(api)
    path = tmp_path / "state.json"
    path.write_bytes(content)
    result = app.test_cli_runner().invoke(args=["thymis", "import", str(path)])
    assert result.exit_code == 1
    assert message in result.output
    assert snapshot(api) == before
    assert app.test_cli_runner().invoke(args=["thymis", "import", str(tmp_path / "nothing-here")]).exit_code == 2


def test_cli_json_report(app, tmp_path):
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"tags": [{"identifier": "t", "displayName": "T", "priority": 60, "modules": []}]}))
    result = app.test_cli_runner().invoke(args=["thymis", "import", "--json", str(path)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["tags"] == ["t"] and report["source"] == str(path) and report["not_imported"] == []


def test_a_folder_without_state_is_refused(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["thymis", "import", str(tmp_path)])
    assert result.exit_code == 1
    assert "is not a Thymis project folder: it has no repository/state.json or state.json" in result.output


def test_page_upload_with_the_same_messages(app, client, api, demo_url, tmp_path):
    page = client.get("/import")
    assert page.status_code == 200 and 'type="file" name="state"' in page.get_data(as_text=True)
    data = json.dumps(thymis_state(demo_url)).encode()
    without_csrf = client.post("/import", data={"state": (_file(data), "state.json")},
                               content_type="multipart/form-data")
    assert without_csrf.status_code == 400 and snapshot(api)["devices"] == []

    uploaded = client.post("/import", data={"state": (_file(data), "state.json"), "csrf_token": client.csrf},
                           content_type="multipart/form-data")
    text = uploaded.get_data(as_text=True)
    assert uploaded.status_code == 200, text
    assert 'href="/devices/sensor-01"' in text and 'href="/tags/office"' in text
    assert "repository mirror: it has no URL" in text and f"module {GONE} is not available here (yet)" in text
    assert [d["name"] for d in api.get("/api/devices").get_json()] == ["front-desk", "sensor-01"]

    again = client.post("/import", data={"state": (_file(data), "state.json"), "csrf_token": client.csrf},
                        content_type="multipart/form-data")
    assert again.status_code == 409
    cli = app.test_cli_runner().invoke(args=["thymis", "import", str(project_folder(tmp_path, data))])
    message = "this state.json was already imported ("
    assert message in again.get_data(as_text=True), again.get_data(as_text=True)
    assert message in cli.output

    broken = client.post("/import", data={"state": (_file(b"{ not json"), "state.json"), "csrf_token": client.csrf},
                         content_type="multipart/form-data")
    assert broken.status_code == 422
    assert "the file is not valid JSON: Expecting property name" in broken.get_data(as_text=True)
    nothing = client.post("/import", data={"csrf_token": client.csrf}, content_type="multipart/form-data")
    assert nothing.status_code == 422 and "choose a Thymis state.json to import" in nothing.get_data(as_text=True)


def test_conflicts_are_listed_and_the_rest_imported(app, api, demo_url, tmp_path):
    api.post("/api/devices", json={"name": "sensor-01", "display_name": "Mine", "modules": []})
    state = thymis_state(demo_url)
    state["tags"].append({"displayName": "x" * 150, "identifier": "long", "priority": 50, "modules": []})
    state["tags"].append({"displayName": "Bad", "identifier": "Not A Name", "priority": 50, "modules": []})
    state["tags"].append({"displayName": "Far", "identifier": "far", "priority": 5000, "modules": []})
    state["configs"][1]["modules"][0]["settings"]["device_type"] = "toaster"
    state["configs"][1]["modules"].append({"type": GREETER, "settings": {}})
    state["unknown_key"] = {"x": 1}
    result = app.test_cli_runner().invoke(args=["thymis", "import", str(project_folder(tmp_path, state))])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "not imported: configuration sensor-01: a device of that identifier is already here" in out
    assert "not imported: tag long: a display name must be at most 100 printable characters" in out
    assert "not imported: tag Not A Name:" in out
    assert "not imported: tag far: the priority must be a whole number from 1 to 1500" in out
    assert "not imported: state.json key unknown_key: this controller has no equivalent" in out
    assert f"not imported: configuration front-desk: module {CORE}: " in out
    assert f"not imported: configuration front-desk: module {GREETER} is listed twice; the first is kept" in out
    assert [m["type"] for m in api.get("/api/devices/front-desk").get_json()["modules"]] == [GREETER]
    assert api.get("/api/devices/sensor-01").get_json()["display_name"] == "Mine"   # left as it was
    assert sorted(t["name"] for t in api.get("/api/tags").get_json()) == ["lab", "office"]


def test_states_before_0_0_9_call_configurations_devices_and_keep_settings_in_thymis_device(app, api, tmp_path):
    state = {"version": "0.0.7", "repositories": {}, "tags": [],
             "devices": [{"displayName": "Old", "identifier": "old", "tags": [],
                          "modules": [{"type": CORE, "settings": {"device_name": "old", "timezone": "Europe/Berlin",
                                                                  "wifi_ssid": "office"}}]}]}
    path = tmp_path / "state.json"
    path.write_text(json.dumps(state))
    result = app.test_cli_runner().invoke(args=["thymis", "import", str(path)])
    assert result.exit_code == 0, result.output
    modules = {m["type"]: m["settings"] for m in api.get("/api/devices/old").get_json()["modules"]}
    from thymis_controller.modules.thymis import ThymisDevice
    # the state version in force is pinned when a device gets the core module (configs/core.py)
    assert modules[CORE] == {"device_name": "old", "nix_state_version": ThymisDevice.nix_state_version.default}
    assert modules["thymis_controller.modules.localization.LocalizationModule"] == {"timezone": "Europe/Berlin"}
    assert modules["thymis_controller.modules.networking.NetworkingModule"] == {"wifi_ssid": "office"}


def _file(data: bytes):
    import io
    return io.BytesIO(data)


def test_import_in_the_browser(controller, page, tmp_path):
    """A person uploads a Thymis state.json in Chromium and follows the report to an imported device."""
    from playwright.sync_api import expect

    from tests.support.browser import log_in
    base, password = controller
    log_in(page, base, password)
    state = {"version": "0.0.9", "repositories": {}, "tags": [
        {"displayName": "Lobby", "identifier": "lobby", "priority": 70, "modules": [
            {"type": GONE, "settings": {"url": "https://example.org"}}]}],
        "configs": [{"displayName": "Screen 1", "identifier": "screen-1", "tags": ["lobby"],
                     "modules": [{"type": CORE, "settings": {"device_name": "screen-1"}}]}]}
    path = tmp_path / "state.json"
    path.write_text(json.dumps(state))

    page.get_by_role("link", name="Import from Thymis").click()
    page.set_input_files("#field-state", str(path))
    page.get_by_role("button", name="Import").click()
    report = page.locator("#import-report")
    expect(report).to_contain_text(f"tag lobby: module {GONE} is not available here (yet)")
    report.get_by_role("link", name="screen-1").click()
    expect(page.get_by_role("heading", name="Screen 1")).to_be_visible()

    page.goto(base + "/import")
    page.set_input_files("#field-state", str(path))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("alert")).to_contain_text("this state.json was already imported (")


def test_json_api_import(api, demo_url):
    data = json.dumps(thymis_state(demo_url)).encode()
    created = api.post("/api/thymis/import", data=data, content_type="application/json")
    assert created.status_code == 201, created.get_json()
    report = created.get_json()
    assert report["devices"] == ["sensor-01", "front-desk"] and report["tags"] == ["office", "lab"]
    assert report["repositories"] == ["demo"] and len(report["jobs"]) == 1
    assert "repository mirror: it has no URL (it follows demo/nixpkgs, which has no equivalent here)" in \
        report["not_imported"]
    wait_for_job(api, report["jobs"][0])
    again = api.post("/api/thymis/import", data=data, content_type="application/json")
    assert again.status_code == 409
    assert again.get_json()["error"]["message"].startswith("this state.json was already imported (")
    broken = api.post("/api/thymis/import", data=b"{", content_type="application/json")
    assert broken.status_code == 422 and broken.get_json()["error"]["field"] == "file"

"""Reviewing a candidate: the commits since the active one (author, date, message, signature state of each), and
the devices and tags that use the repository's modules, with the ones the candidate changes. Real git server."""
from tests.conftest import wait_for_job
from tests.support import repo_trees as rb
from tests.support.git import ssh_signing_key
from tests.test_review import FILES, README, add, refresh, served

GREETER, USERS = "demo_modules.modules.Greeter", "demo_modules.modules.Users"


def candidate(api, name):
    response = api.get(f"/api/repositories/{name}/candidate")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_commits_since_the_active_one_newest_first(api, git_server):
    name, server = served(git_server)
    _, repo = add(api, git_server, name)
    first = repo["active_commit"]
    assert api.patch(f"/api/repositories/{name}", json={"review": "required"}).status_code == 200
    made = [server.commit({"notes.txt": f"note {n}\n"}, f"Note {n}\n\nBody {n}.") for n in (1, 2, 3)]
    assert refresh(api, name)["state"] == "succeeded"
    shown = candidate(api, name)
    assert shown["commit"] == made[-1] and shown["active_commit"] == first
    assert [c["commit"] for c in shown["commits"]] == made[::-1]
    assert [c["message"] for c in shown["commits"]] == [f"Note {n}\n\nBody {n}." for n in (3, 2, 1)]
    assert all(c["author"] == "T <t@example.com>" and c["date"][:4].isdigit() for c in shown["commits"])
    skipped = {"state": "skipped", "detail": "no allowed signers set: signatures are not checked"}
    assert [c["signature"] for c in shown["commits"][1:]] == [skipped, skipped]
    assert shown["commits"][0]["signature"]["state"] == "skipped"  # the candidate's: its validation's step
    assert shown["history"] == {"complete": True, "note": None}


def test_a_rewritten_branch_says_the_active_commit_is_no_ancestor(api, git_server):
    name, server = served(git_server)
    _, repo = add(api, git_server, name)
    assert api.patch(f"/api/repositories/{name}", json={"review": "required"}).status_code == 200
    rewritten = server.commit({**FILES, "README.md": README + "rewritten\n"}, "Rewritten", branch="other")
    server.git("update-ref", "refs/heads/main", rewritten)
    assert refresh(api, name)["state"] == "succeeded"
    shown = candidate(api, name)
    assert [c["commit"] for c in shown["commits"]] == [rewritten]
    assert shown["history"]["complete"] is False
    assert "not an ancestor of the candidate" in shown["history"]["note"]


def test_each_commit_shows_its_own_signature_state(api, git_server, tmp_path):
    alice, alice_public = ssh_signing_key(tmp_path / "alice", "alice@example.com")
    name, server = served(git_server)
    signed = server.signed_commit(None, alice, "signed start")
    response = api.post("/api/repositories", json={"url": git_server.url(name), "display_name": name,
                                                   "allowed_signers": f"alice@example.com {alice_public}"})
    assert wait_for_job(api, response.get_json()["job_id"])["state"] == "succeeded"
    assert api.patch(f"/api/repositories/{name}", json={"review": "required"}).status_code == 200
    unsigned = server.commit({"x.txt": "x\n"}, "unsigned in between")
    tip = server.signed_commit({"y.txt": "y\n"}, alice, "signed tip")
    assert refresh(api, name)["state"] == "succeeded"
    shown = candidate(api, name)
    assert shown["active_commit"] == signed
    states = {c["commit"]: c["signature"] for c in shown["commits"]}
    assert list(states) == [tip, unsigned]
    assert states[tip]["state"] == "passed" and states[tip]["detail"].startswith("signed by alice@example.com")
    assert states[unsigned] == {"state": "failed", "detail": "unsigned: the commit has no signature"}


def test_devices_and_tags_using_the_changed_modules(api, git_server, client, tmp_path):
    root = rb.valid_repo(tmp_path / "tree")
    files = {str(p.relative_to(root)): p.read_text() for p in root.rglob("*") if p.is_file()}
    name = git_server.new_name("used")
    server = git_server.make_repo(name, files)
    _, repo = add(api, git_server, name)
    assert repo["status"] == "ready", repo
    assert api.post("/api/tags", json={"name": "lab", "display_name": "Lab",
                                       "modules": [{"type": GREETER, "settings": {}}]}).status_code == 201
    for device, modules, tags in (("kiosk", [{"type": USERS, "settings": {}}], ["lab"]),
                                  ("tagged", [], ["lab"]), ("plain", [], [])):
        response = api.post("/api/devices", json={"name": device, "display_name": device.title(), "tags": tags,
                                                  "modules": modules})
        assert response.status_code == 201, response.get_json()
    assert api.patch(f"/api/repositories/{name}", json={"review": "required"}).status_code == 200
    enable = 'nix_attr_name="demo.enable")\n'
    greeter = files["demo_modules/modules.py"].replace(enable, enable + (
        '    volume = Setting(display_name="Volume", type="int", default=3, order=50, nix_attr_name="demo.volume")\n'))
    assert greeter != files["demo_modules/modules.py"]
    server.commit({"demo_modules/modules.py": greeter}, "Greeter: a volume")
    assert refresh(api, name)["state"] == "succeeded"
    shown = candidate(api, name)
    assert shown["modules"]["changed"] == [{"type": GREETER, "settings_added": ["volume"], "settings_removed": [],
                                            "settings_changed": []}]
    assert shown["affected"] == {
        "devices": [{"name": "kiosk", "display_name": "Kiosk", "modules": [GREETER, USERS], "changed": [GREETER],
                     "tags": ["lab"]},
                    {"name": "tagged", "display_name": "Tagged", "modules": [GREETER], "changed": [GREETER],
                     "tags": ["lab"]}],
        "tags": [{"name": "lab", "display_name": "Lab", "modules": [GREETER], "changed": [GREETER]}]}
    page = client.get(f"/repositories/{name}/review").get_data(as_text=True)
    assert "Greeter: a volume" in page and 'id="affected-devices"' in page and "Tagged" in page
    assert "Plain" not in page and "through lab" in page and 'class="diff-add"' in page

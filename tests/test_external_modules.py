"""External repositories end to end: fetched from the test git server, validated, their modules used on devices."""
import itertools
import time

from tests.conftest import wait_for_job
from tests.support import repo_trees as rb
from tests.support.git import Symlink

_names = itertools.count()
GREETER = "demo_modules.modules.Greeter"


def tree(builder, tmp_path, **kwargs) -> dict:
    root = builder(tmp_path / f"tree-{next(_names)}", **kwargs)
    return {str(p.relative_to(root)): p.read_text() for p in root.rglob("*") if p.is_file()}


def serve(git_server, files) -> tuple[str, object]:
    name = f"ext-{next(_names)}"
    return name, git_server.make_repo(name, files)


def add(api, url, display_name, name=None):
    body = {"url": url, "display_name": display_name, **({"name": name} if name else {})}
    response = api.post("/api/repositories", json=body)
    assert response.status_code == 201, response.get_json()
    job = wait_for_job(api, response.get_json()["job_id"])
    return job, api.get(f"/api/repositories/{response.get_json()['name']}").get_json()


def test_valid_repository_offers_its_modules(api, git_server, tmp_path):
    name, _ = serve(git_server, tree(rb.valid_repo, tmp_path))
    job, repo = add(api, git_server.url(name), "Demo modules", "demo")
    assert job["state"] == "succeeded" and repo["status"] == "ready"
    assert {m["display_name"] for m in repo["modules"]} == {"Greeter", "Users"}
    catalog = {m["type"]: m for m in api.get("/api/modules").get_json()}
    assert catalog[GREETER]["source"] == "demo"
    assert [s["name"] for s in catalog[GREETER]["settings"]] == ["level", "greeting", "port", "enable"]


def test_2024_api_repository_loads(api, git_server, tmp_path):
    name, _ = serve(git_server, tree(rb.old_api_repo, tmp_path))
    _, repo = add(api, git_server.url(name), "Legacy")
    assert repo["status"] == "ready"
    assert {m["display_name"] for m in repo["modules"]} == {"Kiosk (2024)", "Home Assistant"}


def test_missing_marker_and_symlinked_readme_fail_with_reasons(api, git_server, client):
    name, _ = serve(git_server, {"README.md": "just a readme\n", "flake.nix": rb.VALID_FLAKE})
    job, repo = add(api, git_server.url(name), "No marker")
    assert job["state"] == "failed" and repo["status"] == "failed" and repo["active_commit"] is None
    marker = next(s for s in repo["steps"] if s["step"] == "marker")
    assert marker["state"] == "failed" and "contains thymis modules" in marker["detail"]
    assert marker["detail"] in client.get("/repositories").get_data(as_text=True).replace("&#34;", '"')

    name, _ = serve(git_server, {"README.md": Symlink("/etc/passwd"), "flake.nix": rb.VALID_FLAKE})
    _, repo = add(api, git_server.url(name), "Symlinked")
    marker = next(s for s in repo["steps"] if s["step"] == "marker")
    assert marker["state"] == "failed" and "symlink" in marker["detail"]


def test_broken_later_commit_keeps_the_good_one_active(api, git_server, tmp_path, client):
    name, server_repo = serve(git_server, tree(rb.valid_repo, tmp_path))
    _, good = add(api, git_server.url(name), "Keeps working", "keeps")
    broken = server_repo.commit({"demo_modules/modules.py": "raise RuntimeError('boom at import')\n"})
    job = wait_for_job(api, api.post("/api/repositories/keeps/refresh").get_json()["job_id"])
    repo = api.get("/api/repositories/keeps").get_json()
    assert job["state"] == "failed"
    assert repo["active_commit"] == good["active_commit"] and repo["fetched_commit"] == broken
    assert repo["last_error"].startswith(f"active: {good['active_commit'][:7]} (ready); "
                                         f"latest: {broken[:7]} failed at modules")
    assert "boom at import" in next(s for s in repo["steps"] if s["step"] == "modules")["detail"]
    assert GREETER in {m["type"] for m in api.get("/api/modules").get_json()}   # still offered
    assert f"latest: {broken[:7]} failed at modules" in client.get("/repositories").get_data(as_text=True)


def test_unchanged_commit_is_not_validated_again(api, git_server, tmp_path):
    name, _ = serve(git_server, tree(rb.valid_repo, tmp_path))
    add(api, git_server.url(name), "Cached", "cached")
    job = wait_for_job(api, api.post("/api/repositories/cached/refresh").get_json()["job_id"])
    assert job["state"] == "succeeded"
    assert "validated before" in job["log"] and "unchanged" in job["log"]


def test_same_package_in_two_repositories_is_refused(api, git_server, tmp_path):
    first, _ = serve(git_server, tree(rb.valid_repo, tmp_path, package="shared_pkg"))
    second, _ = serve(git_server, tree(rb.valid_repo, tmp_path, package="shared_pkg"))
    add(api, git_server.url(first), "First owner")
    job, repo = add(api, git_server.url(second), "Second")
    unique = next(s for s in repo["steps"] if s["step"] == "unique")
    assert job["state"] == "failed" and unique["state"] == "failed"
    assert "shared_pkg" in unique["detail"] and "First owner" in unique["detail"]


def test_pages_keep_serving_while_a_module_hangs(app, api, git_server, tmp_path):
    hang = "import time\nwhile True:\n    time.sleep(0.05)\n"
    name, _ = serve(git_server, tree(rb.single_module_repo, tmp_path, package="hangs_forever", body=hang))
    response = api.post("/api/repositories", json={"url": git_server.url(name), "display_name": "Hangs"})
    job_id = response.get_json()["job_id"]
    answered = 0
    while api.get(f"/api/jobs/{job_id}").get_json()["state"] in ("queued", "running"):
        assert app.test_client().get("/healthz").status_code == 200
        assert api.get("/api/repositories").status_code == 200
        answered += 1
        time.sleep(0.2)
    repo = api.get("/api/repositories/hangs").get_json()
    modules = next(s for s in repo["steps"] if s["step"] == "modules")
    assert modules["state"] == "failed" and "time" in modules["detail"].lower()
    assert answered > 3


def test_external_module_on_a_device_survives_removal_and_return(api, git_server, tmp_path):
    name, _ = serve(git_server, tree(rb.valid_repo, tmp_path))
    add(api, git_server.url(name), "Demo", "demo")
    settings = {"greeting": "moin", "port": 9090, "level": "high", "enable": False}
    created = api.post("/api/devices", json={"name": "pi", "display_name": "Pi",
                                             "modules": [{"type": GREETER, "settings": settings}]})
    assert created.status_code == 201, created.get_json()
    bad = api.patch("/api/devices/pi", json={"modules": [{"type": GREETER, "settings": {"port": "x"}}]})
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "modules[0].settings.port"

    assert api.delete("/api/repositories/demo").status_code == 204
    device = api.get("/api/devices/pi").get_json()
    assert device["modules"][0]["available"] is False
    assert device["warnings"] and "no longer available" in device["warnings"][0]
    # Saving the device again keeps the unavailable module's settings.
    resaved = api.patch("/api/devices/pi", json={"display_name": "Pi 2",
                                                 "modules": [{"type": GREETER, "settings": settings}]})
    assert resaved.status_code == 200

    add(api, git_server.url(name), "Demo", "demo")
    device = api.get("/api/devices/pi").get_json()
    assert device["modules"][0] == {"type": GREETER, "settings": settings, "available": True, "display_name": "Greeter"}
    assert device["warnings"] == []


def test_same_package_added_twice_at_once_activates_only_one(api, git_server, tmp_path):
    """Both validations run at the same time on the two job threads; only one may own the package."""
    files = tree(rb.valid_repo, tmp_path, package="raced_pkg")
    jobs = []
    for label in ("Racer one", "Racer two"):
        name, _ = serve(git_server, files)
        jobs.append(api.post("/api/repositories", json={"url": git_server.url(name), "display_name": label}))
    finished = [wait_for_job(api, r.get_json()["job_id"]) for r in jobs]
    repos = [api.get(f"/api/repositories/{r.get_json()['name']}").get_json() for r in jobs]
    assert sorted(r["status"] for r in repos) == ["failed", "ready"]
    loser = next(r for r in repos if r["status"] == "failed")
    unique = next(s for s in loser["steps"] if s["step"] == "unique")
    assert unique["state"] == "failed" and "raced_pkg" in unique["detail"]
    assert sorted(j["state"] for j in finished) == ["failed", "succeeded"]

"""The JSON API for repositories, against a real git server on loopback."""
import itertools

import pytest

from tests.conftest import wait_for_job
from tests.support.gitserver import closed_port_url

README = "# Demo\nThis repository contains thymis modules.\n"
FLAKE = '{ description = "demo"; outputs = { self }: { }; }\n'
_names = itertools.count()


def new_repo(git_server, files=None):
    name = f"api-demo-{next(_names)}"
    repo = git_server.make_repo(name, files or {"README.md": README, "flake.nix": FLAKE})
    return name, repo


def add(api, url, display_name="Demo", **extra):
    return api.post("/api/repositories", json={"url": url, "display_name": display_name, **extra})


def added_and_fetched(api, url, **extra):
    response = add(api, url, **extra)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    job = wait_for_job(api, body["job_id"])
    return body, job, api.get(f"/api/repositories/{body['name']}").get_json()


def test_add_fetches_the_default_branch(api, git_server, app):
    name, repo = new_repo(git_server)
    body, job, current = added_and_fetched(api, git_server.url(name), display_name="My Modules")
    assert body["name"] == "my-modules" and body["status"] == "pending"
    assert job["state"] == "succeeded", job
    assert current["fetched_commit"] == current["active_commit"] == repo.rev("refs/heads/main")
    assert current["status"] == "ready"
    assert [(s["step"], s["state"]) for s in current["steps"]] == [
        ("fetch", "passed"), ("marker", "passed"), ("flake", "passed"), ("signature", "skipped"), ("modules", "passed"),
        ("unique", "passed")]
    assert current["last_checked_at"].endswith("Z")
    listed = api.get("/api/repositories").get_json()
    assert [r["name"] for r in listed] == ["my-modules"]
    settings = app.config["THYMIS"]
    checkout = settings.checkout_root("my-modules") / current["fetched_commit"]
    assert (checkout / "README.md").read_text() == README


def test_fetch_by_branch_tag_and_commit(api, git_server):
    name, repo = new_repo(git_server)
    first = repo.rev("refs/heads/main")
    repo.tag("v1", message="release 1")
    other = repo.commit({"x.txt": "on a branch"}, branch="feature", start="main")
    second = repo.commit({"y.txt": "later"})
    for ref, expected in (("feature", other), ("v1", first), (first, first), ("main", second)):
        _, job, current = added_and_fetched(api, git_server.url(name), display_name=f"ref {ref[:10]}", ref=ref)
        assert job["state"] == "succeeded", job
        assert current["fetched_commit"] == expected, ref
        assert current["ref"] == ref


def test_refresh_picks_up_a_new_commit(api, git_server):
    name, repo = new_repo(git_server)
    body, _, current = added_and_fetched(api, git_server.url(name))
    newer = repo.commit({"more.txt": "more"})
    response = api.post(f"/api/repositories/{body['name']}/refresh")
    assert response.status_code == 202
    assert wait_for_job(api, response.get_json()["job_id"])["state"] == "succeeded"
    fetched = api.get(f"/api/repositories/{body['name']}").get_json()["fetched_commit"]
    assert fetched == newer != current["fetched_commit"]


def test_unknown_ref_fails_with_its_name_and_keeps_the_previous_commit(api, git_server):
    name, repo = new_repo(git_server)
    body, _, current = added_and_fetched(api, git_server.url(name))
    response = api.patch(f"/api/repositories/{body['name']}",
                         json={"ref": "no-such-branch", "confirm_unknown_ref": True})  # Save would ask first
    assert response.status_code == 200
    job = wait_for_job(api, response.get_json()["job_id"])
    assert job["state"] == "failed" and "no-such-branch" in job["error"]
    after = api.get(f"/api/repositories/{body['name']}").get_json()
    assert after["status"] == "failed"
    assert after["fetched_commit"] == current["fetched_commit"]
    assert after["steps"][0]["state"] == "failed" and "no-such-branch" in after["steps"][0]["detail"]


def test_unreachable_host_fails_clearly(api):
    _, job, current = added_and_fetched(api, closed_port_url("gone"))
    assert job["state"] == "failed"
    assert current["status"] == "failed" and current["fetched_commit"] is None
    assert current["last_error"].startswith("fetch failed:")


def test_patch_changes_display_name_without_refetching(api, git_server):
    name, _ = new_repo(git_server)
    body, _, _ = added_and_fetched(api, git_server.url(name))
    response = api.patch(f"/api/repositories/{body['name']}", json={"display_name": "Renamed"})
    assert response.status_code == 200
    assert response.get_json()["display_name"] == "Renamed"
    assert response.get_json()["job_id"] is None


def test_delete_removes_row_and_fetched_data(api, git_server, app):
    name, _ = new_repo(git_server)
    body, _, _ = added_and_fetched(api, git_server.url(name))
    settings = app.config["THYMIS"]
    assert settings.mirror_path(body["name"]).exists()
    assert api.delete(f"/api/repositories/{body['name']}").status_code == 204
    assert api.get(f"/api/repositories/{body['name']}").status_code == 404
    assert not settings.mirror_path(body["name"]).exists()
    assert not settings.checkout_root(body["name"]).exists()


def test_a_repository_removed_from_the_server_fails_on_refresh(api, git_server):
    name, _ = new_repo(git_server)
    body, _, current = added_and_fetched(api, git_server.url(name))
    git_server.remove_repo(name)
    job = wait_for_job(api, api.post(f"/api/repositories/{body['name']}/refresh").get_json()["job_id"])
    assert job["state"] == "failed"
    assert api.get(f"/api/repositories/{body['name']}").get_json()["fetched_commit"] == current["fetched_commit"]


@pytest.mark.parametrize("payload, field, fragment", [
    ({"display_name": "x"}, "url", "URL is required"),
    ({"url": "https://example.org/r.git"}, "display_name", "display name is required"),
    ({"url": "ftp://example.org/r.git", "display_name": "x"}, "url", ""),
    ({"url": "https://example.org/r.git", "display_name": "x", "name": "1bad"}, "name", "must start with a letter"),
    ({"url": "https://example.org/r.git", "display_name": "x", "name": "nixpkgs"}, "name", "reserved"),
    ({"url": "https://example.org/r.git", "display_name": "x", "ref": "bad..ref"}, "ref", ""),
    ({"url": "https://example.org/r.git", "display_name": "x", "colour": "red"}, "colour", "unknown field"),
    ({"url": 5, "display_name": "x"}, "url", "must be a string"),
])
def test_invalid_input_is_422_naming_the_field_and_stores_nothing(api, payload, field, fragment):
    response = api.post("/api/repositories", json=payload)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["field"] == field
    assert fragment in error["message"] and error["message"]
    assert api.get("/api/repositories").get_json() == []


def test_body_must_be_json(api):
    response = api.post("/api/repositories", data="url=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_json"


def test_duplicate_input_name_is_a_409(api, git_server):
    name, _ = new_repo(git_server)
    assert add(api, git_server.url(name), name="same").status_code == 201
    response = add(api, git_server.url(name), name="same")
    assert response.status_code == 409
    assert response.get_json()["error"]["field"] == "name"
    assert len(api.get("/api/repositories").get_json()) == 1


def test_derived_names_are_made_unique(api, git_server):
    name, _ = new_repo(git_server)
    first = add(api, git_server.url(name), display_name="Same Name").get_json()
    second = add(api, git_server.url(name), display_name="Same Name").get_json()
    assert (first["name"], second["name"]) == ("same-name", "same-name-2")


def test_unknown_repository_is_404(api):
    for method in ("get", "patch", "delete"):
        response = getattr(api, method)("/api/repositories/nothing", json={})
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
    assert api.post("/api/repositories/nothing/refresh").status_code == 404


def test_input_name_cannot_be_changed(api, git_server):
    name, _ = new_repo(git_server)
    body = add(api, git_server.url(name)).get_json()
    response = api.patch(f"/api/repositories/{body['name']}", json={"name": "other"})
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "name"


def test_credentials_in_url_never_show_up(api, git_server):
    name, _ = new_repo(git_server)
    response = add(api, git_server.url(name).replace("http://", "http://user:s3cr3t-token@"))
    body = response.get_data(as_text=True)
    assert response.status_code == 201 and "s3cr3t-token" not in body
    listed = api.get("/api/repositories").get_data(as_text=True)
    assert "s3cr3t-token" not in listed


def test_many_refreshes_keep_the_mirror_small(api, git_server, app):
    from pipeline.fetch import FETCHED_PREFIX, open_mirror
    from pipeline.mirror_gc import MAX_PACKS
    name, repo = new_repo(git_server)
    body, _, _ = added_and_fetched(api, git_server.url(name))
    for number in range(MAX_PACKS + 3):
        repo.commit({"change.txt": f"change {number}"})
        job = wait_for_job(api, api.post(f"/api/repositories/{body['name']}/refresh").get_json()["job_id"])
        assert job["state"] == "succeeded", job
    current = api.get(f"/api/repositories/{body['name']}").get_json()
    mirror = open_mirror(app.config["THYMIS"].mirror_path(body["name"]))
    try:
        refs = [ref for ref in mirror.refs.keys() if ref.startswith(FETCHED_PREFIX)]
        assert refs == [FETCHED_PREFIX + current["active_commit"].encode()]
        assert len(list(mirror.object_store.packs)) <= MAX_PACKS
        assert current["active_commit"].encode() in mirror.object_store
    finally:
        mirror.close()
    checkouts = app.config["THYMIS"].checkout_root(body["name"])
    assert [p.name for p in checkouts.iterdir()] == [current["active_commit"]]


def test_a_refused_tree_fails_the_fetch_instead_of_hanging_in_fetching(api, git_server):
    name, _ = new_repo(git_server, {"README.md": README, "flake.nix": FLAKE, ".GIT/config": "[core]\n"})
    _, job, current = added_and_fetched(api, git_server.url(name))
    assert job["state"] == "failed"
    assert current["status"] == "failed" and ".GIT" in current["last_error"]
    assert current["steps"] == [{"step": "fetch", "state": "failed", "detail": job["error"]}]
    again = wait_for_job(api, api.post(f"/api/repositories/{current['name']}/refresh").get_json()["job_id"])
    assert again["state"] == "failed"

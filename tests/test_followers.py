"""Devices and tags that follow a repository (issue 17): a new active commit (here from a webhook) starts their
builds, or deploys for "deploy automatically", observed through the job list; an unchanged commit starts none."""
from tests.conftest import wait_for_job
from tests.test_webhooks import HOOK, add_repository, headers, new_commit, push_body


def jobs_of(api, subject: str, kind: str) -> list[dict]:
    return api.get(f"/api/jobs?kind={kind}&subject={subject}").get_json()


def make_fleet(api):
    assert api.post("/api/tags", json={"name": "lab", "display_name": "Lab"}).status_code == 201
    for name, tags in (("follows", []), ("in-lab", ["lab"]), ("alone", [])):
        response = api.post("/api/devices", json={"name": name, "display_name": name, "tags": tags,
                                                  "target": "ssh://root@127.0.0.1:1"})
        assert response.status_code == 201, response.get_json()


def test_followers_build_or_deploy_when_a_new_commit_becomes_active(app, api, git_server):
    name, server = add_repository(api, git_server)
    make_fleet(api)
    wanted = [{"kind": "device", "name": "follows"}, {"kind": "tag", "name": "lab", "deploy": True}]
    response = api.put(f"/api/repositories/{name}/followers", json={"followers": wanted})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"followers": [{"kind": "device", "name": "follows", "deploy": False},
                                                 {"kind": "tag", "name": "lab", "deploy": True}]}
    assert api.get(f"/api/repositories/{name}/followers").get_json() == response.get_json()

    # A refresh that finds the same commit: nothing follows.
    refresh = api.post(f"/api/repositories/{name}/refresh").get_json()["job_id"]
    wait_for_job(api, refresh)
    assert jobs_of(api, "follows", "build") == [] and jobs_of(api, "tag:lab", "deploy-tag") == []

    new_commit(server)
    body = push_body("github")
    hook = app.test_client(use_cookies=False).post(HOOK.format(name), data=body, headers=headers("github", body))
    assert hook.status_code == 202
    fetch = wait_for_job(api, hook.get_json()["job_id"])
    assert fetch["state"] == "succeeded" and "follow this repository" in fetch["log"]
    [build] = jobs_of(api, "follows", "build")
    [tag_deploy] = jobs_of(api, "tag:lab", "deploy-tag")
    assert f"follows: build: job {build['id']}" in fetch["log"]
    assert f"tag lab: deploy: job {tag_deploy['id']}" in fetch["log"]
    # They ran (and failed here: no thymis flake is configured in the tests, so nothing is switched).
    assert "no thymis flake" in wait_for_job(api, build["id"])["error"]
    wait_for_job(api, tag_deploy["id"])
    assert jobs_of(api, "alone", "build") == [] and jobs_of(api, "in-lab", "build") == []


def test_unknown_followers_are_refused_naming_the_entry(api, git_server):
    name, _ = add_repository(api, git_server, secret=None)
    make_fleet(api)
    response = api.put(f"/api/repositories/{name}/followers",
                       json={"followers": [{"kind": "device", "name": "follows"}, {"kind": "tag", "name": "nope"}]})
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "followers[1].name"
    assert api.get(f"/api/repositories/{name}/followers").get_json() == {"followers": []}


def test_followers_page(client, api, git_server):
    name, _ = add_repository(api, git_server, secret=None)
    make_fleet(api)
    page = client.get(f"/repositories/{name}/followers").get_data(as_text=True)
    assert 'name="device:follows"' in page and 'name="tag:lab"' in page
    response = client.post(f"/repositories/{name}/followers", data={
        "csrf_token": client.csrf, "device:follows": "deploy", "device:alone": "none", "tag:lab": "build"})
    assert response.status_code == 302
    assert api.get(f"/api/repositories/{name}/followers").get_json() == {"followers": [
        {"kind": "device", "name": "follows", "deploy": True}, {"kind": "tag", "name": "lab", "deploy": False}]}
    page = client.get(f"/repositories/{name}/followers").get_data(as_text=True)
    assert '<option value="deploy" selected>' in page


def test_an_approved_commit_starts_the_followers(api, git_server):
    name, server = add_repository(api, git_server, secret=None, review="required")
    make_fleet(api)
    assert api.put(f"/api/repositories/{name}/followers",
                   json={"followers": [{"kind": "device", "name": "alone"}]}).status_code == 200
    candidate = api.get(f"/api/repositories/{name}").get_json()["candidate_commit"]
    assert candidate and jobs_of(api, "alone", "build") == []  # awaiting review: not active yet
    assert api.post(f"/api/repositories/{name}/approve", json={"commit": candidate}).status_code == 200
    [build] = jobs_of(api, "alone", "build")
    wait_for_job(api, build["id"])


def test_cli_follow_list_and_remove(app, api, git_server):
    name, _ = add_repository(api, git_server, secret=None)
    make_fleet(api)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["repos", "follow", name, "--device", "follows", "--tag", "lab", "--deploy"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["device\tfollows\tdeploy", "tag\tlab\tdeploy"]
    assert runner.invoke(args=["repos", "follow", name, "--tag", "lab", "--remove"]).output.splitlines() == [
        "device\tfollows\tdeploy"]
    result = runner.invoke(args=["repos", "follow", name, "--device", "nope"])
    assert result.exit_code == 1 and "no device named 'nope'" in result.output
    assert runner.invoke(args=["repos", "follow", name]).output.splitlines() == ["device\tfollows\tdeploy"]

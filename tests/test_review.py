"""Review before activation (review: required): candidate, diff, approve, reject, through JSON, the page and
the CLI, against a real git server."""
import itertools

from tests.conftest import csrf_from, wait_for_job

README = "# Demo\nThis repository contains thymis modules.\n"
FLAKE = '{ description = "demo"; outputs = { self }: { }; }\n'
FILES = {"README.md": README, "flake.nix": FLAKE}
_names = itertools.count()


def served(git_server):
    name = f"reviewed-{next(_names)}"
    return name, git_server.make_repo(name, FILES)


def add(api, git_server, name, **extra):
    response = api.post("/api/repositories", json={"url": git_server.url(name), "display_name": name, **extra})
    assert response.status_code == 201, response.get_json()
    job = wait_for_job(api, response.get_json()["job_id"])
    return job, api.get(f"/api/repositories/{response.get_json()['name']}").get_json()


def refresh(api, name):
    response = api.post(f"/api/repositories/{name}/refresh")
    assert response.status_code == 202
    return wait_for_job(api, response.get_json()["job_id"])


def test_default_policy_is_auto_and_activates_at_once(api, git_server):
    name, server = served(git_server)
    _, repo = add(api, git_server, name)
    assert repo["review"] == "auto" and repo["candidate_commit"] is None
    assert repo["active_commit"] == server.rev("refs/heads/main") and repo["status"] == "ready"


def test_required_review_holds_a_passing_commit_until_approved(api, git_server, token):
    name, server = served(git_server)
    job, repo = add(api, git_server, name, review="required")
    first = server.rev("refs/heads/main")
    assert job["state"] == "succeeded"
    assert repo["status"] == "awaiting_review" and repo["active_commit"] is None and repo["candidate_commit"] == first
    assert api.get("/api/modules").status_code == 200
    response = api.post(f"/api/repositories/{repo['name']}/approve", json={"commit": "0" * 40})
    assert response.status_code == 409 and response.get_json()["error"]["field"] == "commit"
    assert api.get(f"/api/repositories/{repo['name']}").get_json()["active_commit"] is None
    response = api.post(f"/api/repositories/{repo['name']}/approve", json={"commit": first})
    assert response.status_code == 200, response.get_json()
    approved = response.get_json()
    assert approved["active_commit"] == first and approved["status"] == "ready" and approved["candidate_commit"] is None
    # Approving again: nothing awaits review any more.
    assert api.post(f"/api/repositories/{repo['name']}/approve", json={"commit": first}).status_code == 409
    assert api.get(f"/api/repositories/{repo['name']}/candidate").status_code == 404


def test_candidate_shows_what_changes_and_reject_keeps_the_active_commit(api, git_server):
    name, server = served(git_server)
    _, repo = add(api, git_server, name)
    first = repo["active_commit"]
    assert api.patch(f"/api/repositories/{repo['name']}", json={"review": "required"}).status_code == 200
    second = server.commit({"flake.nix": FLAKE.replace("demo", "demo two"), "tools/helper.py": "X = 1\n",
                            "logo.png": b"\x89PNG\r\n\x1a\n\0\0binary", "README.md": README + "more\n"},
                           "Second version\n\nWith a helper.")
    assert refresh(api, repo["name"])["state"] == "succeeded"
    current = api.get(f"/api/repositories/{repo['name']}").get_json()
    assert current["status"] == "awaiting_review" and current["active_commit"] == first
    assert current["candidate_commit"] == second
    candidate = api.get(f"/api/repositories/{repo['name']}/candidate").get_json()
    assert candidate["commit"] == second and candidate["active_commit"] == first
    [commit] = candidate["commits"]
    assert commit["message"] == "Second version\n\nWith a helper." and commit["author"] == "T <t@example.com>"
    assert commit["signature"] == {"state": "skipped", "detail": "skipped: no allowed signers set"}
    files = {f["path"]: f for f in candidate["files"]}
    assert sorted(files) == ["README.md", "flake.nix", "logo.png", "tools/helper.py"]
    assert files["flake.nix"]["highlighted"] and files["flake.nix"]["kind"] == "flake"
    assert '-{ description = "demo";' in files["flake.nix"]["diff"]
    assert '+{ description = "demo two";' in files["flake.nix"]["diff"]
    assert files["tools/helper.py"] == {"path": "tools/helper.py", "change": "added", "kind": "python",
                                        "highlighted": True, "binary": False,
                                        "diff": "--- a/tools/helper.py\n+++ b/tools/helper.py\n@@ -0,0 +1 @@\n+X = 1\n"}
    assert files["logo.png"]["binary"] and files["logo.png"]["diff"] is None
    assert not files["README.md"]["highlighted"] and "+more" in files["README.md"]["diff"]
    assert candidate["modules"] == {"added": [], "removed": [], "changed": []}

    response = api.post(f"/api/repositories/{repo['name']}/reject", json={"commit": second})
    assert response.status_code == 200
    after = response.get_json()
    assert after["active_commit"] == first and after["status"] == "ready" and after["candidate_commit"] is None
    assert f"{second[:7]} was rejected" in after["last_error"]
    # Remembered: the same commit is not offered again.
    assert refresh(api, repo["name"])["state"] == "succeeded"
    again = api.get(f"/api/repositories/{repo['name']}").get_json()
    assert again["status"] == "ready" and again["candidate_commit"] is None and again["active_commit"] == first
    assert api.get(f"/api/repositories/{repo['name']}/candidate").status_code == 404


def test_decisions_record_who_and_when(api, git_server, client):
    name, server = served(git_server)
    _, repo = add(api, git_server, name, review="required")
    first = repo["candidate_commit"]
    assert api.post(f"/api/repositories/{repo['name']}/approve", json={"commit": first}).status_code == 200
    second = server.commit({"x.txt": "x"})
    refresh(api, repo["name"])
    decisions = api.get(f"/api/repositories/{repo['name']}/candidate").get_json()["decisions"]
    assert [(d["commit"], d["decision"], d["decided_by"]) for d in decisions] == [(first, "approved", "token:tests")]
    assert decisions[0]["decided_at"].endswith("Z")
    # The repository page shows the candidate with Approve and Reject (CSRF-protected forms).
    page = client.get(f"/repositories/{repo['name']}/review").get_data(as_text=True)
    assert second[:12] in page and "x.txt" in page and "Approve" in page and "Reject" in page
    assert client.post(f"/repositories/{repo['name']}/reject", data={"commit": second}).status_code == 400
    response = client.post(f"/repositories/{repo['name']}/reject",
                           data={"commit": second, "csrf_token": csrf_from(page)})
    assert response.status_code == 302
    after = api.get(f"/api/repositories/{repo['name']}").get_json()
    assert after["active_commit"] == first and after["candidate_commit"] is None


def test_bad_review_policy_and_missing_commit(api, git_server):
    response = api.post("/api/repositories", json={"url": git_server.url("x"), "display_name": "X", "review": "maybe"})
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "review"
    name, _ = served(git_server)
    _, repo = add(api, git_server, name, review="required")
    response = api.post(f"/api/repositories/{repo['name']}/approve", json={})
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "commit"
    assert api.post("/api/repositories/nothing-here/approve", json={"commit": "a" * 40}).status_code == 404


def test_cli_sets_the_policy(app, api, git_server):
    name, server = served(git_server)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["repos", "add", git_server.url(name), "--display-name", name, "--review", "required"])
    assert result.exit_code == 0, result.output
    assert f"{name}: awaiting_review {server.rev('refs/heads/main')}" in result.output
    assert api.get(f"/api/repositories/{name}").get_json()["review"] == "required"
    result = runner.invoke(args=["repos", "review", name, "auto"])
    assert result.exit_code == 0 and f"{name}: review auto" in result.output
    assert api.get(f"/api/repositories/{name}").get_json()["review"] == "auto"
    assert runner.invoke(args=["repos", "review", name, "sometimes"]).exit_code != 0


def test_add_and_edit_pages_set_the_policy(client, api, git_server):
    name, _ = served(git_server)
    page = client.get("/repositories").get_data(as_text=True)
    assert 'name="review"' in page
    response = client.post("/repositories", data={"csrf_token": csrf_from(page), "url": git_server.url(name),
                                                  "display_name": name, "review": "required"})
    assert response.status_code in (200, 302)
    repo = api.get(f"/api/repositories/{name}").get_json()
    assert repo["review"] == "required"
    edit = client.get(f"/repositories/{name}/edit").get_data(as_text=True)
    assert '<option value="required" selected>' in edit
    response = client.post(f"/repositories/{name}/edit", data={
        "csrf_token": csrf_from(edit), "display_name": name, "url": repo["url"], "ref": "", "review": "auto"})
    assert response.status_code == 302
    assert api.get(f"/api/repositories/{name}").get_json()["review"] == "auto"

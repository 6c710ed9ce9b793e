"""Signed commits: a repository's allowed signers, checked by the signature step with ssh-keygen -Y verify.

Real signatures (git commit-tree -S with gpg.format=ssh, i.e. ssh-keygen -Y sign) on a real git server."""
import itertools
import subprocess

import pytest

from tests.conftest import csrf_from, wait_for_job
from tests.support.git import ssh_signing_key

README = "# Demo\nThis repository contains thymis modules.\n"
FLAKE = '{ description = "demo"; outputs = { self }: { }; }\n'
FILES = {"README.md": README, "flake.nix": FLAKE}
_names = itertools.count()


@pytest.fixture
def keys(tmp_path):
    alice, alice_public = ssh_signing_key(tmp_path / "alice", "alice@example.com")
    mallory, mallory_public = ssh_signing_key(tmp_path / "mallory", "mallory@example.com")
    return {"alice": alice, "alice_line": f"alice@example.com {alice_public}", "mallory": mallory,
            "mallory_line": f"mallory@example.com {mallory_public}"}


def fingerprint(public_key_file):
    return subprocess.run(["ssh-keygen", "-lf", str(public_key_file)], capture_output=True, text=True,
                          check=True).stdout.split()[1]


def served(git_server, keys, sign_with="alice"):
    name = f"signed-{next(_names)}"
    repo = git_server.make_repo(name)
    commit = repo.signed_commit(FILES, keys[sign_with]) if sign_with else repo.commit(FILES)
    return name, repo, commit


def add(api, git_server, name, signers):
    response = api.post("/api/repositories", json={"url": git_server.url(name), "display_name": name,
                                                   "allowed_signers": signers})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    job = wait_for_job(api, body["job_id"])
    return job, api.get(f"/api/repositories/{body['name']}").get_json()


def step(repo, name="signature"):
    return next(s for s in repo["steps"] if s["step"] == name)


def test_a_commit_signed_by_an_allowed_signer_becomes_active(api, git_server, keys, tmp_path):
    name, _, commit = served(git_server, keys)
    job, repo = add(api, git_server, name, keys["alice_line"])
    assert job["state"] == "succeeded", job
    assert repo["active_commit"] == commit and repo["status"] == "ready"
    assert step(repo) == {"step": "signature", "state": "passed",
                          "detail": f"signed by alice@example.com ({fingerprint(tmp_path / 'alice.pub')})"}
    assert repo["allowed_signers"] == keys["alice_line"]
    assert [s["step"] for s in repo["steps"]] == ["fetch", "marker", "flake", "signature", "modules", "unique"]


def test_unsigned_commit_fails_and_is_never_activated(api, git_server, keys):
    name, _, commit = served(git_server, keys, sign_with=None)
    job, repo = add(api, git_server, name, keys["alice_line"])
    assert job["state"] == "failed"
    assert repo["active_commit"] is None and repo["fetched_commit"] == commit and repo["status"] == "failed"
    assert step(repo) == {"step": "signature", "state": "failed", "detail": "unsigned: the commit has no signature"}
    # No code of an unverified commit runs, not even in the sandbox.
    assert step(repo, "modules") == {"step": "modules", "state": "skipped",
                                     "detail": "skipped: the signature step failed"}
    assert "signature" in repo["last_error"] and "unsigned" in repo["last_error"]


def test_commit_signed_by_another_key_names_its_fingerprint(api, git_server, keys, tmp_path):
    name, _, _ = served(git_server, keys, sign_with="mallory")
    job, repo = add(api, git_server, name, keys["alice_line"])
    assert job["state"] == "failed" and repo["active_commit"] is None
    assert step(repo)["detail"] == f"signed by an unknown key {fingerprint(tmp_path / 'mallory.pub')}"


def test_a_changed_commit_carrying_the_old_signature_is_a_bad_signature(api, git_server, keys):
    name, repo_on_server, signed = served(git_server, keys)
    repo_on_server.tampered(signed, "not what alice signed")
    job, repo = add(api, git_server, name, keys["alice_line"])
    assert job["state"] == "failed" and repo["active_commit"] is None
    assert step(repo)["state"] == "failed" and step(repo)["detail"].startswith("bad signature")


def test_a_failing_commit_keeps_the_previous_active_one(api, git_server, keys):
    name, server_repo, good = served(git_server, keys)
    _, repo = add(api, git_server, name, keys["alice_line"])
    assert repo["active_commit"] == good
    bad = server_repo.signed_commit({"more.txt": "x"}, keys["mallory"])
    response = api.post(f"/api/repositories/{repo['name']}/refresh")
    assert wait_for_job(api, response.get_json()["job_id"])["state"] == "failed"
    after = api.get(f"/api/repositories/{repo['name']}").get_json()
    assert after["active_commit"] == good and after["fetched_commit"] == bad
    assert after["last_error"].startswith(f"active: {good[:7]} (ready); latest: {bad[:7]} failed at signature")


def test_without_allowed_signers_the_step_is_skipped(api, git_server, keys):
    name, _, commit = served(git_server, keys, sign_with=None)
    job, repo = add(api, git_server, name, "")
    assert job["state"] == "succeeded" and repo["active_commit"] == commit
    assert step(repo) == {"step": "signature", "state": "skipped", "detail": "skipped: no allowed signers set"}
    assert repo["allowed_signers"] == ""


def test_setting_signers_checks_the_commit_again(api, git_server, keys):
    name, _, commit = served(git_server, keys)
    _, repo = add(api, git_server, name, "")
    response = api.patch(f"/api/repositories/{repo['name']}", json={"allowed_signers": keys["mallory_line"]})
    assert response.status_code == 200 and response.get_json()["job_id"]
    assert wait_for_job(api, response.get_json()["job_id"])["state"] == "failed"
    assert step(api.get(f"/api/repositories/{repo['name']}").get_json())["detail"].startswith(
        "signed by an unknown key")
    response = api.patch(f"/api/repositories/{repo['name']}",
                         json={"allowed_signers": keys["mallory_line"] + "\n" + keys["alice_line"]})
    assert wait_for_job(api, response.get_json()["job_id"])["state"] == "succeeded"
    after = api.get(f"/api/repositories/{repo['name']}").get_json()
    assert after["active_commit"] == commit and step(after)["state"] == "passed"


@pytest.mark.parametrize("text, message", [
    ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB", "line 1: the line must start with the signer's principal"),
    ("alice@example.com AAAA", "line 1: no SSH public key type"),
    ("alice@example.com ssh-ed25519 !!!", "line 1: the key is not valid base64"),
    ("# ok\nalice@example.com ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIA==", "line 2: the key does not match its key type"),
    ("-----BEGIN PGP PUBLIC KEY BLOCK-----\nxx\n-----END PGP PUBLIC KEY BLOCK-----",
     "lines 1-3: gpg cannot read this block as an OpenPGP public key"),
])
def test_bad_allowed_signers_are_refused_with_the_line(api, git_server, text, message):
    response = api.post("/api/repositories", json={"url": git_server.url("nothing"), "display_name": "Bad signers",
                                                   "allowed_signers": text})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["field"] == "allowed_signers" and message in error["message"], error
    assert api.get("/api/repositories").get_json() == []


def test_the_edit_page_shows_and_saves_the_signers(client, api, git_server, keys):
    name, _, _ = served(git_server, keys)
    _, repo = add(api, git_server, name, "")
    page = client.get(f"/repositories/{repo['name']}/edit").get_data(as_text=True)
    assert 'name="allowed_signers"' in page
    response = client.post(f"/repositories/{repo['name']}/edit", data={
        "csrf_token": csrf_from(page), "display_name": repo["display_name"], "url": repo["url"], "ref": "",
        "allowed_signers": "nobody ssh-ed25519 !!!"})
    assert response.status_code == 422
    assert "the key is not valid base64" in response.get_data(as_text=True)
    response = client.post(f"/repositories/{repo['name']}/edit", data={
        "csrf_token": csrf_from(page), "display_name": repo["display_name"], "url": repo["url"], "ref": "",
        "allowed_signers": keys["alice_line"]})
    assert response.status_code == 302
    assert api.get(f"/api/repositories/{repo['name']}").get_json()["allowed_signers"] == keys["alice_line"]
    page = client.get(f"/repositories/{repo['name']}/edit").get_data(as_text=True)
    assert keys["alice_line"].split()[2] in page

"""Private repositories over SSH against a real sshd: deploy keys, the host SSH key, host keys on first use."""
import itertools
import logging
import os
import stat

from tests.conftest import wait_for_job

README = "# Demo\nThis repository contains thymis modules.\n"
FLAKE = '{ outputs = { self }: { }; }\n'
_names = itertools.count()


def new_repo(git_server, sshd):
    name = f"ssh-demo-{next(_names)}"
    repo = git_server.make_repo(name, {"README.md": README, "flake.nix": FLAKE})
    return sshd.url(git_server.root / f"{name}.git"), repo


def refresh(api, name):
    response = api.post(f"/api/repositories/{name}/refresh")
    assert response.status_code == 202, response.get_json()
    return wait_for_job(api, response.get_json()["job_id"])


def stored_private_key(app, name):
    from models import Repository, RepositoryAccess, database
    from repos.vault import decrypt
    with database.connection_context():
        row = RepositoryAccess.get(RepositoryAccess.repository == Repository.get(Repository.name == name).id)
        return decrypt(app.config["THYMIS"], row.deploy_private_key)


def test_deploy_key_fetch_host_key_on_first_use_change_and_reset(api, app, git_server, sshd, caplog):
    caplog.set_level(logging.DEBUG)
    url, repo = new_repo(git_server, sshd)
    outputs = []

    def record(response):
        outputs.append(response.get_data(as_text=True))
        return response.get_json()

    created = api.post("/api/repositories", json={"display_name": "Over SSH", "url": url,
                                                  "access": {"kind": "ssh-deploy-key"}})
    assert created.status_code == 201, created.get_json()
    body = record(created)
    name, public_key = body["name"], body["access"]["public_key"]
    assert body["access"]["kind"] == "ssh-deploy-key" and public_key.startswith("ssh-ed25519 ")
    assert record(api.get(f"/api/repositories/{name}/deploy-key"))["public_key"] == public_key

    # Not authorized yet: authentication fails, but the host key was seen and recorded (trust on first use).
    job = wait_for_job(api, body["job_id"])
    outputs.append(job["log"] + (job["error"] or ""))
    assert job["state"] == "failed" and "authentication failed" in job["error"], job
    host_keys = record(api.get(f"/api/repositories/{name}"))["access"]["host_keys"]
    assert [k["fingerprint"] for k in host_keys] == [sshd.fingerprint]
    assert host_keys[0]["source"] == "first use" and host_keys[0]["recorded_by"] == name

    sshd.authorize(public_key)
    job = refresh(api, name)
    outputs.append(job["log"])
    assert job["state"] == "succeeded", job
    current = record(api.get(f"/api/repositories/{name}"))
    assert current["fetched_commit"] == repo.rev("refs/heads/main")

    tested = record(api.post(f"/api/repositories/{name}/test-connection"))
    assert tested["ok"] and tested["commit"] == current["fetched_commit"], tested
    assert tested["ref"] == "refs/heads/main" and tested["host_key"]["status"] == "recorded"

    # The server is reinstalled: its new host key is refused, the old fingerprint stays on record.
    old = sshd.fingerprint
    sshd.replace_host_key()
    job = refresh(api, name)
    outputs.append(job["log"] + job["error"])
    assert job["state"] == "failed" and job["error"].startswith("host key changed"), job
    assert old in job["error"] and sshd.fingerprint in job["error"]
    failed = record(api.get(f"/api/repositories/{name}"))
    assert [k["fingerprint"] for k in failed["access"]["host_keys"]] == [old]
    assert failed["last_error"].startswith("fetch failed: host key changed")
    assert failed["fetched_commit"] == current["fetched_commit"]
    tested = record(api.post(f"/api/repositories/{name}/test-connection"))
    assert not tested["ok"] and tested["reason"] == "host key changed"

    # The operator resets the entry: the next fetch trusts the new key on first use again.
    assert api.delete(f"/api/known-hosts/127.0.0.1?port={sshd.port}").status_code == 204
    job = refresh(api, name)
    assert job["state"] == "succeeded", job
    after = record(api.get(f"/api/repositories/{name}"))
    assert [k["fingerprint"] for k in after["access"]["host_keys"]] == [sshd.fingerprint]

    # The private key showed up nowhere, and no key file outlived its fetch.
    secret = stored_private_key(app, name)
    body_lines = [line for line in secret.splitlines() if line and not line.startswith("-----")]
    settings = app.config["THYMIS"]
    mirror_config = (settings.mirror_path(name) / "config").read_text()
    for text in [*outputs, caplog.text, mirror_config, sshd.log_path.read_text()]:
        for line in body_lines:
            assert line not in text
    assert list((settings.project_path / "tmp").iterdir()) == []
    database_bytes = b"".join(p.read_bytes() for p in settings.project_path.glob("controller.sqlite3*"))
    assert all(line.encode() not in database_bytes for line in body_lines)
    assert public_key.split()[1].encode() in database_bytes  # the public half is stored as it is


def test_another_key_fails_with_authentication_failed(api, git_server, sshd):
    url, _ = new_repo(git_server, sshd)
    body = api.post("/api/repositories", json={"display_name": "Other key", "url": url,
                                               "access": {"kind": "ssh-deploy-key"}}).get_json()
    wait_for_job(api, body["job_id"])
    sshd.authorize(body["access"]["public_key"])
    replaced = api.post(f"/api/repositories/{body['name']}/deploy-key")
    assert replaced.status_code == 201 and replaced.get_json()["public_key"] != body["access"]["public_key"]
    job = refresh(api, body["name"])
    assert job["state"] == "failed" and job["error"].startswith("authentication failed"), job
    assert "deploy key" in job["error"] and replaced.get_json()["fingerprint"] in job["error"]


def test_host_ssh_key_is_created_in_the_data_folder_and_used(api, app, git_server, sshd):
    url, repo = new_repo(git_server, sshd)
    host_key = api.get("/api/host-ssh-key").get_json()
    key_file = app.config["THYMIS"].project_path / "ssh" / "id_ed25519"
    assert host_key["path"] == str(key_file) and stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    sshd.authorize(host_key["public_key"])
    body = api.post("/api/repositories", json={"display_name": "Host key", "url": url,
                                               "access": {"kind": "host-ssh-key"}}).get_json()
    assert body["access"] == {"kind": "host-ssh-key", "host_keys": []}
    job = wait_for_job(api, body["job_id"])
    assert job["state"] == "succeeded", job
    assert api.get(f"/api/repositories/{body['name']}").get_json()["fetched_commit"] == repo.rev("refs/heads/main")


def test_preseeded_host_key_is_required_from_the_start(api, git_server, sshd):
    url, _ = new_repo(git_server, sshd)
    added = api.post("/api/known-hosts", json={"lines": f"# from ssh-keyscan\n{sshd.host_key_line}\n"})
    assert added.status_code == 201, added.get_json()
    assert added.get_json()[0]["fingerprint"] == sshd.fingerprint and added.get_json()[0]["source"] == "operator"
    listed = api.get("/api/known-hosts").get_json()
    assert [(k["host"], k["port"]) for k in listed] == [("127.0.0.1", sshd.port)]

    host_key = api.get("/api/host-ssh-key").get_json()
    sshd.authorize(host_key["public_key"])
    sshd.replace_host_key()  # the pre-seeded key is not what the server presents now
    result = api.post("/api/test-connection", json={"url": url, "access": {"kind": "host-ssh-key"}}).get_json()
    assert not result["ok"] and result["reason"] == "host key changed", result
    conflict = api.post("/api/known-hosts", json={"lines": sshd.host_key_line})
    assert conflict.status_code == 409 and conflict.get_json()["error"]["code"] == "conflict"


def test_connection_test_reports_a_new_host_key_without_recording_it(api, git_server, sshd):
    url, repo = new_repo(git_server, sshd)
    sshd.authorize(api.get("/api/host-ssh-key").get_json()["public_key"])
    result = api.post("/api/test-connection", json={"url": url, "access": {"kind": "host-ssh-key"}}).get_json()
    assert result["ok"] and result["commit"] == repo.rev("refs/heads/main"), result
    assert result["host_key"]["status"] == "new"
    assert result["host_key"]["keys"] == [{"key_type": "ssh-ed25519", "fingerprint": sshd.fingerprint}]
    assert api.get("/api/known-hosts").get_json() == []
    unsaved_deploy_key = api.post("/api/test-connection", json={"url": url, "access": {"kind": "ssh-deploy-key"}})
    assert unsaved_deploy_key.status_code == 422
    missing = api.post("/api/test-connection", json={"url": url.replace("/ssh-demo-", "/no-such-"),
                                                     "access": {"kind": "host-ssh-key"}}).get_json()
    assert not missing["ok"] and missing["reason"] == "repository not found", missing

"""SSH to devices (issue 15, item 6), against a real sshd: the controller's key is created on first need, Test
connection names the exact reason, host keys of devices are recorded with the repositories' (one page), a
changed key names both fingerprints and is reset with a button or DELETE /api/devices/<name>/host-key.
"""
import subprocess

import pytest

from tests.support.processes import free_port
from tests.support.sshd import sshd_available

pytestmark = pytest.mark.skipif(not sshd_available(), reason="needs sshd and root")


def add_device(api, name: str, target: str):
    response = api.post("/api/devices", json={"name": name, "display_name": name, "target": target})
    assert response.status_code == 201, response.get_json()


def check_connection(api, name: str) -> dict:
    response = api.post(f"/api/devices/{name}/test-connection")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_refused_and_permission_denied_are_named_and_the_key_is_made_on_first_need(app, api, sshd):
    key = app.config["THYMIS"].project_path / "ssh" / "id_ed25519"
    add_device(api, "off", f"ssh://root@127.0.0.1:{free_port()}")
    assert not key.exists()
    refused = check_connection(api, "off")
    assert refused["ok"] is False and refused["code"] == "refused"
    assert "refused the connection on port" in refused["message"]
    assert "no SSH server listens there" in refused["message"]
    assert key.exists()                      # created by the first test, not only by GET /api/host-ssh-key
    add_device(api, "pi", sshd.target)
    denied = check_connection(api, "pi")
    public = (key.parent / "id_ed25519.pub").read_text().strip()
    assert denied["code"] == "permission_denied" and denied["public_key"] == public
    assert public in denied["message"] and "authorized_keys" in denied["message"]
    sshd.authorize(public)
    ok = check_connection(api, "pi")
    assert ok["ok"] is True and ok["host_key"]["status"] == "new"
    assert ok["host_key"]["presented"] == [f"ssh-ed25519 {sshd.fingerprint}"]
    assert api.get("/api/known-hosts").get_json() == []    # a test records nothing


def test_a_deploy_records_the_host_key_a_changed_key_is_named_and_reset(app, api, client, sshd, standins):
    from deploy.hosts import CopyError, SshHost
    from deploy.jobs import deploy_target, learn_host_keys
    from deploy.nixlog import Reporter
    from models import Device, database
    from repos.ssh_keys import public_key_of
    settings = app.config["THYMIS"]
    add_device(api, "pi", sshd.target)
    with database.connection_context():
        target = deploy_target(Device.get(Device.name == "pi"), settings)    # as a deploy job starts
    sshd.authorize(public_key_of(target.ssh.key_file))
    copy_path = subprocess.run(["nix-store", "--add", str(standins.root / "nixpkgs" / "flake.nix")],
                               capture_output=True, text=True, check=True).stdout.strip()   # nix copy logs in
    host = SshHost("root", "127.0.0.1", sshd.port, target.ssh)
    host.copy_closure(copy_path, Reporter(None))
    with database.connection_context():
        learn_host_keys("pi", settings)
    recorded = api.get("/api/known-hosts").get_json()
    assert [(r["host"], r["port"], r["recorded_by"], r["fingerprint"]) for r in recorded] == [
        ("127.0.0.1", sshd.port, "device pi", sshd.fingerprint)]
    assert "device pi" in client.get("/known-hosts").get_data(as_text=True)   # one page for all host keys

    old = sshd.fingerprint
    sshd.replace_host_key()
    changed = check_connection(api, "pi")
    assert changed["code"] == "host_key_changed" and changed["host_key"]["status"] == "changed"
    assert f"ssh-ed25519 {old}" in changed["message"] and sshd.fingerprint in changed["message"]
    with database.connection_context():
        target = deploy_target(Device.get(Device.name == "pi"), settings)
    with pytest.raises(CopyError) as failed:                  # a deploy says the same, not "cannot connect"
        SshHost("root", "127.0.0.1", sshd.port, target.ssh).copy_closure(copy_path, Reporter(None))
    assert "has changed" in str(failed.value) and sshd.fingerprint in str(failed.value)

    page = client.post("/devices/pi/host-key/reset", data={"csrf_token": client.csrf}, headers={"HX-Request": "true"})
    assert "Forgot 1 host key(s)" in page.get_data(as_text=True)
    assert api.get("/api/known-hosts").get_json() == []
    assert api.delete("/api/devices/pi/host-key").status_code == 404            # nothing on record any more
    assert check_connection(api, "pi")["ok"] is True


def test_the_device_page_has_the_key_and_the_buttons(api, client, sshd):
    add_device(api, "pi", sshd.target)
    html = client.get("/devices/pi").get_data(as_text=True)
    assert "Test connection" in html and "Reset host key" in html and "ssh-ed25519 " in html
    result = client.post("/devices/pi/test-connection", data={"csrf_token": client.csrf},
                         headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "refused the controller&#39;s key (permission denied)" in result
    assert api.delete("/api/devices/nope/host-key").status_code == 404
    add_device(api, "here", "local")
    assert api.delete("/api/devices/here/host-key").status_code == 409

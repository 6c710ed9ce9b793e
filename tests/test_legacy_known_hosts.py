"""Device host keys in the former data/ssh/devices_known_hosts are carried into Known hosts at start (issue 15):
once, idempotently, then the file is renamed, so those devices are not trusted on first use again.

The old file is written as the old code had ssh write it: a real ssh login to a real sshd with
StrictHostKeyChecking=accept-new and that file as UserKnownHostsFile (hashed, as Debian's ssh_config does, and
plain).
"""
import subprocess

import pytest

from tests.support.sshd import sshd_available

pytestmark = pytest.mark.skipif(not sshd_available(), reason="needs sshd and root")


def _old_login(sshd, known_hosts_file, *, hashed: bool) -> None:
    """What a deploy did before: ssh accepts the device's key into devices_known_hosts."""
    client_key = sshd.options.key_file
    result = subprocess.run(["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new",
                             "-o", f"UserKnownHostsFile={known_hosts_file}", "-o", "GlobalKnownHostsFile=/dev/null",
                             "-o", f"HashKnownHosts={'yes' if hashed else 'no'}", "-o", "IdentitiesOnly=yes",
                             "-i", str(client_key), "-p", str(sshd.port), f"{sshd.user}@127.0.0.1", "true"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("hashed", [True, False])
def test_old_device_keys_are_carried_over_once(app_factory, tmp_path, sshd, hashed):
    from deploy.jobs import deploy_target
    from models import Device, KnownHost, database
    app = app_factory()
    settings = app.config["THYMIS"]
    api = app.test_client()
    with database.connection_context():
        Device.create(name="pi", display_name="Pi", target=sshd.target, modules=[])
        Device.create(name="other", display_name="Other", target="ssh://root@192.0.2.7", modules=[])
    old = settings.project_path / "ssh" / "devices_known_hosts"
    old.parent.mkdir(mode=0o700, exist_ok=True)
    _old_login(sshd, old, hashed=hashed)
    assert old.read_text().startswith("|1|" if hashed else f"[127.0.0.1]:{sshd.port} ")
    assert api.get("/healthz").status_code == 200

    app_factory()   # the controller starts again (an upgrade): the keys are recorded, the file renamed
    with database.connection_context():
        rows = list(KnownHost.select())
        assert [(r.host, r.port, r.key_type, r.fingerprint, r.recorded_by) for r in rows] == [
            ("127.0.0.1", sshd.port, "ssh-ed25519", sshd.fingerprint, "device pi")]
        target = deploy_target(Device.get(Device.name == "pi"), settings)
    assert not old.exists() and old.with_name("devices_known_hosts.migrated").exists()
    assert target.ssh.strict_host_key_checking == "yes"     # not trusted on first use again
    assert f"[127.0.0.1]:{sshd.port} ssh-ed25519" in (settings.project_path / "ssh" / "known_hosts").read_text()

    app_factory()   # idempotent: nothing more, nothing lost
    with database.connection_context():
        assert KnownHost.select().count() == 1


def test_a_newer_record_wins_and_unattributable_hashed_lines_are_left_out(app_factory, tmp_path, sshd):
    from models import Device, KnownHost, database
    from repos.known_hosts import add_operator_keys
    app = app_factory()
    settings = app.config["THYMIS"]
    old = settings.project_path / "ssh" / "devices_known_hosts"
    old.parent.mkdir(mode=0o700, exist_ok=True)
    _old_login(sshd, old, hashed=True)        # no device has this host any more: the hashed line matches nothing
    sshd.replace_host_key()
    with database.connection_context():
        add_operator_keys(sshd.host_key_line, settings)     # recorded since: the new key
        Device.create(name="gone", display_name="Gone", target="ssh://root@192.0.2.9", modules=[])
    app_factory()
    with database.connection_context():
        assert [(r.fingerprint, r.source) for r in KnownHost.select()] == [(sshd.fingerprint, "operator")]
    assert not old.exists()

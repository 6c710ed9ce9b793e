"""Deploying over SSH to a real sshd on loopback; this machine's Nix store stands in for the device's."""
from __future__ import annotations

import os

import pytest

from deploy.activate import ActivationError
from deploy.build import build
from deploy.flake import generate_project
from deploy.hosts import CopyError, SshOptions
from deploy.model import DeviceConfig, ModuleFile
from deploy.targets import activate, generations, rollback
from tests.support.deploy import Recorder


@pytest.fixture
def device_system(tmp_path, standins):
    """device_system(version, fail=False) -> store path; its switch logs to tmp_path/remote-activations.log
    (named in the configuration: environment variables do not cross SSH)."""
    project = tmp_path / "project"
    log = tmp_path / "remote-activations.log"

    def make(version: str, fail: bool = False) -> str:
        body = (f'settings.version = "{version}";\nthymis.test.activationLog = "{log}";\n'
                + ("thymis.test.failSwitch = true;\n" if fail else ""))
        device = DeviceConfig("dev1", target="ssh://root@127.0.0.1",
                              files=[ModuleFile("device", "testpkg.settings.Values", body)])
        result = generate_project(project, devices=[device], inputs=[], thymis_url=standins.thymis_url)
        return build(project, result.commit, "dev1").store_path
    make.log = log
    return make


def test_deploy_over_ssh_with_rollback(tmp_path, sshd, device_system):
    profile = str(tmp_path / "device" / "profiles" / "system")
    v1, v2, bad = device_system("v1"), device_system("v2"), device_system("bad", fail=True)
    recorder = Recorder()
    result = activate(sshd.target, v1, recorder, profile=profile, ssh=sshd.options)
    assert result.host == f"root@127.0.0.1:{sshd.port}" and result.generation == 1
    assert os.path.realpath(profile) == v1
    assert device_system.log.read_text().splitlines() == [f"switch {v1} ok"]
    assert any(line.startswith("copying ") for line in recorder.lines)
    assert "Accepted publickey for root" in sshd.log.read_text()

    activate(sshd.target, v2, profile=profile, ssh=sshd.options)
    with pytest.raises(ActivationError) as error:
        activate(sshd.target, bad, profile=profile, ssh=sshd.options)
    assert str(error.value) == f"switch failed, rolled back to {v2}"
    assert os.path.realpath(profile) == v2

    listed = generations(sshd.target, profile=profile, ssh=sshd.options)
    assert [(g.number, g.store_path, g.current) for g in listed] == [(1, v1, False), (2, v2, True), (3, bad, False)]
    rollback(sshd.target, v1, profile=profile, ssh=sshd.options)
    assert os.path.realpath(profile) == v1
    assert device_system.log.read_text().splitlines()[-1] == f"switch {v1} ok"


def test_unknown_host_key_fails_without_prompting(tmp_path, sshd, device_system):
    system = device_system("v1")
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    options = SshOptions(key_file=sshd.options.key_file, known_hosts_file=empty, connect_timeout=5)
    with pytest.raises(CopyError, match="copying the system to root@127.0.0.1"):
        activate(sshd.target, system, profile=str(tmp_path / "p" / "system"), ssh=options)
    with pytest.raises(ActivationError, match="could not"):
        generations(sshd.target, profile=str(tmp_path / "p" / "system"), ssh=options)

"""deploy.targets.parse_target: every accepted and refused form of a device's target, with the messages
pages and the API show (configs.inputs.check_target passes them on unchanged)."""
from __future__ import annotations

import pytest

from configs.inputs import check_target
from deploy.hosts import SshOptions
from deploy.targets import NO_TARGET, CommandTarget, LocalTarget, SshTarget, TargetError, parse_target

BAD_TARGET = "the target must be 'local' (this appliance) or ssh://user@host[:port]"
BAD_PORT = "the SSH port must be between 1 and 65535"


def test_local_is_this_machine_or_the_activation_command():
    assert isinstance(parse_target("local"), LocalTarget)
    assert isinstance(parse_target("local", activation_command=""), LocalTarget)
    target = parse_target("local", activation_command="/run/wrappers/bin/thymis-controller-activate")
    assert isinstance(target, CommandTarget) and target.command == "/run/wrappers/bin/thymis-controller-activate"


@pytest.mark.parametrize("value, user, host, port", [
    ("ssh://root@10.0.0.5", "root", "10.0.0.5", None),
    ("ssh://root@10.0.0.5:2222", "root", "10.0.0.5", 2222),
    ("ssh://_svc@kiosk-1.example.org:22", "_svc", "kiosk-1.example.org", 22),
    ("ssh://deploy.user-1@h", "deploy.user-1", "h", None),
    ("ssh://root@[fe80::1]", "root", "[fe80::1]", None),
    ("ssh://root@[::1]:65535", "root", "[::1]", 65535),
    ("ssh://root@h:1", "root", "h", 1),
    ("ssh://" + "u" * 32 + "@" + "h" * 253, "u" * 32, "h" * 253, None),
])
def test_accepted_ssh_targets(value, user, host, port):
    options = SshOptions(connect_timeout=3)
    target = parse_target(value, ssh=options, activation_command="/bin/ignored-for-ssh")
    assert isinstance(target, SshTarget)
    assert (target.user, target.hostname, target.port) == (user, host, port)
    assert target.host.options is options
    assert check_target(value) is None


@pytest.mark.parametrize("value", [
    "ftp://h", "LOCAL", "local ", " local", 42, ["local"], "ssh://h", "ssh://@h", "ssh://root@",
    "ssh://root@-oProxyCommand=x", "ssh://root@.h", "ssh://-u@h", "ssh://1root@h", "ssh://ro ot@h",
    "ssh://root@h:", "ssh://root@h:abc", "ssh://root@h:123456", "ssh://root@h/path", "ssh://root@h\n",
    "ssh://root@h;reboot", "ssh://root@[fe80::1", "ssh://root@[zz::1]", "ssh://root:pw@h",
    "ssh://" + "u" * 33 + "@h", "ssh://root@" + "h" * 254, "SSH://root@h",
])
def test_refused_targets(value):
    with pytest.raises(TargetError) as raised:
        parse_target(value)
    assert str(raised.value) == BAD_TARGET
    assert isinstance(raised.value, ValueError)
    assert check_target(value) == BAD_TARGET


@pytest.mark.parametrize("value", ["", None])
def test_no_target_yet_is_accepted_on_save_and_refused_by_deploy(value):
    with pytest.raises(TargetError) as raised:
        parse_target(value)
    assert str(raised.value) == NO_TARGET and str(raised.value).startswith("set a target first: ")
    assert check_target(value) is None


@pytest.mark.parametrize("value", ["ssh://root@h:0", "ssh://root@h:00000", "ssh://root@h:65536", "ssh://root@h:99999"])
def test_ports_out_of_range(value):
    with pytest.raises(TargetError) as raised:
        parse_target(value)
    assert str(raised.value) == BAD_PORT
    assert check_target(value) == BAD_PORT


def test_a_bad_target_fails_before_anything_runs(tmp_path):
    from deploy.targets import activate, generations, rollback
    store_path = "/nix/store/" + "a" * 32 + "-x"
    for call in (lambda: activate("ssh://root@h:0", store_path, profile=str(tmp_path / "p")),
                 lambda: rollback("nowhere", store_path, profile=str(tmp_path / "p")),
                 lambda: generations("ftp://h", profile=str(tmp_path / "p"))):
        with pytest.raises(TargetError):
            call()
    assert not (tmp_path / "p").exists()

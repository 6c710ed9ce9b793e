"""The two halves of local activation, run with bash as the NixOS module runs them
(writeShellApplication: errexit, nounset, pipefail), in a temporary Nix store.

`nix-store`, `nix-env` and `systemctl` are small fakes that record what they were
asked; systemd-escape, flock and coreutils are the real ones.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PRELUDE = "#!/usr/bin/env bash\nset -o errexit\nset -o nounset\nset -o pipefail\n\n"
HASH = "0123456789abcdfghijklmnpqrsvwxyz"  # 32 characters of Nix's base-32

pytestmark = pytest.mark.skipif(
    shutil.which("bash") is None or shutil.which("flock") is None, reason="needs bash and flock"
)


def script(tmp_path, name):
    path = tmp_path / name
    path.write_text(PRELUDE + (REPO / "nixos-module" / f"{name}.sh").read_text())
    path.chmod(0o755)
    return path


def fake(bin_dir, name, body):
    path = bin_dir / name
    path.write_text("#!/usr/bin/env bash\n" + body)
    path.chmod(0o755)


class Machine:
    """A temporary store, profile and log folder, and fakes of Nix's tools."""

    def __init__(self, tmp_path):
        self.root = tmp_path
        self.store = tmp_path / "store"
        self.store.mkdir()
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        self.logs = tmp_path / "logs"
        self.logs.mkdir()
        self.profile = tmp_path / "profiles" / "system"
        self.profile.parent.mkdir()
        self.calls = tmp_path / "calls"
        self.valid = tmp_path / "valid-paths"
        self.valid.write_text("")
        fake(self.bin, "nix-store", f'echo "nix-store $*" >> {self.calls}\ngrep -qxF -- "$2" {self.valid}\n')
        fake(
            self.bin,
            "nix-env",
            f'echo "nix-env $*" >> {self.calls}\n'
            '[ "$1" = --profile ] && [ "$3" = --set ] && ln -sfn "$4" "$2"\n',
        )
        self.activate = script(tmp_path, "thymis-activate")

    def system(self, name, *, platform="x86_64-linux", device=True, nixos=True, switch_exit=0):
        path = self.store / f"{HASH}-{name}"
        (path / "bin").mkdir(parents=True)
        if nixos:
            (path / "nixos-version").write_text("25.05")
        (path / "system").write_text(platform)
        if device:
            (path / "etc" / "thymis").mkdir(parents=True)
            (path / "etc" / "thymis" / "device.json").write_text('{"device-name": "test"}')
        switch = path / "bin" / "switch-to-configuration"
        switch.write_text(f'#!/usr/bin/env bash\necho "switch {name} $1" >> {self.calls}\nexit {switch_exit}\n')
        switch.chmod(0o755)
        with self.valid.open("a") as valid:
            valid.write(f"{path}\n")
        return path

    def run_activate(self, toplevel, action="switch"):
        env = {
            "PATH": f"{self.bin}:{os.environ['PATH']}",
            "THYMIS_ACTIVATE_SYSTEM": "x86_64-linux",
            "THYMIS_ACTIVATE_ACTION": action,
            "THYMIS_ACTIVATE_PROFILE": str(self.profile),
            "THYMIS_ACTIVATE_STORE_DIR": str(self.store),
            "THYMIS_ACTIVATE_LOCK": str(self.root / "lock"),
            "THYMIS_ACTIVATE_LOG_DIR": str(self.logs),
        }
        return subprocess.run(
            [str(self.activate), str(toplevel)], env=env, capture_output=True, text=True, timeout=60
        )

    def recorded(self):
        return self.calls.read_text().splitlines() if self.calls.exists() else []


@pytest.fixture
def machine(tmp_path):
    return Machine(tmp_path)


def test_switches_to_a_thymis_system(machine):
    system = machine.system("nixos-system-test-25.05")
    result = machine.run_activate(system)
    assert result.returncode == 0, result.stderr + result.stdout
    assert machine.profile.resolve() == system
    assert "switch nixos-system-test-25.05 switch" in machine.recorded()
    log = (machine.logs / f"{system.name}.log").read_text()
    assert "done" in log


def test_test_action_leaves_the_profile_alone(machine):
    system = machine.system("nixos-system-test-25.05")
    result = machine.run_activate(system, action="test")
    assert result.returncode == 0, result.stderr + result.stdout
    assert not machine.profile.exists()
    assert not any(call.startswith("nix-env") for call in machine.recorded())
    assert "switch nixos-system-test-25.05 test" in machine.recorded()


def test_rolls_back_when_the_switch_fails(machine):
    previous = machine.system("nixos-system-old")
    machine.profile.symlink_to(previous)
    broken = machine.system("nixos-system-broken", switch_exit=4)
    result = machine.run_activate(broken)
    assert result.returncode == 1
    calls = machine.recorded()
    assert "switch nixos-system-broken switch" in calls
    assert "switch nixos-system-old switch" in calls, calls
    assert machine.profile.resolve() == previous
    assert "rolling back" in (machine.logs / f"{broken.name}.log").read_text()


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda m: m.root / "elsewhere", "not in"),
        (lambda m: m.store / "not-a-store-name", "not the name of an entry"),
        (lambda m: m.system("nixos-system-test") / "bin", "not the name of an entry"),
        (lambda m: m.store / f"{HASH}-missing", "not a directory"),
        (lambda m: m.system("plain-package", nixos=False), "not a NixOS system"),
        (lambda m: m.system("nixos-system-other", device=False), "not a Thymis device configuration"),
        (lambda m: m.system("nixos-system-arm", platform="aarch64-linux"), "built for aarch64-linux"),
    ],
)
def test_refuses(machine, make, reason):
    target = make(machine)
    result = machine.run_activate(target)
    assert result.returncode == 1
    assert reason in result.stderr + result.stdout
    assert not any(call.startswith(("switch", "nix-env")) for call in machine.recorded())
    assert not machine.profile.exists()


def test_refuses_paths_the_store_does_not_know(machine):
    system = machine.system("nixos-system-test")
    machine.valid.write_text("")
    result = machine.run_activate(system)
    assert result.returncode == 1
    assert "not a valid path" in result.stderr + result.stdout


def test_refuses_a_switch_program_outside_the_store(machine, tmp_path):
    system = machine.system("nixos-system-test")
    outside = tmp_path / "evil"
    outside.write_text("#!/bin/sh\ntouch /tmp/evil\n")
    outside.chmod(0o755)
    switch = system / "bin" / "switch-to-configuration"
    switch.unlink()
    switch.symlink_to(outside)
    result = machine.run_activate(system)
    assert result.returncode == 1
    assert "points outside" in result.stderr + result.stdout


def test_refuses_unknown_actions(machine):
    system = machine.system("nixos-system-test")
    assert machine.run_activate(system, action="dry-activate").returncode == 2


def test_controller_side_starts_the_template_unit(tmp_path):
    """thymis-controller-activate asks systemd for thymis-activate@<escaped path>.service,
    whose %f is the path again, prints the unit's log and passes its result on."""
    if shutil.which("systemd-escape") is None:
        pytest.skip("systemd-escape is not installed")
    client = script(tmp_path, "thymis-controller-activate")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    fake(bin_dir, "systemctl", f'echo "$*" >> {calls}\nexit "${{FAKE_SYSTEMCTL_EXIT:-0}}"\n')
    toplevel = tmp_path / "store" / f"{HASH}-nixos-system-test-25.05"
    toplevel.mkdir(parents=True)
    result_link = tmp_path / "result"
    result_link.symlink_to(toplevel)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / f"{toplevel.name}.log").write_text("thymis-activate: switch done\n")
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "THYMIS_ACTIVATE_LOG_DIR": str(logs)}

    done = subprocess.run([str(client), str(result_link)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "switch done" in done.stdout
    verb, flag, separator, unit = calls.read_text().split()
    assert (verb, flag, separator) == ("start", "--no-ask-password", "--")
    assert unit.startswith("thymis-activate@") and unit.endswith(".service")
    instance = unit[len("thymis-activate@") : -len(".service")]
    unescaped = subprocess.run(
        ["systemd-escape", "--unescape", "--path", instance], capture_output=True, text=True
    ).stdout.strip()
    assert unescaped == str(toplevel)  # what %f gives the root unit

    failed = subprocess.run(
        [str(client), str(toplevel)],
        env={**env, "FAKE_SYSTEMCTL_EXIT": "1"},
        capture_output=True,
        text=True,
    )
    assert failed.returncode == 1
    assert "failed" in failed.stderr
    assert subprocess.run([str(client)], env=env, capture_output=True).returncode == 2

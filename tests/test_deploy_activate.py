"""Local activation into a temporary profile with real nix-env: switch, automatic rollback, roll back."""
from __future__ import annotations

import os

import pytest

from deploy.activate import ActivationError
from deploy.build import build
from deploy.flake import generate_project
from deploy.model import DeviceConfig, ModuleFile
from deploy.targets import activate, generations, rollback
from tests.support.deploy import Recorder


@pytest.fixture
def system_for(tmp_path, standins):
    """system_for(version, fail=False) -> store path of dev1's system built from a fresh project commit."""
    project = tmp_path / "project"

    def make(version: str, fail: bool = False) -> str:
        body = (f'settings.version = "{version}";\nsettings.where = "{tmp_path}";\n'
                + ("thymis.test.failSwitch = true;\n" if fail else ""))
        device = DeviceConfig("dev1", files=[ModuleFile("device", "testpkg.settings.Values", body)])
        result = generate_project(project, devices=[device], inputs=[], thymis_url=standins.thymis_url)
        return build(project, result.commit, "dev1").store_path
    return make


def read_log(path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_activate_switch_and_roll_back_to_an_older_generation(tmp_path, system_for, activation_log):
    profile = str(tmp_path / "profiles" / "system")
    v1, v2 = system_for("v1"), system_for("v2")
    recorder = Recorder()
    first = activate("local", v1, recorder, profile=profile)
    assert first.generation == 1 and first.previous is None
    assert os.path.realpath(profile) == v1
    assert read_log(activation_log) == [f"switch {v1} ok"]
    assert any("stand-in switch-to-configuration: switch" in line for line in recorder.lines)
    assert ("activating", 1, 1) in recorder.progress_calls

    second = activate("local", v2, profile=profile)
    assert second.generation == 2 and second.previous == v1
    listed = generations("local", profile=profile)
    assert [(g.number, g.store_path, g.current) for g in listed] == [(1, v1, False), (2, v2, True)]
    assert all(g.created.tzinfo is not None for g in listed)

    back = rollback("local", v1, profile=profile)
    assert os.path.realpath(profile) == v1 and back.generation == 1
    assert read_log(activation_log)[-1] == f"switch {v1} ok"
    assert [g.current for g in generations("local", profile=profile)] == [True, False]


def test_failing_switch_rolls_back_to_the_previous_generation(tmp_path, system_for, activation_log):
    profile = str(tmp_path / "profiles" / "system")
    good, bad = system_for("good"), system_for("bad", fail=True)
    activate("local", good, profile=profile)
    with pytest.raises(ActivationError) as error:
        activate("local", bad, profile=profile)
    assert str(error.value) == f"switch failed, rolled back to {good}"
    assert error.value.rolled_back_to == good
    assert os.path.realpath(profile) == good
    assert read_log(activation_log) == [f"switch {good} ok", f"switch {bad} failed", f"switch {good} ok"]
    listed = generations("local", profile=profile)
    assert [(g.store_path, g.current) for g in listed] == [(good, True), (bad, False)]


def test_failing_first_switch_has_nothing_to_roll_back_to(tmp_path, system_for, activation_log):
    profile = str(tmp_path / "profiles" / "system")
    with pytest.raises(ActivationError) as error:
        activate("local", system_for("bad", fail=True), profile=profile)
    assert "no previous generation" in str(error.value) and error.value.rolled_back_to is None


def test_generations_of_a_missing_profile_and_bad_arguments(tmp_path):
    assert generations("local", profile=str(tmp_path / "nothing" / "system")) == []
    with pytest.raises(ValueError):
        activate("local", "/tmp/not-a-store-path", profile=str(tmp_path / "p"))
    with pytest.raises(ValueError):
        activate("ftp://host", "/nix/store/" + "a" * 32 + "-x", profile=str(tmp_path / "p"))

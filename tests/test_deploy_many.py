"""Deploying several devices in parallel (build + activate each), one of them failing."""
from __future__ import annotations

import os

from deploy.flake import generate_project
from deploy.many import DeployTarget, deploy_many, summary
from deploy.model import DeviceConfig, ModuleFile
from tests.deploy_fixtures import *  # noqa: F401,F403 - fixtures
from tests.deploy_fixtures import Recorder


def test_deploy_many_with_one_failing_device(tmp_path, standins, activation_log):
    project = tmp_path / "project"
    shared = ModuleFile("tag-fleet", "testpkg.fleet.Fleet", f'settings.fleet = "{tmp_path}";')
    devices = [DeviceConfig(name, files=[ModuleFile("device", "testpkg.settings.Values",
                                                    f'networking.hostName = "{name}";'
                                                    + ("\nthymis.test.failSwitch = true;" if name == "dev2" else "")),
                                         shared])
               for name in ("dev1", "dev2", "dev3")]
    result = generate_project(project, devices=devices, inputs=[], thymis_url=standins.thymis_url)
    profiles = {d.name: str(tmp_path / d.name / "profiles" / "system") for d in devices}
    contexts: dict[str, Recorder] = {}

    def ctx_for(name: str) -> Recorder:
        contexts[name] = Recorder()
        return contexts[name]

    outcomes = deploy_many(project, result.commit, [DeployTarget(d.name, "local", profiles[d.name]) for d in devices],
                           limit=2, ctx_for=ctx_for)
    assert list(outcomes) == ["dev1", "dev2", "dev3"]
    assert [o.ok for o in outcomes.values()] == [True, False, True]
    failed = outcomes["dev2"]
    assert failed.stage == "activate" and "no previous generation" in failed.error and failed.build is not None
    for name in ("dev1", "dev3"):
        assert os.path.realpath(profiles[name]) == outcomes[name].build.store_path
        assert outcomes[name].activation.generation == 1
    assert set(contexts) == {"dev1", "dev2", "dev3"}
    assert any("switch-to-configuration" in line for line in contexts["dev1"].lines)
    text = summary(outcomes)
    assert text.startswith("2 of 3 devices deployed; failed: dev2 (activate:")

    broken = deploy_many(project, result.commit, [DeployTarget("missing", "local", profiles["dev1"])], limit=1)
    assert broken["missing"].stage == "build" and not broken["missing"].ok

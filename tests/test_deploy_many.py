"""Deploying several devices in parallel (build + activate each), one of them failing."""
from __future__ import annotations

import os
from pathlib import Path

from deploy.flake import generate_project
from deploy.many import DeployTarget, deploy_many, summary
from deploy.model import DeviceConfig, ModuleFile
from tests.support.deploy import Recorder


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


def test_activations_of_one_target_take_turns_across_processes(tmp_path):
    """The turn is an flock in the data folder: a second process waits for it."""
    import subprocess
    import sys
    import time

    from deploy.many import _target_lock
    code = ("import sys, time; sys.path.insert(0, sys.argv[1]); from pathlib import Path; "
            "from deploy.many import _target_lock\n"
            "with _target_lock('local', '/p', Path(sys.argv[2])):\n    print('got it', flush=True)")
    with _target_lock("local", "/p", tmp_path):
        other = subprocess.Popen([sys.executable, "-c", code, str(Path(__file__).parent.parent), str(tmp_path)],
                                 stdout=subprocess.PIPE, text=True)
        time.sleep(1.0)
        assert other.poll() is None          # still waiting for the turn
    assert other.communicate(timeout=10)[0].strip() == "got it"

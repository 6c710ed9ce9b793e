"""Module metadata from repository code is bounded: a value over its limit fails the modules step, naming it."""
import pytest

from pipeline.validate import validate_checkout
from sandbox.module_json import MalformedResult, clean_module
from tests.support import repo_trees
from tests.support.nix import needs_nix

HEAD = "from thymis_controller.modules import Module, Setting\n"


def modules_step(tmp_path, body):
    repo = repo_trees.single_module_repo(tmp_path / "repo", "big_modules", HEAD + body)
    report = validate_checkout(repo)
    return report.step("modules")


@needs_nix
def test_a_30_mb_setting_default_fails_the_modules_step(tmp_path):
    step = modules_step(tmp_path, "class Huge(Module):\n    display_name = 'Huge'\n"
                                  "    blob = Setting(display_name='Blob', type='string', default='x' * (30 << 20))\n")
    assert step.state == "failed"
    assert ("module `big_modules.modules.Huge`: setting `blob`: default is 31457282 bytes as JSON, "
            "over the limit of 65536") in step.detail


@needs_nix
def test_too_long_a_description_and_too_many_options_fail_with_the_field_named(tmp_path):
    step = modules_step(tmp_path, "class Wordy(Module):\n    display_name = 'Wordy'\n"
                                  "    description = 'w' * 5000\n")
    assert step.state == "failed"
    assert ("module `big_modules.modules.Wordy`: description is 5000 characters long, over the limit of 4000"
            in step.detail)
    step = modules_step(tmp_path / "2", "from thymis_controller.modules.modules import SelectOneType\n"
                                        "class Many(Module):\n    display_name = 'Many'\n"
                                        "    pick = Setting(display_name='Pick', type=SelectOneType("
                                        "select_one=[str(i) for i in range(600)]), default='1')\n")
    assert step.state == "failed"
    assert "setting `pick`: options has 600 entries, over the limit of 500" in step.detail


def test_every_bounded_field_is_checked_in_what_a_sandbox_answers():
    base = {"type": "p.m.M", "display_name": "M", "settings": []}
    for entry, named in (
        ({**base, "display_name": "d" * 201}, "module `p.m.M`: display_name is 201 characters"),
        ({**base, "icon": "data:image/png;base64," + "A" * (512 * 1024)}, "module `p.m.M`: icon is"),
        ({**base, "category": "c" * 101}, "category is 101 characters"),
        ({**base, "settings": [{"name": "s", "type": "select-one", "options": [{"label": "l" * 201, "value": 1}]}]},
         "setting `s`: option 1: label is 201 characters"),
        ({**base, "settings": [{"name": "s", "type": "string", "example": "e" * 4001}]}, "setting `s`: example is"),
        ({**base, "settings": [{"name": "s" * 201}]}, "module `p.m.M`: name is 201 characters"),
        ({**base, "settings": [{"name": "s"}] * 201}, "module `p.m.M`: settings has 201 entries"),
    ):
        with pytest.raises(MalformedResult) as e:
            clean_module(entry, ["p"])
        assert named in str(e.value)
    deep = {"name": "s", "type": "list", "settings": []}
    for _ in range(5):
        deep = {"name": "s", "type": "list", "settings": [deep]}
    with pytest.raises(MalformedResult, match="nested deeper than 4 levels"):
        clean_module({**base, "settings": [deep]}, ["p"])
    assert clean_module({**base, "display_name": "d" * 200}, ["p"])["display_name"] == "d" * 200


@needs_nix
def test_a_failing_module_sees_no_install_path_of_the_controller_in_its_reason(tmp_path):
    import sysconfig
    from pathlib import Path

    step = modules_step(tmp_path, "import os, sys, thymis_controller\n"
                                  "print('sdk at', thymis_controller.__file__, 'stdlib at', os.__file__,"
                                  " file=sys.stderr)\n"
                                  "raise RuntimeError('boom ' + thymis_controller.__file__ + ' ' + os.__file__)\n")
    assert step.state == "failed" and "boom" in step.detail
    for path in (Path(__file__).resolve().parents[1], Path(sysconfig.get_paths()["stdlib"]).resolve()):
        assert str(path) + "/" not in step.detail, step.detail


@needs_nix
def test_an_oversize_icon_fails_the_modules_step_instead_of_vanishing(tmp_path):
    step = modules_step(tmp_path, "class Loud(Module):\n    display_name = 'Loud'\n"
                                  "    icon = 'data:image/png;base64,' + 'A' * (600 * 1024)\n")
    assert step.state == "failed"
    assert "module `big_modules.modules.Loud`: icon is 614422 characters long, over the limit of 524288" in step.detail

"""The STEPS list drives the validation: its order, what each step needs, and the skipping that follows."""

import dataclasses

import pytest

from pipeline.commit_validation import pending_steps
from pipeline.results import StepResult
from pipeline.steps import STEP_NAMES, STEPS, Step, check_order
from pipeline.validate import validate_checkout
from tests.support import repo_trees

NO_NIX = "nix-instantiate-not-installed"


def states(report):
    return {s.step: s.state for s in report.steps}


def test_the_list_gives_the_order_of_the_report_and_of_the_pending_steps(tmp_path):
    assert STEP_NAMES == ("marker", "flake", "signature", "modules", "unique")
    assert [s["step"] for s in pending_steps()] == list(STEP_NAMES)
    assert {s["state"] for s in pending_steps()} == {"pending"}
    report = validate_checkout(repo_trees.make_repo(tmp_path / "repo"), nix_instantiate=NO_NIX)
    assert [s.step for s in report.steps] == list(STEP_NAMES)
    reordered = (STEPS[4], STEPS[0], STEPS[1], STEPS[2], STEPS[3])
    report = validate_checkout(tmp_path / "repo", nix_instantiate=NO_NIX, steps=reordered)
    assert [s.step for s in report.steps] == ["unique", "marker", "flake", "signature", "modules"]


def test_a_step_whose_dependency_failed_is_skipped_with_the_reason(tmp_path):
    ran, seen = [], []

    def step(name, state, needs=()):
        def run(checkout):
            ran.append(name)
            return StepResult(name, state, f"{name} done")
        return Step(name, run, needs=needs)

    steps = [step("first", "failed"), step("second", "passed", needs=("first",)), step("third", "passed"),
             step("fourth", "passed", needs=("third", "second"))]
    report = validate_checkout(repo_trees.make_repo(tmp_path / "repo"), steps=steps,
                               on_step=lambda s: seen.append((s.step, s.state)))
    assert ran == ["first", "third", "fourth"]
    assert states(report) == {"first": "failed", "second": "skipped", "third": "passed", "fourth": "passed"}
    assert report.step("second").detail == "skipped: the first step failed"
    # a skipped step (not failed) does not stop the steps that need it
    assert report.step("fourth").detail == "fourth done"
    assert seen == [("first", "running"), ("first", "failed"), ("second", "skipped"), ("third", "running"),
                    ("third", "passed"), ("fourth", "running"), ("fourth", "passed")]


def test_the_needs_in_the_list_decide_which_failure_skips_modules(tmp_path):
    repo = repo_trees.make_repo(tmp_path / "repo")
    (repo / "flake.nix").unlink()
    report = validate_checkout(repo, nix_instantiate=NO_NIX)
    assert states(report)["flake"] == "failed"
    assert report.step("modules").state == "skipped"
    assert report.step("modules").detail == "skipped: the flake step failed"

    only_marker = [dataclasses.replace(s, needs=("marker",)) if s.name == "modules" else s for s in STEPS]
    report = validate_checkout(repo, nix_instantiate=NO_NIX, steps=only_marker)
    assert report.step("modules").state == "passed" and report.step("modules").detail == "no Python modules"


def test_a_blocked_step_is_skipped_with_the_blocking_reason(tmp_path):
    repo = repo_trees.make_repo(tmp_path / "repo", files={"json/__init__.py": ""})
    report = validate_checkout(repo, nix_instantiate=NO_NIX)
    assert report.step("modules").state == "skipped"
    assert report.step("modules").detail.startswith("skipped: package `json` ")


def test_a_step_that_raises_fails_with_the_error(tmp_path):
    def broken(checkout):
        raise OSError("disk gone")

    report = validate_checkout(repo_trees.make_repo(tmp_path / "repo"), steps=[Step("broken", broken)])
    assert report.step("broken").state == "failed"
    assert report.step("broken").detail.startswith("internal error: OSError: disk gone\n")


def test_a_list_whose_step_needs_a_later_or_unknown_step_is_refused(tmp_path):
    def ok(checkout):
        return StepResult("x", "passed", "")

    with pytest.raises(ValueError, match="step 'a' needs b, which must come before it"):
        check_order([Step("a", ok, needs=("b",)), Step("b", ok)])
    with pytest.raises(ValueError, match="step 'a' is listed twice"):
        check_order([Step("a", ok), Step("a", ok)])
    with pytest.raises(ValueError, match="needs nowhere"):
        validate_checkout(repo_trees.make_repo(tmp_path / "repo"), steps=[Step("a", ok, needs=("nowhere",))])

"""Nix for tests: offline settings, evaluating expressions, the real nixpkgs library, the STAND-INs.

Nix runs offline here (no binary cache, flakes on) and with ``sandbox = false`` where the stand-in's
toplevel is built (by /bin/sh with the host's /bin tools; Debian's nix.conf already says so).

The nixpkgs STAND-IN (tests/fixtures/nixpkgs-standin) has the real nixpkgs library as its ``lib``: the
library is not in this repository but beside the checkout, in ``../shared/nixpkgs-lib`` (found from the
checkout's parent, and from the main checkout's parent for a ``git worktree``; ``THYMIS_TEST_NIXPKGS`` names
another folder holding ``lib/``). ``nixpkgs_standin(dest)`` makes a usable copy.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.git import pinned, run_git, work_tree

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
NIX_CONFIG = "experimental-features = nix-command flakes\nsubstituters =\nsandbox = false\n"
NIX_INSTANTIATE = shutil.which("nix-instantiate")
needs_nix = pytest.mark.skipif(NIX_INSTANTIATE is None, reason="nix-instantiate is not installed")


def real_nixpkgs_lib() -> Path:
    """The folder holding the real nixpkgs library (``<it>/lib/default.nix``); a clear error when absent."""
    if os.environ.get("THYMIS_TEST_NIXPKGS"):
        candidates = [Path(os.environ["THYMIS_TEST_NIXPKGS"]).resolve()]
    else:
        candidates = [REPO.parent / "shared" / "nixpkgs-lib"]
        try:  # in a `git worktree`, the main checkout's parent
            common = Path(run_git("-C", REPO, "rev-parse", "--path-format=absolute", "--git-common-dir"))
            candidates.append(common.parent.parent / "shared" / "nixpkgs-lib")
        except RuntimeError:
            pass
    for candidate in candidates:
        if (candidate / "lib" / "default.nix").is_file():
            return candidate
    raise RuntimeError(
        "the real nixpkgs library is missing: looked for lib/default.nix in "
        + ", ".join(map(str, dict.fromkeys(candidates)))
        + ". It belongs beside the checkout as ../shared/nixpkgs-lib (or set THYMIS_TEST_NIXPKGS to such a folder).")


def nixpkgs_standin(dest: Path) -> Path:
    """A usable copy of the nixpkgs STAND-IN at ``dest``: the fixture folder plus the real library as
    ``nixpkgs-lib/`` (its own tests left out)."""
    library = real_nixpkgs_lib()
    shutil.copytree(FIXTURES / "nixpkgs-standin", dest)
    shutil.copytree(library / "lib", dest / "nixpkgs-lib", ignore=shutil.ignore_patterns("tests"))
    if (library / "COPYING").is_file():
        shutil.copy(library / "COPYING", dest / "nixpkgs-lib" / "COPYING")
    return dest


def thymis_standin(dest: Path, nixpkgs_url: str, marker: str = "thymis-standin") -> str:
    """The thymis STAND-IN as a git repository at ``dest`` whose nixpkgs is ``nixpkgs_url`` and whose device
    module sets ``thymis.base = marker``; returns its pinned flake URL."""
    shutil.copytree(FIXTURES / "thymis-standin", dest)
    flake = dest / "flake.nix"
    flake.write_text(flake.read_text().replace("@NIXPKGS_URL@", nixpkgs_url))
    module = dest / "thymis-device.nix"
    module.write_text(module.read_text().replace('thymis.base = "thymis-standin";', f'thymis.base = "{marker}";'))
    return pinned(dest, work_tree(dest))


@pytest.fixture(scope="session")
def nix_config():
    """Offline flakes without sandbox for every nix the tests (and the code under test) start."""
    old = os.environ.get("NIX_CONFIG")
    os.environ["NIX_CONFIG"] = NIX_CONFIG
    yield NIX_CONFIG
    if old is None:
        os.environ.pop("NIX_CONFIG", None)
    else:
        os.environ["NIX_CONFIG"] = old


@dataclass
class StandIns:
    nixpkgs_url: str
    thymis_url: str
    root: Path


@pytest.fixture(scope="session")
def standins(tmp_path_factory, nix_config) -> StandIns:
    """The nixpkgs STAND-IN and the thymis STAND-IN as pinned local git repositories."""
    root = tmp_path_factory.mktemp("standins")
    nixpkgs = nixpkgs_standin(root / "nixpkgs")
    nixpkgs_url = pinned(nixpkgs, work_tree(nixpkgs))
    return StandIns(nixpkgs_url, thymis_standin(root / "thymis", nixpkgs_url), root)


@pytest.fixture(scope="session")
def thymis_fork(standins) -> str:
    """A fork of the thymis STAND-IN (its device module sets thymis.base = "thymis-fork")."""
    return thymis_standin(standins.root / "thymis-fork", standins.nixpkgs_url, "thymis-fork")


def toplevel_config(store_path: str) -> dict:
    """The configuration a stand-in toplevel was built from (its config.json)."""
    return json.loads((Path(store_path) / "config.json").read_text())


def nix_eval_json(expression: str):
    """The JSON value of a Nix expression (evaluated strictly, restricted, offline)."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": "/tmp"}
    proc = subprocess.run(
        [NIX_INSTANTIATE, "--eval", "--strict", "--json", "--readonly-mode", "--option", "restrict-eval", "true",
         "-E", expression],
        capture_output=True, text=True, env=env, timeout=30, check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"nix failed: {proc.stderr}\nexpression:\n{expression}")
    return json.loads(proc.stdout)


def nix_parses(source: str) -> tuple[bool, str]:
    proc = subprocess.run([NIX_INSTANTIATE, "--parse", "-E", source], capture_output=True, text=True, timeout=30,
                          check=False)
    return proc.returncode == 0, proc.stderr

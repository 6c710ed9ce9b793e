"""Evaluating Nix expressions with the real nix-instantiate (test helper)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

NIX_INSTANTIATE = shutil.which("nix-instantiate")
needs_nix = pytest.mark.skipif(NIX_INSTANTIATE is None, reason="nix-instantiate is not installed")


def nix_eval_json(expression: str):
    """The JSON value of a Nix expression (evaluated strictly, restricted, offline)."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": "/tmp"}
    proc = subprocess.run(
        [NIX_INSTANTIATE, "--eval", "--strict", "--json", "--readonly-mode", "--option", "restrict-eval", "true", "-E", expression],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    if proc.returncode != 0:
        raise AssertionError(f"nix failed: {proc.stderr}\nexpression:\n{expression}")
    return json.loads(proc.stdout)


def nix_parses(source: str) -> tuple[bool, str]:
    proc = subprocess.run([NIX_INSTANTIATE, "--parse", "-E", source], capture_output=True, text=True, timeout=30)
    return proc.returncode == 0, proc.stderr

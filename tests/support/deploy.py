"""Fixtures of the deploy tests: external repositories with a flake, the activation log, a job Recorder.

The stand-ins and nix settings they use are in tests.support.nix, the sshd in tests.support.sshd.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.git import pinned, work_tree

EXT_FLAKE = """{
  description = "an external repository of thymis modules (test fixture)";
  INPUTS
  outputs = { self, ... }@inputs: {
    value = "VALUE";
    nixosModules.greeter = { lib, config, ... }: {
      greeter.enabled = true;
      greeter.greeting = lib.mkDefault "hello from ext";
    };
    packages.x86_64-linux.greeting = builtins.derivation {
      name = "greeting";
      system = "x86_64-linux";
      builder = "/bin/sh";
      args = [ "-c" "echo VALUE > $out" ];
    };
  };
}
"""


@pytest.fixture
def make_repo(tmp_path):
    """make_repo(name, value, thymis_url=None) -> pinned URL of an external repository with a flake."""
    def make(name: str, value: str = "from-ext", thymis_url: str | None = None) -> str:
        inputs = f'inputs.thymis.url = "{thymis_url}";' if thymis_url else ""
        flake = EXT_FLAKE.replace("INPUTS", inputs).replace("VALUE", value)
        path = tmp_path / "repos" / name
        rev = work_tree(path, {"flake.nix": flake, "README.md": "This repository contains thymis modules.\n"})
        return pinned(path, rev)
    return make


@pytest.fixture
def ext_repo(make_repo) -> str:
    return make_repo("ext")


@pytest.fixture
def ext_with_thymis(make_repo, thymis_fork) -> str:
    return make_repo("forked", "from-forked", thymis_url=thymis_fork)


@pytest.fixture
def profile(tmp_path) -> Path:
    """A system profile path in a fresh folder, for THYMIS_SYSTEM_PROFILE in local deploys."""
    path = tmp_path / "profiles" / "system"
    path.parent.mkdir()
    return path


@pytest.fixture
def activation_log(tmp_path, monkeypatch) -> Path:
    """The file the stand-in's switch-to-configuration appends to (via THYMIS_TEST_ACTIVATION_LOG)."""
    path = tmp_path / "activations.log"
    monkeypatch.setenv("THYMIS_TEST_ACTIVATION_LOG", str(path))
    return path


@dataclass
class Recorder:
    """A job context stand-in that keeps what it is told."""
    progress_calls: list[tuple[str, int, int]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def progress(self, phase: str, done: int = 0, total: int = 0) -> None:
        self.progress_calls.append((phase, done, total))

    def log(self, line: str) -> None:
        self.lines.append(line)

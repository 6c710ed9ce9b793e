"""Step "flake": flake.nix exists, parses, and is an attribute set with an outputs function.

Uses real Nix, offline and without fetching inputs: ``nix-instantiate --parse``
for syntax (errors reported with line and column), then one restricted
evaluation of ``import ./flake.nix`` (``restrict-eval``: the file may read only
files of the checkout, no network, no environment) that reports whether it is
an attribute set, whether ``outputs`` is a function, its ``description`` and
the names of its ``inputs``. Both calls have a time and memory limit.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import tempfile
import textwrap
from pathlib import Path

from models.states import StepState
from nixcli import FEATURES
from pipeline.results import StepResult

__all__ = ["NIX_MEMORY_MB", "NIX_TIMEOUT", "check_flake"]

NIX_TIMEOUT = 10.0
NIX_MEMORY_MB = 1024
_MAX_DESCRIPTION = 1000

_PROBE = """
let
  f = import ./flake.nix;
  isAttrs = builtins.isAttrs f;
in {
  inherit isAttrs;
  hasOutputs = isAttrs && f ? outputs;
  outputsIsFunction = isAttrs && f ? outputs && builtins.isFunction f.outputs;
  description =
    if isAttrs && f ? description && builtins.isString f.description then f.description else null;
  inputsIsAttrs = isAttrs && (!(f ? inputs) || builtins.isAttrs f.inputs);
  inputs = if isAttrs && f ? inputs && builtins.isAttrs f.inputs then builtins.attrNames f.inputs else [ ];
}
"""

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_LOCATION = re.compile(r"\bat (?P<file>\S+?):(?P<line>\d+):(?P<col>\d+)")


def _nix_message(stderr: str, checkout: Path, what: str) -> str:
    """'flake.nix:4:9: syntax error, unexpected ...' (or '<what>: <message>' when
    Nix names no location), followed by Nix's code excerpt."""
    text = _ANSI.sub("", stderr).replace(str(checkout) + "/", "")
    lines = [line for line in text.splitlines() if line.strip()]
    message = next((line.split("error:", 1)[1].strip() for line in lines if "error:" in line),
                   lines[0].strip() if lines else "")
    location = _LOCATION.search(text)
    excerpt = [line for line in lines if re.match(r"\s*\d*\|", line)]
    if location:
        message = f"{location['file']}:{location['line']}:{location['col']}: {message}"
    else:
        message = f"{what}: {message}"
    if excerpt:
        message += "\n" + textwrap.dedent("\n".join(excerpt[:7]))
    return message[:3000]


def _run_nix(args: list[str], checkout: Path, timeout: float, memory_mb: int) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="thymis-nix-") as home:
        env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": home, "LANG": "C.UTF-8"}
        limits = f"ulimit -v {int(memory_mb) * 1024} 2>/dev/null; ulimit -t {int(timeout) + 2} 2>/dev/null; exec "
        command = ["sh", "-c", limits + " ".join(shlex.quote(a) for a in args)]
        return subprocess.run(
            command,
            cwd=checkout,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
            timeout=timeout,
            text=True,
            errors="replace",
        )


def check_flake(
    checkout: Path,
    *,
    nix_instantiate: str = "nix-instantiate",
    timeout: float = NIX_TIMEOUT,
    memory_mb: int = NIX_MEMORY_MB,
) -> tuple[StepResult, dict | None]:
    """The step's result and, when the flake could be read, ``{"description",
    "inputs", "has_thymis_input"}``."""
    checkout = Path(checkout).resolve()
    path = checkout / "flake.nix"
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return StepResult("flake", StepState.FAILED, "no flake.nix at the repository root"), None
    if stat.S_ISLNK(st.st_mode):
        return StepResult("flake", StepState.FAILED,
                          "flake.nix is a symlink; it must be a regular file in the repository"), None
    if not stat.S_ISREG(st.st_mode):
        return StepResult("flake", StepState.FAILED, "flake.nix is not a regular file"), None
    binary = shutil.which(nix_instantiate)
    if binary is None:
        return StepResult("flake", StepState.SKIPPED,
                          f"{nix_instantiate} is not installed, so flake.nix was not checked"), None
    try:
        parsed = _run_nix([binary, *FEATURES, "--parse", "./flake.nix"], checkout, timeout, memory_mb)
        if parsed.returncode != 0:
            return StepResult("flake", StepState.FAILED,
                              _nix_message(parsed.stderr, checkout, "flake.nix does not parse")), None
        evaluated = _run_nix(
            [
                binary, *FEATURES, "--eval", "--strict", "--json", "--readonly-mode",
                "--option", "restrict-eval", "true",
                "--option", "allowed-uris", "",
                "--option", "allow-import-from-derivation", "false",
                "-I", f"repository={checkout}",
                "-E", _PROBE,
            ],
            checkout,
            timeout,
            memory_mb,
        )
    except subprocess.TimeoutExpired:
        return StepResult("flake", StepState.FAILED, f"checking flake.nix took longer than {timeout:g} s"), None
    if evaluated.returncode != 0:
        return StepResult("flake", StepState.FAILED,
                          _nix_message(evaluated.stderr, checkout, "flake.nix cannot be evaluated")), None
    try:
        facts = json.loads(evaluated.stdout)
    except ValueError:
        return StepResult("flake", StepState.FAILED, "nix-instantiate gave an unreadable answer"), None
    if not facts.get("isAttrs"):
        return StepResult("flake", StepState.FAILED, "flake.nix is not an attribute set"), None
    if not facts.get("hasOutputs"):
        return StepResult("flake", StepState.FAILED, "flake.nix has no outputs function"), None
    if not facts.get("outputsIsFunction"):
        return StepResult("flake", StepState.FAILED,
                          "flake.nix has no outputs function (outputs is not a function)"), None
    if not facts.get("inputsIsAttrs"):
        return StepResult("flake", StepState.FAILED, "the inputs of flake.nix are not an attribute set"), None
    description = facts.get("description")
    if isinstance(description, str):
        description = description[:_MAX_DESCRIPTION]
    inputs = [str(name) for name in facts.get("inputs") or []]
    info = {"description": description, "inputs": inputs, "has_thymis_input": "thymis" in inputs}
    detail = "flake.nix is valid"
    if description:
        detail += f": {description!r}"
    detail += "; inputs: " + (", ".join(inputs) if inputs else "none")
    return StepResult("flake", StepState.PASSED, detail), info

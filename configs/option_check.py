"""Settings checked against the option types of the `thymis` flake at save (after configs/render_check.py).

The rendered module files of the modules that changed are evaluated with the thymis flake's device module by the
real module system (configs/option_check.nix): a definition of a declared option that is not of its type (a
string in a port, "yes" in a boolean) is a 422 naming the option, on the module (or on its setting whose value
the message quotes). What no module declares is free-form and not evaluated; a value that needs a repository's
flake input or a package is not forced. So it never refuses what would build, and what it cannot check passes.

The files are repository output, so nix-instantiate evaluates them as the flake step does (pipeline/flake.py):
restricted (only the thymis flake's sources, as ``nix flake archive`` put them in the store, and the folder of
the files are readable), no network, no import from derivation, read-only store, time and memory limits. The
sources come from the background reachability check (deploy/reachability.py); until it found the flake
reachable, or when a repository provides `thymis` instead, or without nix-instantiate, this check is skipped
(logged) and the save relies on the parse check.
"""
from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
import time
from pathlib import Path

from errors import FieldError, hide_paths
from thymis_controller.nix.text import nix_string

NIX_FILE = Path(__file__).with_name("option_check.nix")
TIMEOUT, MEMORY_MB, MAX_REPORTED = 20.0, 2048, 5
UNAVAILABLE = "thymis-option-check: not available at save"
HEADER = "{ inputs, pkgs, lib, config, ... }:\n{\n"
log = logging.getLogger(__name__)
_INDEX = re.compile(r"^modules\[(\d+)\]$")


def _sources(tree: dict) -> list[str]:
    found = [tree["path"]]
    for child in tree.get("inputs", {}).values():
        found += _sources(child)
    return sorted(set(found))


def _run(binary: str, tree: dict, scratch: Path, files: list[int], system: str, repositories: list[str],
         force: int | None):
    from pipeline.flake import _run_nix
    listed = " ".join(f"{{ index = {i}; path = <files/m{i}.nix>; }}" for i in files)
    expression = (f"import <check> {{ tree = builtins.fromJSON {nix_string(json.dumps(tree))}; files = [ {listed} ]; "
                  f"system = {nix_string(system)}; repositories = [ {' '.join(map(nix_string, repositories))} ]; "
                  f"force = {'null' if force is None else int(force)}; }}")
    includes = [arg for i, path in enumerate(_sources(tree)) for arg in ("-I", f"source{i}={path}")]
    return _run_nix([binary, "--eval", "--strict", "--json", "--readonly-mode", "--option", "restrict-eval", "true",
                     "--option", "allowed-uris", "", "--option", "allow-import-from-derivation", "false",
                     "-I", f"check={NIX_FILE}", "-I", f"files={scratch}", *includes, "-E", expression],
                    scratch, TIMEOUT, MEMORY_MB)


def _error_text(stderr: str, scratch: Path) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", stderr)
    text = text.split("(use '--show-trace'", 1)[0]
    text = text[text.find("error:") + len("error:"):] if "error:" in text else text
    text = re.sub(re.escape(str(scratch)) + r"/m(\d+)\.nix", r"the file of modules[\1]", text)
    return hide_paths(" ".join(text.split()))


def _field(index: int, message: str, module: dict) -> str:
    """``modules[i].settings.<key>`` when the message quotes exactly one setting's text value, else ``modules[i]``."""
    quoted = [k for k, v in (module.get("settings") or {}).items()
              if isinstance(v, str) and v and json.dumps(v) in message]
    return f"modules[{index}].settings.{quoted[0]}" if len(quoted) == 1 else f"modules[{index}]"


def option_problems(bodies: dict[int, str], modules: list[dict], *, system: str, repositories: list[str],
                    settings) -> list[FieldError]:
    """FieldErrors for definitions of ``bodies`` (module index -> rendered Nix) that do not fit the option types
    of the thymis flake; [] when none, or when the check is not available (logged)."""
    if not bodies:
        return []
    skipped = _unavailable(settings)
    binary = shutil.which("nix-instantiate")
    if skipped or binary is None:
        log.info("settings not evaluated against option types: %s", skipped or "nix-instantiate is not installed")
        return []
    from deploy.reachability import reachability
    tree = reachability.status(settings.thymis_flake_url).tree
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="thymis-options-") as folder:
        scratch = Path(folder)
        for index, body in bodies.items():
            (scratch / f"m{index}.nix").write_text(HEADER + body + ("\n" if not body.endswith("\n") else "") + "}\n")
        files = sorted(bodies)
        proc = _run(binary, tree, scratch, files, system, repositories, None)
        if proc.returncode != 0:
            return _whole_failure(proc.stderr, scratch, modules)
        failing = json.loads(proc.stdout)[:MAX_REPORTED]
        errors = []
        for item in failing:
            forced = _run(binary, tree, scratch, files, system, repositories, item["index"])
            message = _error_text(forced.stderr, scratch) if forced.returncode != 0 else ""
            if not message or UNAVAILABLE in message:
                continue  # it needs what only a build has (a repository input, a package): not a type error
            for file in item["files"]:
                match = _INDEX.match(file)
                if match and int(match.group(1)) < len(modules):
                    index = int(match.group(1))
                    errors.append(FieldError(_field(index, message, modules[index]),
                                             f"the value does not fit the option type: {message}"))
    log.info("settings evaluated against option types in %.3f s", time.monotonic() - started)
    return errors


def _whole_failure(stderr: str, scratch: Path, modules: list[dict]) -> list[FieldError]:
    """The evaluation stopped: a problem of one module's file is reported on it, anything else is logged."""
    message = _error_text(stderr, scratch)
    named = re.findall(r"the file of modules\[(\d+)\]", message)
    if UNAVAILABLE in message or not named or int(named[0]) >= len(modules):
        log.warning("settings could not be evaluated against option types: %s", message)
        return []
    index = int(named[0])
    return [FieldError(_field(index, message, modules[index]), f"the module writes Nix that does not evaluate: "
                                                             f"{message}")]


def _unavailable(settings) -> str | None:
    """Why the check cannot run now, or None."""
    from deploy.reachability import REACHABLE, reachability
    from repos.thymis_override import thymis_choice
    if thymis_choice():
        return "a repository provides the thymis flake (its option types are not read at save)"
    status = reachability.status(settings.thymis_flake_url)
    if status.state != REACHABLE or not status.tree:
        return status.message
    return None

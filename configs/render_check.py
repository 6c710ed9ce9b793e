"""Settings checked by the module itself: the changed modules of a device or tag are rendered in the sandbox
(one run per repository) and each rendered file is parsed by ``nix-instantiate --parse``.

``problems`` returns one FieldError per problem, naming the setting (``modules[0].settings.device_name``,
``modules[1].settings.authorized_keys[2].key``) with the module's own message when the module says which
setting is wrong, or when rendering that setting alone fails too; otherwise the module (``modules[1]``).
Only failing modules are rendered again (setting by setting), so a valid save costs one sandbox run per
repository and one parse per module.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

from errors import FieldError, InputError
from nixcli import FEATURES
from sandbox import SandboxError, render

MODULE_HEADER = "{ inputs, pkgs, lib, config, ... }:\n{\n"   # as deploy.render writes module files
_FAILED = re.compile(r"^(?:loading|rendering) `[^`]+` failed(?: \([^)]*\))?: (?:[A-Za-z_][\w.]*: )?(?P<msg>.*)$",
                     re.DOTALL)
_SETTING = re.compile(r"^setting '(?P<key>[^']+)' of [\w.]+: (?P<msg>.*)$", re.DOTALL)
_NIX_ERROR = re.compile(r"error: (?P<msg>.*?)(?:\n|$)(?:.*?at [^\n]*?:(?P<line>\d+):(?P<col>\d+))?", re.DOTALL)
_ATTR = re.compile(r"^\s*(?P<attr>[A-Za-z_\"][\w.\"'-]*)\s*=")


@dataclass
class Request:
    """One module to check: its index in the list saved, type, settings and where it is rendered."""
    index: int
    module_type: str
    settings: dict
    priority: int
    path: str

    def body(self, settings: dict | None = None) -> dict:
        return {"module_type": self.module_type, "settings": self.settings if settings is None else settings,
                "priority": self.priority, "path": self.path}


def module_message(error: SandboxError) -> str:
    """The module's own words from a failed sandbox render (no "rendering `x` failed", no exception class)."""
    match = _FAILED.match(error.message)
    return match.group("msg").strip() if match else error.message


def parse_error(body: str) -> str | None:
    """None when the module file with ``body`` parses; else nix's message, naming the option on that line."""
    binary = shutil.which("nix-instantiate")
    if binary is None:
        return None
    text = MODULE_HEADER + body + ("" if body.endswith("\n") or not body else "\n") + "}\n"
    with tempfile.TemporaryDirectory(prefix="thymis-parse-") as scratch:
        path = os.path.join(scratch, "module.nix")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        proc = subprocess.run([binary, *FEATURES, "--parse", path], capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL, check=False, env={"PATH": os.environ.get("PATH", ""),
                                                                          "HOME": scratch})
    if proc.returncode == 0:
        return None
    stderr = re.sub(r"\x1b\[[0-9;]*m", "", proc.stderr)
    match = _NIX_ERROR.search(stderr)
    message = (match.group("msg") if match else stderr.strip().splitlines()[-1]).strip()
    message = message.replace(path, "the module file")
    line_no = int(match.group("line")) if match and match.group("line") else None
    lines = text.splitlines()
    if line_no and 0 < line_no <= len(lines):
        line = lines[line_no - 1]
        attr = _ATTR.match(line)
        where = f"option `{attr.group('attr')}`" if attr else f"line {line_no - 2}"
        return f"the module writes Nix that does not parse for {where}: {message} (in `{line.strip()[:120]}`)"
    return f"the module writes Nix that does not parse: {message}"


class Unchecked(Exception):
    """The sandbox failed for another reason than the module raising (timeout, crash, no sandbox)."""


def _render_one(checkouts: list, request: Request, settings: dict | None = None) -> tuple[str | None, str | None]:
    """(body, None) or (None, the module's message); Unchecked when the module did not say what is wrong."""
    try:
        body = render(checkouts, [request.body(settings)])[0]
    except SandboxError as exc:
        if exc.kind != "exception":
            raise Unchecked(f"the module could not be checked: {exc.message}") from None
        return None, module_message(exc)
    return body, None


def _problem(checkouts: list, request: Request, settings: dict) -> str | None:
    body, message = _render_one(checkouts, request, settings)
    return message if body is None else parse_error(body)


def _row_path(checkouts: list, request: Request, key: str, rows: list) -> str:
    """``key[i]`` (or ``key[i].sub``) for the first row of a list setting that fails alone, else ``key``."""
    for i, row in enumerate(rows):
        if _problem(checkouts, request, {key: [row]}):
            return f"{key}[{i}]" + (f".{next(iter(row))}" if isinstance(row, dict) and len(row) == 1 else "")
    return key


def _locate(checkouts: list, request: Request, message: str) -> list[FieldError]:
    """Field errors for a module that fails: the setting the module named or whose value it quotes, each
    setting that fails alone, or the one without which the module renders."""
    base = f"modules[{request.index}]"
    named = _SETTING.match(message)
    if named and named.group("key") in request.settings:
        return [FieldError(f"{base}.settings.{named.group('key')}", named.group("msg").strip())]
    quoted = [k for k, v in request.settings.items() if isinstance(v, str) and len(v) > 1 and repr(v) in message]
    found = [FieldError(f"{base}.settings.{key}", message) for key in quoted]
    for key, value in request.settings.items():
        if key in quoted:
            continue
        alone = _problem(checkouts, request, {key: value})
        if alone:
            path = _row_path(checkouts, request, key, value) if isinstance(value, list) and len(value) > 1 else key
            found.append(FieldError(f"{base}.settings.{path}", alone))
    if not found:  # a setting that fails only together with the others (a schedule needs a script)
        for key in request.settings:
            if not _problem(checkouts, request, {k: v for k, v in request.settings.items() if k != key}):
                found.append(FieldError(f"{base}.settings.{key}", message))
    return found or [FieldError(base, message)]


def check_group(checkouts: list, requests: list[Request], passed: dict | None = None) -> list[FieldError]:
    """Every problem of ``requests``, all modules of one source (built-in or one repository); ``passed`` gets
    the rendered Nix of each module without a problem (by its index)."""
    try:
        bodies = [(body, None) for body in render(checkouts, [r.body() for r in requests])]
    except SandboxError:
        bodies = None
    errors = []
    for i, request in enumerate(requests):
        try:
            body, message = bodies[i] if bodies else _render_one(checkouts, request)
            problem = message if body is None else parse_error(body)
            if problem:
                errors += _locate(checkouts, request, problem)
            elif passed is not None:
                passed[request.index] = body
        except Unchecked as exc:
            errors.append(FieldError(f"modules[{request.index}]", str(exc)))
    return errors


def problems(modules: list[dict], *, catalog: dict, checkouts: dict[str, object], priority: int, path: str,
             unchanged: list[dict] = (), bodies: dict | None = None) -> list[FieldError]:
    """Problems of the modules of ``modules`` that are not in ``unchanged`` and are available in ``catalog``.

    checkouts: repository name -> its active checkout (the source of a module in the catalog); bodies: filled
    with the rendered Nix of the modules without a problem (index -> text)."""
    groups: dict[str, list[Request]] = {}
    for index, module in enumerate(modules):
        described = catalog.get(module["type"])
        if described is None or module in unchanged:
            continue
        groups.setdefault(described["source"], []).append(
            Request(index, module["type"], module.get("settings") or {}, priority, path))
    errors = []
    for source, requests in groups.items():
        where = [] if source not in checkouts else [checkouts[source]]
        errors += check_group(where, requests, bodies)
    return sorted(errors, key=lambda e: int(re.search(r"\d+", e.field).group()))


def active_checkouts(settings) -> dict[str, object]:
    """Repository name -> the checkout of its active commit (where its modules are rendered from)."""
    from pipeline.commit_validation import active_validations
    found = {}
    for validation in active_validations():
        repo = validation.repository
        checkout = settings.checkout_root(repo.name) / repo.active_commit
        if checkout.is_dir():
            found[repo.name] = checkout
    return found


def check_modules_render(modules: list[dict], catalog: dict, unchanged: list[dict], priority: int, path: str,
                         settings=None) -> None:
    """Raise InputError (422) with every problem of the changed modules; settings: the app's, by default."""
    if settings is None:
        from flask import current_app
        settings = current_app.config["THYMIS"]
    checkouts, bodies = active_checkouts(settings), {}
    errors = problems(modules, catalog=catalog, checkouts=checkouts, priority=priority, path=path,
                      unchanged=unchanged, bodies=bodies)
    if not errors and settings.option_check:
        from configs.option_check import option_problems
        from deploy.compose import _system
        errors = option_problems(bodies, modules, system=_system(modules), repositories=sorted(checkouts),
                                 settings=settings)
    if errors:
        raise InputError(errors)


def _setting_label(described: dict, field: str) -> str:
    """"Hostname" for ``modules[0].settings.device_name``; "Authorized keys, row 2" for a list row."""
    match = re.match(r"modules\[\d+\]\.settings\.(?P<key>\w+)(?:\[(?P<row>\d+)\])?", field)
    if not match:
        return ""
    entry = next((s for s in described.get("settings", []) if s.get("name") == match.group("key")), {})
    label = str(entry.get("display_name") or match.group("key"))
    return label + (f", row {int(match.group('row')) + 1}" if match.group("row") else "") + ": "


def owner_problems(owner: str, modules: list[dict], catalog: dict, checkouts: dict, priority: int,
                   path: str) -> list[str]:
    """Every problem of ``modules`` as plain sentences: "tag lab: SSH & Users: Root password hash: ..."."""
    lines = []
    for error in problems(modules, catalog=catalog, checkouts=checkouts, priority=priority, path=path):
        index = int(re.search(r"\d+", error.field).group())
        described = catalog.get(modules[index]["type"], {})
        name = described.get("display_name") or modules[index]["type"]
        lines.append(f"{owner}: {name}: {_setting_label(described, error.field)}{error.message}")
    return lines

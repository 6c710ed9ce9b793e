"""Importing a Thymis project: its state.json's repositories, tags and configurations.

A Thymis controller keeps its project in ``<project path>/repository/state.json``:

    {"version": "0.0.9",
     "repositories": {"<flake input name>": {"url": "<flake URL>", "follows": ..., "inputs_follows": {...}}},
     "tags":    [{"displayName", "identifier", "priority", "modules": [{"type", "settings"}]}],
     "configs": [{"displayName", "identifier", "modules": [...], "tags": ["<tag identifier>", ...]}]}

(states before 0.0.8 call the configurations "devices"). Repositories become repositories here (fetched and
validated as usual), tags become tags, configurations become devices. Module types are kept as they are;
a type no module here provides yet (for instance one of an imported repository, until its first fetch) is
kept with its settings and reported as not available. Whatever cannot be carried over is listed by name.

The whole import is one transaction, and a file is imported once: its SHA-256 is recorded, and a second
import of the same content is refused.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from peewee import IntegrityError

from configs.catalog import available_modules
from configs.inputs import parse_tag
from configs.service import save_device, save_tag
from errors import FieldError, InputError
from models import ControllerSetting, Device, Repository, Tag, database, utcnow
from repos.repositories import create_repository

__all__ = ["MAX_STATE_BYTES", "ImportReport", "import_state", "import_thymis_project", "read_state_file"]

MAX_STATE_BYTES = 1024 * 1024  # as large as any request the controller accepts (MAX_CONTENT_LENGTH)
RECORD_PREFIX = "thymis-import:"
# Inputs every Thymis project has: here THYMIS_FLAKE_URL provides both.
THYMIS_OWN_INPUTS = {"thymis", "nixpkgs"}
# States before 0.0.9 kept these settings in ThymisDevice; 0.0.9 moved each to the module named.
_SPLIT_MODULES = {
    "thymis_controller.modules.networking.NetworkingModule":
        ("wifi_ssid", "wifi_password", "wifi_auth", "wifi_auth_protocols", "static_networks", "nameservers"),
    "thymis_controller.modules.localization.LocalizationModule": ("timezone", "time_servers"),
    "thymis_controller.modules.security.SecurityAccessModule":
        ("password_secret", "authorized_keys", "security_pki_certificates"),
    "thymis_controller.modules.files.FilesModule": ("secrets", "artifacts"),
}
THYMIS_DEVICE = "thymis_controller.modules.thymis.ThymisDevice"


@dataclass
class ImportReport:
    source: str
    sha256: str
    repositories: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    not_imported: list[str] = field(default_factory=list)   # what could not be carried over, by name
    warnings: list[str] = field(default_factory=list)       # carried over, but needs attention
    jobs: list[int] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"source": self.source, "sha256": self.sha256, "repositories": self.repositories,
                "tags": self.tags, "devices": self.devices, "not_imported": self.not_imported,
                "warnings": self.warnings, "jobs": self.jobs}

    def lines(self) -> list[str]:
        """The same report as text, for the CLI and the page."""
        def names(items):
            return ", ".join(items) if items else "none"
        out = [f"imported from {self.source} (sha256 {self.sha256[:12]}):",
               f"  repositories: {names(self.repositories)}", f"  tags: {names(self.tags)}",
               f"  devices: {names(self.devices)}"]
        out += [f"not imported: {line}" for line in self.not_imported]
        out += [f"warning: {line}" for line in self.warnings]
        return out


def _refuse(message: str, status: int = 422) -> InputError:
    return InputError([FieldError("file", message, "conflict" if status == 409 else "invalid")], status=status)


def read_state_file(path: Path) -> tuple[bytes, Path]:
    """The bytes of a state.json: ``path`` itself, or in a Thymis project folder (``repository/state.json``)."""
    path = Path(path)
    if path.is_dir():
        candidates = [path / "repository" / "state.json", path / "state.json"]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise _refuse(f"{path} is not a Thymis project folder: it has no repository/state.json or state.json")
        path = found
    try:
        with path.open("rb") as f:
            data = f.read(MAX_STATE_BYTES + 1)
    except OSError as exc:
        raise _refuse(f"cannot read {path}: {exc.strerror}") from None
    return data, path


# --- the file's shape: checked whole before anything is written ------------------------------------------


def _modules(where: str, value) -> list[dict]:
    if not isinstance(value, list):
        raise _refuse(f"{where}: modules must be a list")
    for index, module in enumerate(value):
        if not isinstance(module, dict) or not isinstance(module.get("type"), str) or not module["type"]:
            raise _refuse(f"{where}: module {index + 1} must be an object with a type")
        if not isinstance(module.get("settings", {}), dict):
            raise _refuse(f"{where}: the settings of module {module['type']} must be an object")
    return [{"type": m["type"], "settings": dict(m.get("settings") or {})} for m in value]


def _entries(state: dict, key: str, kind: str, extra: tuple[str, ...]) -> list[dict]:
    items = state.get(key, [])
    if not isinstance(items, list):
        raise _refuse(f"state.json: {key} must be a list")
    seen, out = set(), []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("identifier"), str) or not item["identifier"]:
            raise _refuse(f"state.json: {kind} {index + 1} must be an object with an identifier")
        identifier = item["identifier"]
        if identifier in seen:
            raise _refuse(f"state.json: the {kind} identifier {identifier} is used twice")
        seen.add(identifier)
        where = f"{kind} {identifier}"
        entry = {"identifier": identifier, "displayName": item.get("displayName") or identifier,
                 "modules": _modules(where, item.get("modules", []))}
        if "priority" in extra:
            entry["priority"] = item.get("priority", 90)
            if not isinstance(entry["priority"], int) or isinstance(entry["priority"], bool):
                raise _refuse(f"state.json: {where}: the priority must be a whole number")
        if "tags" in extra:
            tags = item.get("tags", [])
            if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                raise _refuse(f"state.json: {where}: tags must be a list of tag identifiers")
            entry["tags"] = list(dict.fromkeys(tags))
        out.append(entry)
    return out


def parse_state(data: bytes) -> dict:
    """A Thymis state.json, checked: {version, repositories, tags, configs}. InputError when it is not one."""
    if len(data) > MAX_STATE_BYTES:
        raise _refuse(f"the file is larger than {MAX_STATE_BYTES // (1024 * 1024)} MiB; a Thymis state.json is "
                      "much smaller")
    try:
        state = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise _refuse("the file is not UTF-8 text; a Thymis state.json is JSON") from None
    except json.JSONDecodeError as exc:
        raise _refuse(f"the file is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise _refuse("the file nests too deeply to be a Thymis state.json") from None
    if not isinstance(state, dict) or not any(k in state for k in ("repositories", "tags", "configs", "devices")):
        raise _refuse("the file is not a Thymis state.json: it has none of repositories, tags, configs")
    repositories = state.get("repositories", {})
    if not isinstance(repositories, dict) or not all(isinstance(r, dict) for r in repositories.values()):
        raise _refuse("state.json: repositories must be an object of {url, follows, inputs_follows}")
    configs_key = "configs" if "configs" in state or "devices" not in state else "devices"
    parsed = {"version": str(state.get("version", "")), "repositories": repositories,
              "tags": _entries(state, "tags", "tag", ("priority",)),
              "configs": _entries(state, configs_key, "configuration", ("tags",)),
              "other_keys": sorted(set(state) - {"version", "repositories", "tags", "configs", "devices"})}
    for entry in parsed["tags"] + parsed["configs"]:
        _split_thymis_device(entry["modules"])
    return parsed


def _split_thymis_device(modules: list[dict]) -> None:
    """States before 0.0.9 keep networking, localization, access and files settings in ThymisDevice: move them
    to the module that has them since (as Thymis's own migration does), so the same settings take effect."""
    device = next((m for m in modules if m["type"] == THYMIS_DEVICE), None)
    if device is None:
        return
    for module_type, keys in _SPLIT_MODULES.items():
        moved = {k: device["settings"].pop(k) for k in keys if k in device["settings"]}
        if not moved:
            continue
        target = next((m for m in modules if m["type"] == module_type), None)
        if target is None:
            modules.append({"type": module_type, "settings": moved})
        else:
            target["settings"] = {**moved, **target["settings"]}


# --- writing -----------------------------------------------------------------------------------------------


def _import_repositories(state: dict, settings, report: ImportReport) -> None:
    for name, repo in sorted(state["repositories"].items()):
        url = repo.get("url")
        if name in THYMIS_OWN_INPUTS:
            continue  # the thymis flake and its nixpkgs: THYMIS_FLAKE_URL here
        if not url:
            follows = repo.get("follows")
            report.not_imported.append(f"repository {name}: it has no URL" +
                                       (f" (it follows {follows}, which has no equivalent here)" if follows else ""))
            continue
        existing = Repository.get_or_none(Repository.name == name)
        if existing is not None:
            if existing.url == url or existing.url.rstrip("/") == url.rstrip("/"):
                report.warnings.append(f"repository {name} is already here; kept as it is")
            else:
                report.not_imported.append(f"repository {name}: a repository of that name is already here "
                                           f"with another URL ({existing.url})")
            continue
        try:
            row, job = create_repository({"display_name": name, "url": url, "name": name}, settings)
        except InputError as exc:
            report.not_imported.append(f"repository {name} ({url}): {exc}")
            continue
        report.repositories.append(row.name)
        report.jobs.append(job.id)
        if repo.get("inputs_follows"):
            pairs = ", ".join(f"{k} follows {v}" for k, v in sorted(repo["inputs_follows"].items()))
            report.warnings.append(f"repository {name}: its inputs_follows ({pairs}) are not carried over; "
                                   "the generated flake decides which inputs follow")


def _usable_modules(where: str, modules: list[dict], catalog: dict, report: ImportReport) -> tuple[list, list]:
    """(modules whose settings this controller accepts, modules kept as they are because none provides them)."""
    known, unknown, seen = [], [], set()
    for module in modules:
        if module["type"] in seen:
            report.not_imported.append(f"{where}: module {module['type']} is listed twice; the first is kept")
            continue
        seen.add(module["type"])
        if module["type"] not in catalog:
            unknown.append(module)
            report.warnings.append(f"{where}: module {module['type']} is not available here (yet); its settings "
                                   "are kept and it is left out of builds until a repository provides it")
            continue
        try:
            checked = parse_tag({"name": "x", "display_name": "x", "modules": [module]}, catalog=catalog,
                                existing=None)["modules"][0]
        except InputError as exc:
            report.not_imported.append(f"{where}: module {module['type']}: {exc}")
            continue
        known.append(checked)
    return known, unknown


def _with_kept(row, original: list, known: list, unknown: list) -> None:
    """Store the modules no module here provides as well, in the file's order (saving checks only known ones)."""
    if unknown:
        order = {m["type"]: i for i, m in enumerate(original)}
        model = type(row)
        model.update(modules=sorted(known + unknown, key=lambda m: order[m["type"]])).where(model.id == row.id) \
            .execute()


def _import_tags(state: dict, catalog: dict, report: ImportReport) -> None:
    for tag in state["tags"]:
        name, where = tag["identifier"], f"tag {tag['identifier']}"
        if Tag.select().where(Tag.name == name).exists():
            report.not_imported.append(f"{where}: a tag of that identifier is already here (imported devices "
                                       "that name it get that tag)")
            continue
        known, unknown = _usable_modules(where, tag["modules"], catalog, report)
        try:
            row = save_tag({"name": name, "display_name": tag["displayName"], "priority": tag["priority"],
                            "modules": known})
        except InputError as exc:
            report.not_imported.append(f"{where}: {exc}")
            continue
        _with_kept(row, tag["modules"], known, unknown)
        report.tags.append(name)


def _import_devices(state: dict, catalog: dict, report: ImportReport) -> None:
    for config in state["configs"]:
        name, where = config["identifier"], f"configuration {config['identifier']}"
        if Device.select().where(Device.name == name).exists():
            report.not_imported.append(f"{where}: a device of that identifier is already here")
            continue
        tags = [t for t in config["tags"] if t in report.tags or Tag.select().where(Tag.name == t).exists()]
        for missing in (t for t in config["tags"] if t not in tags):
            report.not_imported.append(f"{where}: its tag {missing} (the tag was not imported)")
        known, unknown = _usable_modules(where, config["modules"], catalog, report)
        try:
            row = save_device({"name": name, "display_name": config["displayName"], "target": "",
                               "tags": tags, "modules": known})
        except InputError as exc:
            report.not_imported.append(f"{where}: {exc}")
            continue
        _with_kept(row, config["modules"], known, unknown)
        report.devices.append(name)
    if report.devices:
        report.warnings.append("Thymis keeps deployment targets outside state.json: the imported devices have no "
                               "target and cannot be deployed until you set one ("
                               + ", ".join(report.devices) + ")")


def import_state(data: bytes, settings, source: str) -> ImportReport:
    """Import a state.json's content. Raises InputError (422 not a state.json, 409 imported before); else
    everything that can be carried over is written in one transaction and the report lists the rest."""
    state = parse_state(data)
    digest = hashlib.sha256(data).hexdigest()
    report = ImportReport(source=source, sha256=digest)
    key = RECORD_PREFIX + digest
    previous = ControllerSetting.get_or_none(ControllerSetting.key == key)
    if previous is not None:
        raise _refuse(f"this state.json was already imported ({json.loads(previous.value)['imported_at']}); "
                      "importing it again would change nothing", 409)
    with database.atomic():
        try:
            with database.atomic():
                ControllerSetting.create(key=key, value=json.dumps(
                    {"imported_at": utcnow().isoformat(timespec="seconds"), "source": source}))
        except IntegrityError:
            raise _refuse("this state.json was just imported by another request", 409) from None
        _import_repositories(state, settings, report)
        catalog = available_modules()
        _import_tags(state, catalog, report)
        _import_devices(state, catalog, report)
        report.not_imported += [f"state.json key {k}: this controller has no equivalent"
                                for k in state["other_keys"]]
    return report


def import_thymis_project(path: Path, settings) -> ImportReport:
    data, found = read_state_file(path)
    return import_state(data, settings, str(found))

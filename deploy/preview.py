"""Preview: the files a device's configuration is generated from, and their diff against an older
project commit (e.g. the last one built), read with Dulwich — before anything is built or committed."""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from dulwich.objects import Tree
from dulwich.repo import Repo

from deploy.render import RenderedProject
from thymis_controller.nix.text import nix_attr_name


@dataclass
class Preview:
    """files: path -> text of the device's files now (flake.nix, its modules, its tags' modules);
    diff: a unified diff against ``against`` ("" when identical); against: that commit or None."""
    device: str
    files: dict[str, str]
    diff: str
    against: str | None


def read_files(project_dir: Path, commit: str, prefixes: list[str]) -> dict[str, str]:
    """Text of every file of ``commit`` whose path equals or lies below one of ``prefixes``."""
    repo = Repo(str(project_dir))
    try:
        tree = repo[repo[commit.encode()].tree]
        out: dict[str, str] = {}
        for prefix in prefixes:
            _collect(repo, tree, prefix.strip("/"), out)
        return out
    finally:
        repo.close()


def _collect(repo: Repo, tree: Tree, prefix: str, out: dict[str, str]) -> None:
    obj = tree
    for part in [p for p in prefix.split("/") if p]:
        try:
            _mode, sha = obj[part.encode()]
        except KeyError:
            return
        obj = repo[sha]
        if not isinstance(obj, Tree):
            out[prefix] = obj.data.decode(errors="replace")
            return
    for entry in repo.object_store.iter_tree_contents(obj.id):
        path = f"{prefix}/{entry.path.decode()}" if prefix else entry.path.decode()
        out[path] = repo[entry.sha].data.decode(errors="replace")


def unified_diff(old: dict[str, str], new: dict[str, str], old_label: str, new_label: str) -> str:
    chunks = []
    for path in sorted(set(old) | set(new)):
        before, after = old.get(path), new.get(path)
        if before == after:
            continue
        chunks.extend(difflib.unified_diff(
            (before or "").splitlines(keepends=True), (after or "").splitlines(keepends=True),
            fromfile=f"a/{path}" if before is not None else "/dev/null",
            tofile=f"b/{path}" if after is not None else "/dev/null",
            fromfiledate=old_label, tofiledate=new_label))
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in chunks)


def preview_device(project_dir: Path, rendered: RenderedProject, device: str,
                   against: str | None = None) -> Preview:
    """The device's files as ``rendered`` (``deploy.render.render_project``) would write them, and the
    diff against project commit ``against`` (its flake.nix, hosts/<device>/ and the same tag files).
    With against=None every file shows as added."""
    if device not in rendered.device_paths:
        raise KeyError(f"no device {device!r} in the rendered project")
    paths = rendered.device_paths[device]
    files = {path: rendered.files[path] for path in paths}
    old: dict[str, str] = {}
    if against:
        old = read_files(Path(project_dir), against, ["flake.nix", f"hosts/{device}"]
                         + [p for p in paths if p.startswith("tags/")])
    label = against[:12] if against else "nothing"
    mine = {path: own_flake_text(text, device) if path == "flake.nix" else text for path, text in files.items()}
    if "flake.nix" in old:
        old["flake.nix"] = own_flake_text(old["flake.nix"], device)
    return Preview(device, files, unified_diff(old, mine, label, "new"), against)


_DEVICE_BLOCK = re.compile(r"^      (\S+) = nixpkgs\.lib\.nixosSystem \{$")


def own_flake_text(text: str, device: str) -> str:
    """flake.nix without the other devices' nixosConfigurations blocks (what a device's diff compares)."""
    out, skipping = [], False
    for line in text.splitlines(keepends=True):
        match = _DEVICE_BLOCK.match(line.rstrip("\n"))
        if match:
            skipping = match.group(1) != nix_attr_name(device)
        if not skipping:
            out.append(line)
        elif line.rstrip("\n") == "      };":
            skipping = False
    return "".join(out)

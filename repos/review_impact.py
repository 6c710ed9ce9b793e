"""For review: the commits from the active commit to the candidate (each with its signature state), and the
devices and tags that use the repository's modules, with those of them the candidate changes.

The mirror of a ``review: required`` repository is fetched ``HISTORY_DEPTH`` commits deep (not 1), so the
commits between are there to list; history beyond that, or an active commit that is no ancestor of the
candidate (a force-push), is said so, not guessed.
"""
from __future__ import annotations

import datetime
import heapq
from pathlib import Path

from dulwich.objects import Commit
from dulwich.repo import Repo

from models import Device, DeviceTag, Tag
from pipeline.fetch import commit_signature
from pipeline.signature import check_signature, signers_digest

HISTORY_DEPTH = 50   # commits fetched behind a candidate (review: required); at most this many are listed
_checked: dict[tuple[str, str, str | None], dict] = {}  # (mirror, commit, signers digest) -> signature state


def commit_info(obj: Commit) -> dict:
    when = datetime.datetime.fromtimestamp(obj.author_time, datetime.timezone(
        datetime.timedelta(seconds=obj.author_timezone)))
    return {"commit": obj.id.decode(), "author": obj.author.decode(errors="replace"), "date": when.isoformat(),
            "message": obj.message.decode(errors="replace")}


def _signature(mirror: Path, commit: str, allowed_signers: str | None) -> dict:
    """The signature step's verdict on one commit (checked once per process, commit and signer set)."""
    key = (str(mirror), commit, signers_digest(allowed_signers))
    if key not in _checked:
        result = check_signature(commit_signature(mirror, commit), allowed_signers)
        if len(_checked) > 10000:
            _checked.clear()
        _checked[key] = {"state": result.state, "detail": result.detail}
    return _checked[key]


def commits_between(mirror: Path, active: str | None, candidate: str, allowed_signers: str | None,
                    candidate_signature: dict | None) -> tuple[list[dict], dict]:
    """The commits reachable from the candidate and not from the active commit, newest first (by commit
    time, as ``git log``), and whether that list is complete (``{"complete": bool, "note": str | None}``)."""
    store = Repo(str(mirror)).object_store
    stop = active.encode() if active else None
    start = store[candidate.encode()]
    queue, seen, listed = [(-start.commit_time, start.id)], {start.id}, []
    reached, missing = stop is None, False
    while queue and len(listed) < HISTORY_DEPTH:
        _, sha = heapq.heappop(queue)
        obj = store[sha]
        listed.append(obj)
        for parent in obj.parents:
            if parent == stop:
                reached = True
            elif parent not in seen:
                seen.add(parent)
                if parent in store:
                    heapq.heappush(queue, (-store[parent].commit_time, parent))
                else:
                    missing = True
    commits = []
    for obj in listed:
        sha = obj.id.decode()
        signature = candidate_signature if sha == candidate else _signature(mirror, sha, allowed_signers)
        commits.append({**commit_info(obj), "signature": signature})
    if queue or (missing and not reached and len(listed) >= HISTORY_DEPTH) or (missing and stop is None):
        note = f"only the newest {len(listed)} commits are listed" + ("" if stop is None else
                                                                       "; the active commit is further back")
    elif reached:
        note = "the candidate merges older history that was not fetched" if missing else None
    elif missing:
        note = "the history behind the oldest commit listed was not fetched; the active commit is not in it"
    else:
        note = "the active commit is not an ancestor of the candidate (the branch was rewritten, e.g. force-pushed)"
    return commits, {"complete": note is None, "note": note}


def module_users(types: set[str], changed: set[str]) -> dict:
    """The devices and tags using any of ``types`` (the repository's modules, active or candidate): which they
    use and which of those the candidate changes (added, removed, settings changed). A device counts its tags'
    modules too. Three queries, whatever the fleet's size."""
    tags = {t.id: t for t in Tag.select().order_by(Tag.name)}
    tag_types = {tag_id: sorted({m["type"] for m in t.modules} & types) for tag_id, t in tags.items()}
    device_tags: dict[int, list[int]] = {}
    for link in DeviceTag.select(DeviceTag.device, DeviceTag.tag).order_by(DeviceTag.position):
        device_tags.setdefault(link.device_id, []).append(link.tag_id)
    devices = []
    for device in Device.select().order_by(Device.name):
        own = {m["type"] for m in device.modules} & types
        through = [tags[t].name for t in device_tags.get(device.id, []) if tag_types.get(t)]
        used = sorted(own | {x for t in device_tags.get(device.id, []) for x in tag_types.get(t, [])})
        if used:
            devices.append({"name": device.name, "display_name": device.display_name, "modules": used,
                            "changed": [t for t in used if t in changed], "tags": through})
    return {"devices": devices,
            "tags": [{"name": t.name, "display_name": t.display_name, "modules": tag_types[i],
                      "changed": [x for x in tag_types[i] if x in changed]} for i, t in tags.items() if tag_types[i]]}

"""Limits on what a remote may send, against a real git server that turns hostile after a good first fetch.

Each hostile answer must fail the refresh with its reason, keep the previous active commit, and leave no
temporary pack in the mirror and no partial export among the checkouts. Limits are small here (settings).
"""
import os
import tempfile
import time
from pathlib import Path

import pytest
from dulwich.objects import Commit, Tree
from dulwich.repo import Repo as DulwichRepo

from pipeline.export import ExportError, export_tree
from pipeline.leftovers import GRACE_SECONDS
from tests.conftest import wait_for_job
from tests.support.hostile_git import bomb_pack
from tests.test_api_repositories import FLAKE, README, added_and_fetched
from tests.test_fetch_export import crafted_commit

LIMITS = {"fetch_max_bytes": 256 * 1024, "fetch_max_object_bytes": 128 * 1024, "checkout_max_bytes": 300 * 1024,
          "checkout_max_files": 40, "fetch_stall_seconds": 2.0}


@pytest.fixture
def app_config():
    return dict(LIMITS)


@pytest.fixture
def ready(api, git_server, app):
    """A repository fetched and active; returns (server repository, its name on the server, API object)."""
    name = git_server.new_name("limits")
    repo = git_server.make_repo(name, {"README.md": README, "flake.nix": FLAKE})
    _, job, current = added_and_fetched(api, git_server.url(name), display_name=name)
    assert job["state"] == "succeeded", job
    return repo, name, current


def refresh_fails(api, app, current, message: str) -> dict:
    job = wait_for_job(api, api.post(f"/api/repositories/{current['name']}/refresh").get_json()["job_id"])
    assert job["state"] == "failed", job
    assert message in job["error"], job["error"]
    after = api.get(f"/api/repositories/{current['name']}").get_json()
    assert after["active_commit"] == current["active_commit"]
    assert after["fetched_commit"] == current["fetched_commit"]  # a refused commit is not kept as fetched
    assert after["status"] == "failed" and message in after["last_error"]
    assert f"still using {current['active_commit'][:7]}" in after["last_error"]
    settings = app.config["THYMIS"]
    packs = settings.mirror_path(current["name"]) / "objects" / "pack"
    assert [p.name for p in packs.iterdir() if not p.name.startswith("pack-")] == []
    assert [p.name for p in settings.checkout_root(current["name"]).iterdir()] == [current["active_commit"]]
    return job


def test_a_pack_larger_than_the_limit_fails_while_it_arrives(api, app, ready):
    repo, _, current = ready
    repo.commit({f"noise-{i}.bin": os.urandom(100 * 1024) for i in range(4)})  # incompressible, 400 KiB
    refresh_fails(api, app, current, "The pack the remote is sending exceeds the limit of 256 KiB "
                                     "(THYMIS_FETCH_MAX_BYTES)")


def test_one_object_over_the_limit_fails(api, app, ready):
    repo, _, current = ready
    repo.commit({"big.bin": os.urandom(200 * 1024)})
    refresh_fails(api, app, current, "An object in the pack (blob, 200 KiB) exceeds the limit of 128 KiB "
                                     "(THYMIS_FETCH_MAX_OBJECT_BYTES)")


def test_a_decompression_bomb_fails_on_its_header(api, app, git_server, ready):
    repo, name, current = ready
    repo.commit({"more.txt": "more"})
    git_server.hostile(name, "bomb")  # ~1 MB on the wire, 1 GiB inflated
    bomb_pack()  # built now: its checksum over 1 GiB can take longer than the 2 s stall limit on a busy machine
    refresh_fails(api, app, current, "An object in the pack (blob, 1 GiB) exceeds the limit of 128 KiB")


def test_garbage_pack_data_fails(api, app, git_server, ready):
    repo, name, current = ready
    repo.commit({"more.txt": "more"})
    git_server.hostile(name, "garbage")
    refresh_fails(api, app, current, "The remote sent invalid pack data")


def test_a_remote_that_goes_silent_mid_pack_fails_after_the_stall_timeout(api, app, git_server, ready):
    repo, name, current = ready
    repo.commit({"more.txt": "more"})
    git_server.hostile(name, "silence")
    refresh_fails(api, app, current, "The remote stopped sending: no data for 2 s (THYMIS_FETCH_STALL_SECONDS)")


def test_a_slow_remote_that_keeps_sending_is_not_a_stall_and_its_progress_moves(api, app, git_server, ready):
    repo, name, current = ready
    newer = repo.commit({f"noise-{i}.bin": os.urandom(8 * 1024) for i in range(4)})
    git_server.hostile(name, "trickle")  # 6 pieces 0.5 s apart: longer than the 2 s stall limit, no gap as long
    job_id = api.post(f"/api/repositories/{current['name']}/refresh").get_json()["job_id"]
    seen = set()
    while (job := api.get(f"/api/jobs/{job_id}").get_json())["state"] in ("queued", "running"):
        if job["progress"]["phase"] == "receiving":
            seen.add(job["progress"]["done"])
        time.sleep(0.1)
    assert job["state"] == "succeeded", job
    assert len(seen) >= 3, seen  # the received byte count moved while the pack arrived
    assert api.get(f"/api/repositories/{current['name']}").get_json()["active_commit"] == newer


def test_a_checkout_over_the_size_limit_is_not_exported(api, app, ready):
    repo, _, current = ready
    repo.commit({f"text-{i}.txt": "a" * 100 * 1024 for i in range(4)})  # tiny pack, 400 KiB of files
    refresh_fails(api, app, current,
                  "The checkout's total size exceeds the limit of 300 KiB (THYMIS_CHECKOUT_MAX_BYTES)")


def test_a_checkout_with_too_many_files_is_not_exported(api, app, ready):
    repo, _, current = ready
    repo.commit({f"f/{i}.txt": str(i) for i in range(45)})
    refresh_fails(api, app, current,
                  "The checkout's number of files exceeds the limit of 40 (THYMIS_CHECKOUT_MAX_FILES)")


def test_a_tree_naming_one_entry_twice_is_refused(tmp_path):
    """Such a tree (git itself refuses to write one) is stored as sent; Dulwich's Tree would hide the twin."""
    commit = crafted_commit(tmp_path / "m.git", [(b"a.txt", 0o100644)])
    repo = DulwichRepo(str(tmp_path / "m.git"))
    root = repo[repo[commit.encode()].tree]
    entry = root.as_raw_string()
    twin = Tree.from_raw_string(Tree.type_num, entry + entry)
    repo.object_store.add_object(twin)
    assert repo.object_store.get_raw(twin.id)[1] == entry + entry
    made = Commit.from_string(repo[commit.encode()].as_raw_string().replace(root.id, twin.id, 1))
    repo.object_store.add_object(made)
    commit = made.id.decode()
    repo.close()
    with pytest.raises(ExportError) as e:
        export_tree(tmp_path / "m.git", commit, tmp_path / "out")
    assert "malformed tree: two entries are named 'a.txt'" in str(e.value)
    assert not (tmp_path / "out").exists() and [p.name for p in tmp_path.iterdir()] == ["m.git"]


def test_start_up_removes_old_leftovers_and_keeps_fresh_ones(app_factory, tmp_path):
    data = tmp_path / "data"
    pack_dir = data / "repos" / "r.git" / "objects" / "pack"
    pack_dir.mkdir(parents=True)
    (data / "checkouts" / "r").mkdir(parents=True)
    old, fresh = time.time() - GRACE_SECONDS - 60, time.time()
    made = {
        "pack": pack_dir / "tmpabc123.pack",
        "thin pack": pack_dir.parent / "tmp_pack_xyz",
        "export": data / "checkouts" / "r" / f".{'1' * 40}.xyz.tmp",
        "sandbox": tmp_path / "sandbox-placeholder",
    }
    made["pack"].write_bytes(b"PACK")
    made["thin pack"].write_bytes(b"PACK")
    made["export"].mkdir()
    (made["export"] / "README.md").write_text("half")
    made["sandbox"] = Path(tempfile.mkdtemp(prefix="thymis-sandbox-"))
    kept = pack_dir / "tmpfresh.pack"
    kept.write_bytes(b"PACK")
    for path in made.values():
        os.utime(path, (old, old))
    os.utime(kept, (fresh, fresh))
    real = pack_dir / "pack-1.pack"
    real.write_bytes(b"PACK")
    os.utime(real, (old, old))
    app_factory()
    assert [name for name, path in made.items() if path.exists()] == []
    assert kept.exists() and real.exists()


def test_a_fetch_stopped_while_receiving_leaves_no_temporary_pack(git_server, tmp_path):
    from pipeline.fetch import fetch
    from repos.urls import parse_remote_url
    name = git_server.new_name("stopped")
    git_server.make_repo(name, {"README.md": README, "noise.bin": os.urandom(300 * 1024)})

    def progress(phase, done, total):
        if phase == "receiving":
            raise SystemExit("the worker is stopping")  # as a graceful stop would end the thread

    with pytest.raises(SystemExit):
        fetch(tmp_path / "m.git", parse_remote_url(git_server.url(name)), progress=progress)
    assert sorted(p.name for p in (tmp_path / "m.git" / "objects" / "pack").iterdir()) == []

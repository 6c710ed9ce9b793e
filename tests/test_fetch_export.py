"""export_tree: real trees fetched from the test git server, and crafted trees built with Dulwich objects."""

import os
import stat

import pytest
from dulwich.objects import Blob, Commit, Tree
from dulwich.repo import Repo

from pipeline.export import ExportError, export_tree
from pipeline.fetch import fetch
from repos.urls import parse_remote_url
from tests.support.git import Executable, Submodule, Symlink


def crafted_commit(mirror, entries, nested=None) -> str:
    """A commit whose root tree holds ``entries`` [(name, mode)] (each a blob) and, optionally,
    a subdirectory ``nested = (dirname, entries)``."""
    repo = Repo.init_bare(str(mirror), mkdir=True)
    blob = Blob.from_string(b"payload\n")
    repo.object_store.add_object(blob)

    def tree_of(items):
        tree = Tree()
        for name, mode in items:
            tree.add(name, mode, blob.id)
        return tree

    root = tree_of(entries)
    if nested:
        sub = tree_of(nested[1])
        repo.object_store.add_object(sub)
        root.add(nested[0], stat.S_IFDIR, sub.id)
    repo.object_store.add_object(root)
    commit = Commit()
    commit.tree = root.id
    commit.author = commit.committer = b"Mallory <m@example.com>"
    commit.author_time = commit.commit_time = 1_700_000_000
    commit.author_timezone = commit.commit_timezone = 0
    commit.message = b"crafted\n"
    repo.object_store.add_object(commit)
    repo.close()
    return commit.id.decode()


@pytest.mark.parametrize("name,reason", [
    (b"..", "would escape"),
    (b".", "would escape"),
    (b"", "would escape"),
    (b".git", "'.git' must not appear"),
    (b".GIT", "'.git' must not appear"),
    (b".Git", "'.git' must not appear"),
    (b"../../etc/passwd", "must not contain '/'"),
    (b"a/b", "must not contain '/'"),
    (b"/etc/passwd", "must not contain '/'"),
])
def test_refuses_entries_that_escape(tmp_path, name, reason):
    commit = crafted_commit(tmp_path / "m.git", [(b"ok.txt", 0o100644), (name, 0o100644)])
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ExportError) as e:
        export_tree(tmp_path / "m.git", commit, out / "x")
    assert reason in str(e.value)
    assert os.listdir(out) == []  # no partial result, no temporary directory left
    assert not (tmp_path / "etc").exists()


def test_refuses_nested_git_directory(tmp_path):
    commit = crafted_commit(tmp_path / "m.git", [(b"README.md", 0o100644)],
                            nested=(b"sub", [(b"ok", 0o100644), (b".git", 0o100644)]))
    with pytest.raises(ExportError) as e:
        export_tree(tmp_path / "m.git", commit, tmp_path / "out" / "x")
    assert "'sub/.git'" in str(e.value)
    assert os.listdir(tmp_path / "out") == []


def test_refuses_unknown_modes(tmp_path):
    commit = crafted_commit(tmp_path / "m.git", [(b"weird", 0o070000)])
    with pytest.raises(ExportError) as e:
        export_tree(tmp_path / "m.git", commit, tmp_path / "out")
    assert "unknown mode 70000" in str(e.value)


def test_refuses_missing_or_non_commit_objects(tmp_path):
    commit = crafted_commit(tmp_path / "m.git", [(b"a", 0o100644)])
    with pytest.raises(ExportError) as e:
        export_tree(tmp_path / "m.git", "1" * 40, tmp_path / "out")
    assert "is not in the mirror" in str(e.value)
    tree = Repo(str(tmp_path / "m.git"))[commit.encode()].tree.decode()
    with pytest.raises(ExportError) as e:
        export_tree(tmp_path / "m.git", tree, tmp_path / "out")
    assert "not a commit" in str(e.value)
    assert not (tmp_path / "out").exists()


@pytest.fixture
def exported(git_server, tmp_path):
    """A repository with executables, symlinks (some pointing outside) and a submodule, fetched and exported."""
    sub = git_server.make_repo(git_server.new_name("export-sub"), {"x": "x"})
    name = git_server.new_name("export-demo")
    git_server.make_repo(name, {
        "README.md": "contains thymis modules\n",
        "bin/run": Executable("#!/bin/sh\necho hi\n"),
        "lib/data.txt": "data\n",
        "link-to-readme": Symlink("README.md"),
        "escape": Symlink("../../../../etc/passwd"),
        "etc-dir": Symlink("/etc"),
        "vendor/sub": Submodule(sub.rev("main")),
    })
    mirror = tmp_path / "m.git"
    result = fetch(mirror, parse_remote_url(git_server.url(name)))
    dest = tmp_path / "checkouts" / result.commit
    notes = export_tree(mirror, result.commit, dest)
    return mirror, result.commit, dest, notes


def test_files_modes_and_symlinks(exported):
    _, _, dest, notes = exported
    assert (dest / "README.md").read_text() == "contains thymis modules\n"
    assert stat.S_IMODE((dest / "bin" / "run").stat().st_mode) == 0o755
    assert stat.S_IMODE((dest / "lib" / "data.txt").stat().st_mode) == 0o644
    for link, target in [("link-to-readme", "README.md"), ("escape", "../../../../etc/passwd"), ("etc-dir", "/etc")]:
        assert (dest / link).is_symlink() and os.readlink(dest / link) == target
    assert not (dest / "vendor" / "sub").exists()
    assert notes == [f"skipped submodule vendor/sub (commit {notes[0].split('commit ')[1][:40]}): "
                     "submodules are not fetched"]
    assert sorted(os.listdir(dest.parent)) == [dest.name]  # the temporary directory was renamed


def test_existing_destination_is_left_alone(exported):
    mirror, commit, dest, _ = exported
    before = sorted(os.listdir(dest))
    (dest / "README.md").chmod(0o600)
    assert export_tree(mirror, commit, dest) == []
    assert sorted(os.listdir(dest)) == before
    assert stat.S_IMODE((dest / "README.md").stat().st_mode) == 0o600

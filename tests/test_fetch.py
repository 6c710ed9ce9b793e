"""pipeline.fetch against a real git smart-HTTP server on loopback (tests/support/gitserver.py)."""

import os
import shutil
import subprocess

import pytest
from dulwich.repo import Repo as DulwichRepo

from pipeline.fetch import Auth, FetchError, export_tree, fetch, fetched_ref, ls_remote, nix_input_url
from repos.urls import parse_remote_url
from tests.support.git import git_env, run_git
from tests.support.gitserver import GitServer, closed_port_url


def spec_for(url: str, **kw):
    return parse_remote_url(url, **kw)


def blob_id(data: str) -> bytes:
    return run_git("hash-object", "--stdin", input=data.encode()).encode()


def fsck(mirror) -> None:
    proc = subprocess.run(["git", "--git-dir", str(mirror), "fsck", "--no-dangling"], env=git_env(),
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture
def demo(git_server):
    """A repository with two commits on main, a feature branch, and tags."""
    name = git_server.new_name("demo")
    repo = git_server.make_repo(name, {"README.md": "contains thymis modules\n"})
    repo.commit({"mod.py": "x = 1\n"}, "second")
    repo.commit({"feature.txt": "feature only\n"}, "feature work", branch="feature/x", start="main")
    repo.tag("v1", "main", message="release 1")  # annotated
    repo.tag("light", "main~1")  # lightweight
    return name, repo


def test_fetch_default_head(git_server, demo, tmp_path):
    name, repo = demo
    mirror = tmp_path / "m.git"
    result = fetch(mirror, spec_for(git_server.url(name)))
    assert result.commit == repo.rev("main")
    assert result.resolved_ref == "refs/heads/main"
    assert result.changed and result.bytes_received > 0
    with DulwichRepo(str(mirror)) as m:
        assert m.refs[fetched_ref(result.commit).encode()] == result.commit.encode()
        assert m.get_shallow() == {result.commit.encode()}  # depth 1
    fsck(mirror)


def test_fetch_follows_a_non_default_head(git_server, demo, tmp_path):
    name, repo = demo
    repo.set_head("feature/x")
    result = fetch(tmp_path / "m.git", spec_for(git_server.url(name)))
    assert (result.commit, result.resolved_ref) == (repo.rev("feature/x"), "refs/heads/feature/x")
    assert ls_remote(spec_for(git_server.url(name))).head == "refs/heads/feature/x"


@pytest.mark.parametrize("ref,resolved,expected", [
    ("feature/x", "refs/heads/feature/x", "feature/x"),
    ("refs/heads/main", "refs/heads/main", "main"),
    ("v1", "refs/tags/v1", "v1^{commit}"),
    ("refs/tags/v1", "refs/tags/v1", "v1^{commit}"),
    ("light", "refs/tags/light", "main~1"),
])
def test_fetch_branch_and_tags(git_server, demo, tmp_path, ref, resolved, expected):
    name, repo = demo
    mirror = tmp_path / "m.git"
    result = fetch(mirror, spec_for(git_server.url(name)), ref)
    assert (result.commit, result.resolved_ref) == (repo.rev(expected), resolved)
    fsck(mirror)


def test_annotated_tag_is_peeled(git_server, demo, tmp_path):
    name, repo = demo
    result = fetch(tmp_path / "m.git", spec_for(git_server.url(name)), "v1")
    assert repo.rev("refs/tags/v1") != result.commit  # the tag object ...
    assert result.commit == repo.rev("main")  # ... peeled to its commit


def test_branch_wins_over_tag_of_the_same_name(git_server, demo, tmp_path):
    name, repo = demo
    repo.branch("same", "main")
    repo.tag("same", "main~1")
    assert fetch(tmp_path / "m.git", spec_for(git_server.url(name)), "same").resolved_ref == "refs/heads/same"


def test_fetch_by_full_commit_id(git_server, demo, tmp_path):
    name, repo = demo
    old = repo.rev("main~1")  # not the tip of any branch (only of a lightweight tag)
    repo.delete_ref("refs/tags/light")
    result = fetch(tmp_path / "m.git", spec_for(git_server.url(name)), old.upper())
    assert (result.commit, result.resolved_ref, result.changed) == (old, old, True)
    fsck(tmp_path / "m.git")


def test_ref_and_rev_from_the_url(git_server, demo, tmp_path):
    name, repo = demo
    url = git_server.url(name)
    assert fetch(tmp_path / "a.git", spec_for(f"git+{url}?ref=feature/x")).commit == repo.rev("feature/x")
    old = repo.rev("main~1")
    assert fetch(tmp_path / "b.git", spec_for(f"git+{url}?ref=main&rev={old}")).commit == old
    # an explicit ref argument wins over the URL's
    assert fetch(tmp_path / "c.git", spec_for(f"git+{url}?ref=feature/x"), "main").commit == repo.rev("main")


def test_refresh_after_a_new_commit(git_server, demo, tmp_path):
    name, repo = demo
    mirror, spec = tmp_path / "m.git", spec_for(git_server.url(name))
    first = fetch(mirror, spec)
    new = repo.commit({"mod.py": "x = 2\n"}, "third")
    second = fetch(mirror, spec)
    assert second.changed and second.commit == new != first.commit
    assert second.bytes_received > 0
    with DulwichRepo(str(mirror)) as m:  # both commits stay reachable for builds
        assert {fetched_ref(first.commit).encode(), fetched_ref(new).encode()} <= set(m.refs.keys())
    fsck(mirror)


def test_unchanged_refresh_only_asks_for_refs(git_server, demo, tmp_path):
    name, repo = demo
    mirror, spec = tmp_path / "m.git", spec_for(git_server.url(name))
    first = fetch(mirror, spec)
    packs = git_server.fetch_requests(name)
    again = fetch(mirror, spec)
    assert (again.commit, again.changed, again.bytes_received) == (first.commit, False, 0)
    assert git_server.fetch_requests(name) == packs  # no pack negotiated or downloaded


def test_only_the_wanted_refs_objects_are_fetched(git_server, tmp_path):
    name = git_server.new_name("many")
    repo = git_server.make_repo(name, {"README.md": "shared\n"})
    for i in range(20):
        repo.commit({f"only-{i}.txt": f"unique content of branch {i}\n"}, f"b{i}", branch=f"b{i}", start="main")
        repo.tag(f"t{i}", f"b{i}", message=f"tag {i}")
    repo.commit({"old.txt": "history behind main's tip\n"}, "old")
    repo.commit({"main.txt": "main tip\n"}, "tip", remove=("old.txt",))
    mirror = tmp_path / "m.git"
    fetch(mirror, spec_for(git_server.url(name)), "main")
    with DulwichRepo(str(mirror)) as m:
        assert blob_id("main tip\n") in m.object_store
        for i in range(20):
            assert blob_id(f"unique content of branch {i}\n") not in m.object_store
        assert blob_id("history behind main's tip\n") not in m.object_store  # depth 1
        assert all(ref.startswith(b"refs/thymis/fetched/") for ref in m.refs.keys() if ref != b"HEAD")


def test_unknown_ref(git_server, demo, tmp_path):
    name, _ = demo
    with pytest.raises(FetchError) as e:
        fetch(tmp_path / "m.git", spec_for(git_server.url(name)), "no-such-branch")
    assert e.value.code == "unknown_ref"
    assert "no branch or tag named 'no-such-branch'" in e.value.message
    with pytest.raises(FetchError) as e:
        fetch(tmp_path / "m.git", spec_for(git_server.url(name)), "abc1234")
    assert "give all 40 characters" in e.value.message


def test_unknown_commit_id(git_server, demo, tmp_path):
    name, _ = demo
    with pytest.raises(FetchError) as e:
        fetch(tmp_path / "m.git", spec_for(git_server.url(name)), "1" * 40)
    assert e.value.code == "unknown_ref" and "1" * 40 in e.value.message


def test_invalid_ref_argument(git_server, demo, tmp_path):
    name, _ = demo
    with pytest.raises(FetchError) as e:
        fetch(tmp_path / "m.git", spec_for(git_server.url(name)), "bad..ref")
    assert e.value.code == "unknown_ref" and "'..'" in e.value.message


def test_empty_repository_has_no_head(git_server, tmp_path):
    name = git_server.new_name("empty")
    git_server.make_repo(name)
    with pytest.raises(FetchError) as e:
        fetch(tmp_path / "m.git", spec_for(git_server.url(name)))
    assert e.value.code == "unknown_ref" and "no default branch" in e.value.message


def test_protocol_v0_server(tmp_path):
    with GitServer(tmp_path / "srv", allow_sha_in_want=False, protocol_v2=False) as server:
        repo = server.make_repo("old", {"a": "1"})
        old = repo.rev("main")
        gone = repo.commit({"b": "1"}, branch="gone", start="main")
        repo.delete_ref("refs/heads/gone")
        repo.commit({"a": "2"})
        spec = spec_for(server.url("old"))
        assert fetch(tmp_path / "m.git", spec).commit == repo.rev("main")
        assert fetch(tmp_path / "m.git", spec, old).commit == old  # reachable: allowed
        fsck(tmp_path / "m.git")
        with pytest.raises(FetchError) as e:
            fetch(tmp_path / "m.git", spec, gone)  # unreachable: refused
        assert e.value.code == "unknown_ref" and gone in e.value.message


def test_removed_repository_is_not_found(git_server, demo, tmp_path):
    name, _ = demo
    git_server.remove_repo(name)
    with pytest.raises(FetchError) as e:
        fetch(tmp_path / "m.git", spec_for(git_server.url(name)))
    assert e.value.code == "not_found" and "404" in e.value.message


def test_failed_fetch_keeps_the_previous_commit(git_server, demo, tmp_path):
    name, _ = demo
    mirror, spec = tmp_path / "m.git", spec_for(git_server.url(name))
    first = fetch(mirror, spec)
    with pytest.raises(FetchError):
        fetch(mirror, spec, "missing")
    with DulwichRepo(str(mirror)) as m:
        assert first.commit.encode() in m.object_store
    assert fetch(mirror, spec).changed is False


def test_connection_refused(tmp_path):
    with pytest.raises(FetchError) as e:
        fetch(tmp_path / "m.git", spec_for(closed_port_url()), connect_timeout=5)
    assert e.value.code == "unreachable" and "Connection refused" in e.value.message


def test_unknown_host(tmp_path):
    with pytest.raises(FetchError) as e:
        fetch(tmp_path / "m.git", spec_for("https://no-such-host.invalid/r.git"), connect_timeout=5)
    assert e.value.code == "unreachable" and "no-such-host.invalid" in e.value.message


def test_server_that_never_answers_times_out(stuck_server, tmp_path):
    with pytest.raises(FetchError) as e:
        fetch(tmp_path / "m.git", spec_for(stuck_server.url()), connect_timeout=0.5, transfer_timeout=30)
    assert e.value.code == "timeout" and "did not answer within 0.5 s" in e.value.message
    with pytest.raises(FetchError) as e:
        ls_remote(spec_for(stuck_server.url()), connect_timeout=0.5)
    assert e.value.code == "timeout"


def test_transfer_that_stalls_times_out(git_server, demo, tmp_path):
    name, _ = demo
    git_server.stall(name)
    with pytest.raises(FetchError) as e:
        fetch(tmp_path / "m.git", spec_for(git_server.url(name)), connect_timeout=5, transfer_timeout=1)
    assert e.value.code == "timeout" and "did not finish within 1 s" in e.value.message


TOKEN = "tok-3f9a1c77e2"


@pytest.fixture
def private(git_server, demo):
    name, repo = demo
    git_server.require_auth(name, "alice", TOKEN)
    return name, repo


def test_auth_required_without_credentials(git_server, private, tmp_path):
    name, _ = private
    with pytest.raises(FetchError) as e:
        fetch(tmp_path / "m.git", spec_for(git_server.url(name)))
    assert e.value.code == "auth_required"
    with pytest.raises(FetchError) as e:
        ls_remote(spec_for(git_server.url(name)))
    assert e.value.code == "auth_required"


def test_auth_failed_with_wrong_credentials(git_server, private, tmp_path):
    name, _ = private
    with pytest.raises(FetchError) as e:
        fetch(tmp_path / "m.git", spec_for(git_server.url(name)), auth=Auth("alice", "wrong-password"))
    assert e.value.code == "auth_failed"
    assert "wrong-password" not in e.value.message


def test_auth_succeeds_and_no_secret_is_stored(git_server, private, tmp_path):
    name, repo = private
    mirror = tmp_path / "m.git"
    assert fetch(mirror, spec_for(git_server.url(name)), auth=Auth("alice", TOKEN)).commit == repo.rev("main")
    # credentials pasted inside the URL work too, and are not kept either
    url = git_server.url(name).replace("http://", f"http://alice:{TOKEN}@")
    spec = spec_for(url)
    assert TOKEN not in spec.url and TOKEN not in spec.fetch_url
    assert fetch(tmp_path / "n.git", spec, "feature/x").commit == repo.rev("feature/x")
    assert sorted(ls_remote(spec, auth=Auth("alice", TOKEN))) == sorted(ls_remote(spec))
    for m in (mirror, tmp_path / "n.git"):
        config = (m / "config").read_text()
        assert TOKEN not in config and "alice" not in config and "remote" not in config
        for root, _, files in os.walk(m):
            for f in files:
                with open(os.path.join(root, f), "rb") as fh:
                    assert TOKEN.encode() not in fh.read()


def test_ls_remote(git_server, demo):
    name, repo = demo
    refs = ls_remote(spec_for(git_server.url(name)))
    assert refs.head == "refs/heads/main"
    assert refs["HEAD"] == refs["refs/heads/main"] == repo.rev("main")
    assert refs["refs/heads/feature/x"] == repo.rev("feature/x")
    assert refs["refs/tags/v1"] == repo.rev("refs/tags/v1")
    assert refs["refs/tags/v1^{}"] == repo.rev("main")


def test_progress_is_reported(git_server, demo, tmp_path):
    name, _ = demo
    calls = []
    fetch(tmp_path / "m.git", spec_for(git_server.url(name)), progress=lambda *a: calls.append(a))
    phases = [phase for phase, _, _ in calls]
    assert phases[0] == "connecting" and phases[-1] == "done"
    assert "receiving" in phases
    assert all(isinstance(done, int) and isinstance(total, int) for _, done, total in calls)


def test_local_repository(git_server, demo, tmp_path):
    name, repo = demo
    spec = spec_for(str(repo.path), allow_local=True)
    result = fetch(tmp_path / "m.git", spec, "feature/x")
    assert (result.commit, result.resolved_ref) == (repo.rev("feature/x"), "refs/heads/feature/x")
    assert fetch(tmp_path / "m.git", spec, "feature/x").changed is False
    fsck(tmp_path / "m.git")
    with pytest.raises(FetchError) as e:
        fetch(tmp_path / "x.git", spec_for(str(tmp_path / "nothing-here"), allow_local=True))
    assert e.value.code == "not_found"
    (tmp_path / "empty-dir").mkdir()
    with pytest.raises(FetchError) as e:
        fetch(tmp_path / "x.git", spec_for(str(tmp_path / "empty-dir"), allow_local=True))
    assert e.value.code == "not_found"


def test_local_working_tree(tmp_path):
    work = tmp_path / "work"
    run_git("init", "--quiet", "--initial-branch", "dev", work)
    (work / "flake.nix").write_text("{ outputs = _: { }; }\n")
    run_git("-C", work, "add", "flake.nix")
    run_git("-C", work, "commit", "--quiet", "-m", "first")
    result = fetch(tmp_path / "m.git", spec_for(f"file://{work}", allow_local=True))
    assert (result.commit, result.resolved_ref) == (run_git("-C", work, "rev-parse", "HEAD"), "refs/heads/dev")


def test_git_protocol(git_server, git_daemon, demo, tmp_path):
    name, repo = demo
    spec = spec_for(git_daemon.url(name))
    assert fetch(tmp_path / "m.git", spec, "v1").commit == repo.rev("main")
    result = fetch(tmp_path / "m.git", spec, "feature/x")
    assert (result.commit, result.changed) == (repo.rev("feature/x"), True)
    assert fetch(tmp_path / "m.git", spec, "feature/x").bytes_received == 0
    fsck(tmp_path / "m.git")
    assert ls_remote(spec).head == "refs/heads/main"
    with pytest.raises(FetchError) as e:
        fetch(tmp_path / "m.git", spec, "nope")
    assert e.value.code == "unknown_ref"
    with pytest.raises(FetchError) as e:
        fetch(tmp_path / "m.git", spec_for(git_daemon.url("no-such-repo")))
    assert e.value.code == "not_found"


@pytest.mark.skipif(shutil.which("nix") is None, reason="nix is not installed")
def test_nix_builds_from_the_exported_checkout(git_server, tmp_path):
    name = git_server.new_name("flake")
    repo = git_server.make_repo(name, {"flake.nix": "{ outputs = { self }: { value = 1; }; }\n"})
    mirror, spec = tmp_path / "m.git", spec_for(git_server.url(name))
    fetch(mirror, spec)
    repo.commit({"flake.nix": "{ outputs = { self }: { value = 2; }; }\n"})
    second = fetch(mirror, spec)  # incremental fetch into the shallow mirror
    checkout = tmp_path / "checkouts" / second.commit
    export_tree(mirror, second.commit, checkout)
    env = dict(git_env(), HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "cache"))
    proc = subprocess.run(
        ["nix", "--extra-experimental-features", "nix-command flakes", "eval", "--offline",
         nix_input_url(checkout) + "#value"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "2"

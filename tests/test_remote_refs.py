"""The remote's branches and tags through Dulwich (the real git server, HTTP and git://), bounded against a hostile
remote, storing nothing; and Save asking before it keeps a ref the remote does not have."""
import time

from models import KnownHost, Repository
from repos.remote_refs import MAX_SHOWN
from tests.conftest import wait_for_job


def _repo_with_refs(git_server, prefix="refs"):
    name = git_server.new_name(prefix)
    repo = git_server.make_repo(name, {"README.md": "x\n"})
    main = repo.rev("refs/heads/main")
    repo.branch("dev")
    repo.tag("v1", message="release one")  # annotated: listed at its commit, not the tag object
    return name, repo, main


def _pack_refs(git_server, name, names, sha):
    """Write refs straight into packed-refs (a remote advertising many or very long names)."""
    path = git_server.root / f"{name}.git" / "packed-refs"
    path.write_text("".join(f"{sha} {ref}\n" for ref in sorted(names)))


def test_lists_branches_and_tags_with_their_commits_and_stores_nothing(api, git_server, git_daemon):
    name, repo, main = _repo_with_refs(git_server)
    for url in (git_server.url(name), git_daemon.url(name)):
        body = api.post("/api/remote-refs", json={"url": url, "ref": "v1"}).get_json()
        assert body["ok"], body
        listed = {(r["name"], r["kind"], r["commit"], r["default"]) for r in body["refs"]}
        assert listed == {("main", "branch", main, True), ("dev", "branch", main, False), ("v1", "tag", main, False)}
        assert body["refs"][0]["name"] == "main"  # the default branch first
        assert body["resolved"] == {"ref": "refs/tags/v1", "commit": main}
        assert body["message"] == "The remote lists 2 branch(es) and 1 tag(s)."
    missing = api.post("/api/remote-refs", json={"url": git_server.url(name), "ref": "nope"}).get_json()
    assert missing["resolved"] == {"error": "unknown ref: the remote has no branch or tag named 'nope'"}
    assert Repository.select().count() == 0 and KnownHost.select().count() == 0


def test_a_saved_repository_lists_with_its_saved_url(api, git_server):
    name, _repo, main = _repo_with_refs(git_server)
    created = api.post("/api/repositories", json={"display_name": "Listed", "url": git_server.url(name),
                                                  "ref": "dev"}).get_json()
    wait_for_job(api, created["job_id"])
    body = api.get(f"/api/repositories/{created['name']}/refs").get_json()
    assert body["resolved"] == {"ref": "refs/heads/dev", "commit": main}
    other = api.get(f"/api/repositories/{created['name']}/refs?ref=v1").get_json()
    assert other["resolved"]["ref"] == "refs/tags/v1" and len(other["refs"]) == 3
    assert api.get("/api/repositories/nothing-here/refs").status_code == 404


def test_many_refs_are_cut_and_names_git_refuses_are_left_out(api, git_server):
    name, _repo, main = _repo_with_refs(git_server, "many")
    names = [f"refs/heads/b{i:05d}" for i in range(2000)]
    names += ["refs/heads/" + "x" * 300, "refs/tags/bad..name", "refs/heads/main", "refs/heads/dev"]
    _pack_refs(git_server, name, names, main)
    body = api.post("/api/remote-refs", json={"url": git_server.url(name)}).get_json()
    assert body["ok"] and body["truncated"] and body["total"] == 2003 and body["skipped"] == 2
    assert len(body["refs"]) == MAX_SHOWN and body["refs"][0]["name"] == "main"
    assert all(len(r["name"]) <= 255 for r in body["refs"])
    assert "the first 300 are shown" in body["message"] and "2 with names git does not allow" in body["message"]


def test_a_remote_advertising_100k_refs_is_refused_quickly(api, git_server, git_daemon):
    name, _repo, main = _repo_with_refs(git_server, "flood")
    _pack_refs(git_server, name, [f"refs/heads/flood/{i:06d}-{'y' * 40}" for i in range(100_000)]
               + ["refs/heads/main"], main)
    for url in (git_server.url(name), git_daemon.url(name)):
        started = time.monotonic()
        body = api.post("/api/remote-refs", json={"url": url}).get_json()
        assert time.monotonic() - started < 20
        assert body["ok"] is False and body["code"] == "too_large", body
        assert "larger than 4096 KiB" in body["message"]
    tested = api.post("/api/test-connection", json={"url": git_server.url(name)}).get_json()
    assert tested["ok"] is False and tested["code"] == "too_large"  # Test connection is bounded the same way


def test_refs_outside_branches_and_tags_are_not_asked_for_and_bounded_when_sent(api, tmp_path):
    from tests.support.gitserver import GitServer
    for v2 in (True, False):
        with GitServer(tmp_path / f"srv-{v2}", protocol_v2=v2) as server:
            name, _repo, main = _repo_with_refs(server, "pulls")
            pulls = [f"refs/pull/{i}/head-{'z' * 40}" for i in range(100_000)]
            _pack_refs(server, name, pulls + ["refs/heads/main", "refs/heads/dev"], main)
            body = api.post("/api/remote-refs", json={"url": server.url(name)}).get_json()
            if v2:  # the server filters: only HEAD, branches and tags come
                assert body["ok"] and body["total"] == 3, body
            else:  # protocol v0 advertises everything: the answer is cut at the limit
                assert body["ok"] is False and body["code"] == "too_large", body


def test_save_asks_before_keeping_a_ref_the_remote_does_not_have(api, git_server):
    name, _repo, main = _repo_with_refs(git_server, "ask")
    url = git_server.url(name)
    refused = api.post("/api/repositories", json={"display_name": "Asks", "url": url, "ref": "nope"})
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["field"] == "ref" and error["errors"][0]["code"] == "unknown_ref"
    assert error["message"].startswith("Unknown ref: the remote has no branch or tag named 'nope'.")
    assert "confirm_unknown_ref" in error["message"]
    assert Repository.select().count() == 0  # nothing stored
    created = api.post("/api/repositories", json={"display_name": "Asks", "url": url, "ref": "v1"})
    assert created.status_code == 201
    repo = created.get_json()["name"]
    wait_for_job(api, created.get_json()["job_id"])
    again = api.patch(f"/api/repositories/{repo}", json={"ref": "gone"})
    assert again.status_code == 409 and Repository.get(Repository.name == repo).ref == "v1"
    assert api.patch(f"/api/repositories/{repo}", json={"display_name": "Renamed"}).status_code == 200
    commit = api.patch(f"/api/repositories/{repo}", json={"ref": "0" * 40})  # a commit id: not asked
    assert commit.status_code == 200
    wait_for_job(api, commit.get_json()["job_id"])
    kept = api.patch(f"/api/repositories/{repo}", json={"ref": "gone", "confirm_unknown_ref": True})
    assert kept.status_code == 200 and kept.get_json()["ref"] == "gone"
    bad = api.patch(f"/api/repositories/{repo}", json={"confirm_unknown_ref": "yes"})
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "confirm_unknown_ref"


def test_over_ssh_with_the_hosts_key_and_no_host_key_recorded(api, git_server, sshd):
    name, _repo, main = _repo_with_refs(git_server, "ssh-refs")
    url = sshd.url(git_server.root / f"{name}.git")
    sshd.authorize(api.get("/api/host-ssh-key").get_json()["public_key"])
    body = api.post("/api/remote-refs", json={"url": url, "access": {"kind": "host-ssh-key"}}).get_json()
    assert body["ok"], body
    assert {r["name"] for r in body["refs"]} == {"main", "dev", "v1"} and body["resolved"]["commit"] == main
    assert KnownHost.select().count() == 0  # listing trusts nothing: the first fetch records the host key
    refused = api.post("/api/remote-refs", json={"url": url})  # no credentials: the reason, not a crash
    assert refused.status_code == 200 and refused.get_json()["ok"] is False

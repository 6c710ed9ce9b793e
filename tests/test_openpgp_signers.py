"""OpenPGP allowed signers: ASCII-armoured public keys beside the SSH lines, verified by gpg against only those.

Real keys made in the test (gpg --quick-gen-key ed25519), commits signed by git itself (gpg.format=openpgp) or
crafted by hand, served by the real git server."""
import socket
import subprocess
import threading

import pytest

from tests.conftest import wait_for_job
from tests.test_signed_commits import FILES, add, keys, served, step  # noqa: F401  (keys is a fixture)

PAST = "20200101T000000"


@pytest.fixture
def pgp(gpg):
    alice = gpg.generate("Alice <alice@example.com>")
    mallory = gpg.generate("Mallory <mallory@example.com>")
    return {"alice": alice, "mallory": mallory, "alice_key": gpg.public(alice), "mallory_key": gpg.public(mallory)}


def pgp_served(git_server, gpg, key, *, faked_time=None):
    name, repo, _ = served(git_server, None, sign_with=None)
    commit = repo.signed_commit({"more.txt": "signed\n"}, key, gpg_program=gpg.program(faked_time))
    return name, repo, commit


def test_a_commit_signed_by_an_allowed_openpgp_key_becomes_active(api, git_server, gpg, pgp, keys):  # noqa: F811
    name, _, commit = pgp_served(git_server, gpg, pgp["alice"])
    # SSH lines and OpenPGP blocks side by side.
    signers = f"{keys['mallory_line']}\n{pgp['alice_key']}"
    job, repo = add(api, git_server, name, signers)
    assert job["state"] == "succeeded", job
    assert repo["active_commit"] == commit
    assert step(repo) == {"step": "signature", "state": "passed",
                          "detail": f"signed by Alice <alice@example.com> (OpenPGP {pgp['alice']})"}
    assert pgp["alice_key"].strip() in repo["allowed_signers"]


def test_unsigned_and_signed_by_another_key(api, git_server, gpg, pgp, keys):  # noqa: F811
    name, _, _ = served(git_server, None, sign_with=None)
    job, repo = add(api, git_server, name, pgp["alice_key"])
    assert job["state"] == "failed" and step(repo)["detail"] == "unsigned: the commit has no signature"
    name, _, _ = pgp_served(git_server, gpg, pgp["mallory"])
    job, repo = add(api, git_server, name, pgp["alice_key"])
    assert job["state"] == "failed" and repo["active_commit"] is None
    assert step(repo)["detail"] == f"signed by an unknown key {pgp['mallory']}"
    assert step(repo, "modules")["state"] == "skipped"  # no code of it ran
    # Only SSH keys listed: an OpenPGP signature is by an unknown key, named by its fingerprint too.
    name, _, _ = pgp_served(git_server, gpg, pgp["alice"])
    job, repo = add(api, git_server, name, keys["mallory_line"])
    assert step(repo)["detail"] == f"signed by an unknown key {pgp['alice']}"


def test_a_changed_commit_with_the_old_signature_is_a_bad_signature(api, git_server, gpg, pgp):
    name, repo_on_server, signed = pgp_served(git_server, gpg, pgp["alice"])
    repo_on_server.tampered(signed, "not what alice signed")
    job, repo = add(api, git_server, name, pgp["alice_key"])
    assert job["state"] == "failed" and repo["active_commit"] is None
    assert step(repo)["detail"].startswith("bad signature: the signature does not match")


def test_a_signing_subkey_of_an_allowed_key_is_accepted(api, git_server, gpg):
    primary = gpg.generate("Carol <carol@example.com>", usage="cert")
    gpg.add_signing_subkey(primary)
    second = gpg.add_signing_subkey(primary)
    name, _, commit = pgp_served(git_server, gpg, second + "!")
    job, repo = add(api, git_server, name, gpg.public(primary))
    assert job["state"] == "succeeded", step(repo)
    assert step(repo)["detail"] == f"signed by Carol <carol@example.com> (OpenPGP {primary}, subkey {second})"


def test_an_expired_key_is_refused(api, git_server, gpg):
    old = gpg.generate("Old <old@example.com>", expire="1d", faked_time=PAST)
    name, _, _ = pgp_served(git_server, gpg, old, faked_time="20200101T120000")
    job, repo = add(api, git_server, name, gpg.public(old))
    assert job["state"] == "failed" and repo["active_commit"] is None
    assert step(repo)["detail"].startswith("bad signature: made by a key that has expired")


def test_crafted_signatures_are_refused(api, git_server, gpg, pgp):
    name, server_repo, _ = served(git_server, None, sign_with=None)
    unsigned = server_repo.commit({"x.txt": "x\n"}, "crafted")
    # An inline-signed message by alice (of other data), labelled as a detached signature.
    inline = gpg.run("-u", pgp["alice"], "--armor", "--sign", input=b"other data").replace("PGP MESSAGE",
                                                                                          "PGP SIGNATURE")
    server_repo.with_signature(unsigned, lambda payload: inline.encode())
    job, repo = add(api, git_server, name, pgp["alice_key"])
    assert job["state"] == "failed" and step(repo)["detail"].startswith("bad signature"), step(repo)
    # Two signatures in one: alice's good one and mallory's.
    server_repo.with_signature(unsigned, lambda payload: gpg.detach_sign(payload, pgp["alice"], pgp["mallory"]))
    refreshed = api.post(f"/api/repositories/{repo['name']}/refresh").get_json()
    assert wait_for_job(api, refreshed["job_id"])["state"] == "failed"
    repo = api.get(f"/api/repositories/{repo['name']}").get_json()
    assert step(repo)["detail"] == "bad signature: the commit carries more than one OpenPGP signature"
    # Garbage in the armour.
    garbage = b"-----BEGIN PGP SIGNATURE-----\n\nAAAA////\n=AAAA\n-----END PGP SIGNATURE-----\n"
    server_repo.with_signature(unsigned, lambda payload: garbage)
    refreshed = api.post(f"/api/repositories/{repo['name']}/refresh").get_json()
    assert wait_for_job(api, refreshed["job_id"])["state"] == "failed"
    repo = api.get(f"/api/repositories/{repo['name']}").get_json()
    assert step(repo)["detail"].startswith("bad signature") and repo["active_commit"] is None
    # The real thing, crafted the same way, passes: the refusals above are about the signatures.
    good = server_repo.with_signature(unsigned, lambda payload: gpg.detach_sign(payload, pgp["alice"]))
    refreshed = api.post(f"/api/repositories/{repo['name']}/refresh").get_json()
    assert wait_for_job(api, refreshed["job_id"])["state"] == "succeeded"
    assert api.get(f"/api/repositories/{repo['name']}").get_json()["active_commit"] == good


def test_gpg_never_reads_the_users_home_or_asks_a_key_server(api, git_server, gpg, pgp, tmp_path, monkeypatch):
    """The controller's own GNUPGHOME holds mallory's key, trusts it and names a key server: none of it counts."""
    asked = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def listen():
        try:
            asked.append(server.accept())
        except OSError:  # closed at the end of the test: nobody asked
            pass
    threading.Thread(target=listen, daemon=True).start()
    home = tmp_path / "home"
    (home / ".gnupg").mkdir(parents=True, mode=0o700)
    own = gpg.__class__(home / ".gnupg")
    own.run("--import", input=pgp["mallory_key"].encode())
    (home / ".gnupg" / "gpg.conf").write_text(
        f"keyserver hkp://127.0.0.1:{server.getsockname()[1]}\nauto-key-retrieve\ntrust-model always\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GNUPGHOME", str(home / ".gnupg"))
    name, _, _ = pgp_served(git_server, gpg, pgp["mallory"])
    job, repo = add(api, git_server, name, pgp["alice_key"])
    assert job["state"] == "failed" and step(repo)["detail"] == f"signed by an unknown key {pgp['mallory']}"
    assert asked == []
    server.close()
    subprocess.run(["gpgconf", "--homedir", str(home / ".gnupg"), "--kill", "all"], capture_output=True)


@pytest.mark.parametrize("make, message", [
    (lambda gpg, pgp: gpg.private(pgp["alice"]), "this is an OpenPGP PRIVATE key"),
    (lambda gpg, pgp: gpg.private(pgp["alice"]).replace("PRIVATE KEY", "PUBLIC KEY"),
     "the block holds an OpenPGP PRIVATE key"),
    (lambda gpg, pgp: gpg.run("--armor", "--sign", "-u", pgp["alice"], input=b"x"),
     "an OpenPGP message is not a public key"),
    (lambda gpg, pgp: "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nbm90IGEga2V5\n-----END PGP PUBLIC KEY BLOCK-----",
     "gpg cannot read this block as an OpenPGP public key"),
    (lambda gpg, pgp: pgp["alice_key"].split("-----END")[0], "without its matching -----END PGP"),
])
def test_key_blocks_that_are_not_public_keys_are_refused(api, git_server, gpg, pgp, make, message):
    text = make(gpg, pgp)
    response = api.post("/api/repositories", json={"url": git_server.url("nothing"), "display_name": "Bad keys",
                                                   "allowed_signers": "# ops\n" + text})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["field"] == "allowed_signers" and message in error["message"], error
    assert "lines 2-" in error["message"] or "line 2" in error["message"]
    assert api.get("/api/repositories").get_json() == []


def test_the_edit_page_takes_openpgp_keys_and_never_shows_a_private_one_again(client, api, git_server, gpg, pgp):
    from tests.conftest import csrf_from
    name, _, commit = pgp_served(git_server, gpg, pgp["alice"])
    _, repo = add(api, git_server, name, "")
    page = client.get(f"/repositories/{name}/edit").get_data(as_text=True)
    assert "OpenPGP public keys" in page
    form = {"csrf_token": csrf_from(page), "display_name": name, "url": repo["url"], "ref": ""}
    private = gpg.private(pgp["alice"])
    response = client.post(f"/repositories/{name}/edit", data={**form, "allowed_signers": private})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "this is an OpenPGP PRIVATE key" in html and private.splitlines()[3] not in html
    assert api.get(f"/api/repositories/{name}").get_json()["allowed_signers"] == ""
    response = client.post(f"/repositories/{name}/edit", data={**form, "allowed_signers": pgp["alice_key"]})
    assert response.status_code == 302
    job = api.get(f"/api/jobs?subject={name}&kind=fetch").get_json()[0]
    assert wait_for_job(api, job["id"])["state"] == "succeeded"
    after = api.get(f"/api/repositories/{name}").get_json()
    assert after["active_commit"] == commit and step(after)["state"] == "passed"


def test_a_revoked_key_is_refused(api, git_server, gpg):
    key = gpg.generate("Revoked <revoked@example.com>")
    name, _, _ = pgp_served(git_server, gpg, key)  # signed while the key was good
    certificate = (gpg.home / "openpgp-revocs.d" / f"{key}.rev").read_text().replace(":-----BEGIN", "-----BEGIN")
    gpg.run("--import", input=certificate.encode())
    job, repo = add(api, git_server, name, gpg.public(key))
    assert job["state"] == "failed" and repo["active_commit"] is None
    assert step(repo)["detail"] == f"bad signature: made by a revoked key ({key})"

"""Private repositories over HTTP basic auth against the real git server; the token never leaks."""
import itertools
import logging
import os
import stat

import pytest

from tests.conftest import wait_for_job

README = "# Demo\nThis repository contains thymis modules.\n"
FLAKE = '{ outputs = { self }: { }; }\n'
TOKEN = "glpat-Secr3tT0ken-do-not-leak"
_names = itertools.count()


@pytest.fixture
def private_repo(git_server):
    name = f"private-{next(_names)}"
    repo = git_server.make_repo(name, {"README.md": README, "flake.nix": FLAKE})
    git_server.require_auth(name, "reader", TOKEN)
    return git_server.url(name), repo


class Outputs(list):
    """Every text the tests saw: response bodies, job logs."""

    def json(self, response):
        self.append(response.get_data(as_text=True))
        return response.get_json()

    def job(self, api, job_id):
        job = wait_for_job(api, job_id)
        self.append(f"{job['log']}\n{job['error']}")
        return job


def test_token_fetches_and_never_leaks(api, app, client, private_repo, caplog):
    caplog.set_level(logging.DEBUG)
    url, repo = private_repo
    out = Outputs()
    body = out.json(api.post("/api/repositories", json={
        "display_name": "Private", "url": url,
        "access": {"kind": "https-token", "username": "reader", "token": TOKEN}}))
    assert body["access"] == {"kind": "https-token", "username": "reader"}
    job = out.job(api, body["job_id"])
    assert job["state"] == "succeeded", job
    current = out.json(api.get(f"/api/repositories/{body['name']}"))
    assert current["fetched_commit"] == repo.rev("refs/heads/main")
    tested = out.json(api.post(f"/api/repositories/{body['name']}/test-connection"))
    assert tested["ok"] and tested["commit"] == current["fetched_commit"] and tested["ref"] == "refs/heads/main"
    out.json(api.get("/api/repositories"))
    for path in ("/repositories", f"/repositories/{body['name']}/edit"):
        out.append(client.get(path).get_data(as_text=True))

    settings = app.config["THYMIS"]
    files = [settings.mirror_path(body["name"]) / "config", settings.project_path / "ssh" / "known_hosts"]
    texts = [*out, caplog.text, *(f.read_text() for f in files if f.exists())]
    assert all(TOKEN not in text for text in texts)
    database_bytes = b"".join(p.read_bytes() for p in settings.project_path.glob("controller.sqlite3*"))
    assert TOKEN.encode() not in database_bytes  # encrypted at rest
    key_file = settings.project_path / "secret.fernet"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600


def test_wrong_or_missing_token_fails_clearly(api, private_repo):
    url, _ = private_repo
    wrong = api.post("/api/repositories", json={
        "display_name": "Wrong", "url": url, "access": {"kind": "https-token", "username": "reader", "token": "nope"}})
    job = wait_for_job(api, wrong.get_json()["job_id"])
    assert job["state"] == "failed" and job["error"].startswith("authentication failed"), job
    assert "nope" not in job["error"]
    missing = api.post("/api/repositories", json={"display_name": "Missing", "url": url})
    job = wait_for_job(api, missing.get_json()["job_id"])
    assert job["state"] == "failed" and job["error"].startswith("authentication required"), job

    # Fixing the token with PATCH fetches again.
    fixed = api.patch("/api/repositories/missing", json={"access": {"kind": "https-token", "username": "reader",
                                                                    "token": TOKEN}})
    assert fixed.status_code == 200 and fixed.get_json()["job_id"]
    assert wait_for_job(api, fixed.get_json()["job_id"])["state"] == "succeeded"


def test_credentials_pasted_in_the_url_move_into_the_access(api, app, client, private_repo):
    url, repo = private_repo
    with_credentials = url.replace("http://", f"http://reader:{TOKEN}@")
    response = api.post("/api/repositories", json={"display_name": "Pasted", "url": with_credentials})
    body = response.get_json()
    assert response.status_code == 201 and body["url"] == url
    assert body["access"] == {"kind": "https-token", "username": "reader"}
    assert wait_for_job(api, body["job_id"])["state"] == "succeeded"
    page = client.post("/repositories", data={"url": with_credentials.replace("/private", "/x-private"),
                                              "display_name": "", "csrf_token": client.csrf})
    assert page.status_code == 422 and TOKEN not in page.get_data(as_text=True)
    bad_port = api.post("/api/repositories", json={"display_name": "x", "url": f"http://u:{TOKEN}@127.0.0.1:99999/x"})
    assert bad_port.status_code == 422 and TOKEN not in bad_port.get_data(as_text=True)


def test_patch_keeps_the_saved_token_and_checks_the_kind(api, private_repo):
    url, _ = private_repo
    body = api.post("/api/repositories", json={"display_name": "Keep", "url": url, "access": {
        "kind": "https-token", "username": "reader", "token": TOKEN}}).get_json()
    wait_for_job(api, body["job_id"])
    same = api.patch("/api/repositories/keep", json={"access": {"kind": "https-token", "username": "reader"}})
    assert same.status_code == 200 and same.get_json()["job_id"] is None  # nothing changed, nothing refetched
    no_token = api.post("/api/repositories", json={"display_name": "No token", "url": url,
                                                   "access": {"kind": "https-token"}})
    assert no_token.status_code == 422 and no_token.get_json()["error"]["field"] == "access.token"
    ssh_on_http = api.patch("/api/repositories/keep", json={"access": {"kind": "ssh-deploy-key"}})
    assert ssh_on_http.status_code == 422 and ssh_on_http.get_json()["error"]["field"] == "access.kind"
    bad_kind = api.patch("/api/repositories/keep", json={"access": {"kind": "password"}})
    assert bad_kind.status_code == 422
    public = api.patch("/api/repositories/keep", json={"access": {"kind": "none"}}).get_json()
    assert public["access"] == {"kind": "none"}
    assert wait_for_job(api, public["job_id"])["state"] == "failed"  # the token was dropped


def test_connection_test_of_unsaved_input_reports_each_failure(api, private_repo, stuck_server):
    url, repo = private_repo
    ok = api.post("/api/test-connection", json={"url": url, "ref": "main", "access": {
        "kind": "https-token", "username": "reader", "token": TOKEN}}).get_json()
    assert ok["ok"] and ok["commit"] == repo.rev("refs/heads/main") and TOKEN not in str(ok)
    cases = [({"url": url, "access": {"kind": "https-token", "username": "reader", "token": "bad"}},
              "authentication failed"),
             ({"url": url}, "authentication required"),
             ({"url": url.replace("/private-", "/none-")}, "repository not found"),
             ({"url": url, "ref": "nope", "access": {"kind": "https-token", "username": "reader", "token": TOKEN}},
              "unknown ref"),
             ({"url": "https://no-such-host.invalid/x.git"}, "unknown host"),
             ({"url": stuck_server.url()}, "timeout")]
    for payload, reason in cases:
        result = api.post("/api/test-connection", json=payload).get_json()
        assert not result["ok"] and result["reason"] == reason, (payload, result)
        assert result["message"].startswith(reason)


@pytest.fixture
def app(app_factory):
    return app_factory(fetch_connect_timeout=1.0)


@pytest.fixture
def listening_host():
    """Another origin on loopback that records every Authorization header it is sent (and answers 401)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.headers.get("Authorization"))
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="x"')
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/elsewhere.git", seen
    server.shutdown()
    server.server_close()


def test_a_saved_token_is_never_sent_to_another_host(api, private_repo, listening_host):
    url, _ = private_repo
    elsewhere, seen = listening_host
    created = api.post("/api/repositories", json={
        "url": url, "display_name": "Bound token",
        "access": {"kind": "https-token", "username": "reader", "token": TOKEN}})
    name = created.get_json()["name"]
    assert wait_for_job(api, created.get_json()["job_id"])["state"] == "succeeded"

    tested = api.post(f"/api/repositories/{name}/test-connection", json={"url": elsewhere})
    assert tested.get_json()["ok"] is False
    moved = api.patch(f"/api/repositories/{name}", json={"url": elsewhere})
    assert moved.status_code == 422 and moved.get_json()["error"]["field"] == "access.token"
    assert api.get(f"/api/repositories/{name}").get_json()["url"] == url      # nothing saved
    assert seen and all(header is None for header in seen), seen
    # Entering the token again for the new host is the way to move it.
    again = api.patch(f"/api/repositories/{name}", json={"url": elsewhere, "access": {"kind": "https-token",
                                                         "username": "reader", "token": "new-token"}})
    assert again.status_code == 200

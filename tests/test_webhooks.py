"""Forge push webhooks (issue 17): GitHub, GitLab and Gitea/Forgejo deliveries with correct, wrong and missing
signatures, against a real git server; the refresh they start is observed through the job list."""
import hashlib
import hmac
import json
import logging
import time
import urllib.parse

import pytest
from flask.testing import FlaskClient

from tests.conftest import wait_for_job

README = "# Demo\nThis repository contains thymis modules.\n"
FLAKE = '{ description = "demo"; outputs = { self }: { }; }\n'
SECRET = "s3cret-webhook-value-0123456789"
HOOK = "/api/hooks/repositories/{}"


def push_body(forge: str, ref: str = "refs/heads/main", after: str = "1" * 40, default: str = "main") -> bytes:
    project = "project" if forge == "gitlab" else "repository"
    return json.dumps({"ref": ref, "before": "0" * 40, "after": after,
                       project: {"name": "demo", "default_branch": default}}).encode()


def hex_hmac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def headers(forge: str, body: bytes, secret: str | None = SECRET, event: str = "push") -> dict:
    """What each forge sends: its event header and (unless secret is None) its signature or token."""
    if forge == "github":
        sent = {"X-GitHub-Event": event}
        if secret is not None:
            sent["X-Hub-Signature-256"] = "sha256=" + hex_hmac(secret, body)
    elif forge == "gitlab":
        sent = {"X-Gitlab-Event": {"push": "Push Hook"}.get(event, event)}
        if secret is not None:
            sent["X-Gitlab-Token"] = secret
    elif forge == "gitea":
        # Gitea also sends GitHub's headers; its own signature is the one checked.
        sent = {"X-Gitea-Event": event, "X-GitHub-Event": event}
        if secret is not None:
            sent["X-Gitea-Signature"] = hex_hmac(secret, body)
    else:  # Forgejo
        sent = {"X-Forgejo-Event": event, "X-Gitea-Event": event}
        if secret is not None:
            sent["X-Forgejo-Signature"] = hex_hmac(secret, body)
    return {"Content-Type": "application/json", **sent}


@pytest.fixture(autouse=True)
def fresh_webhook_throttle():
    from auth.throttle import webhook_throttle
    webhook_throttle._failures.clear()
    yield
    webhook_throttle._failures.clear()


@pytest.fixture
def hook_client(app):
    """A forge: no session, no token."""
    return app.test_client(use_cookies=False)


def add_repository(api, git_server, secret: str | None = SECRET, **extra):
    name = git_server.new_name("hooked")
    server = git_server.make_repo(name, {"README.md": README, "flake.nix": FLAKE})
    body = {"url": git_server.url(name), "display_name": name, **extra}
    if secret is not None:
        body["webhook_secret"] = secret
    response = api.post("/api/repositories", json=body)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert wait_for_job(api, created["job_id"])["state"] == "succeeded"
    return created["name"], server


def fetch_jobs(api, name: str) -> list[dict]:
    response = api.get(f"/api/jobs?kind=fetch&subject={name}")
    assert response.status_code == 200
    return response.get_json()


def new_commit(server) -> str:
    return server.commit({"flake.nix": FLAKE.replace("demo", "demo two")}, "second")


@pytest.mark.parametrize("forge", ["github", "gitlab", "gitea", "forgejo"])
def test_a_signed_push_refreshes_and_a_wrong_or_missing_signature_does_nothing(api, git_server, hook_client, forge):
    name, server = add_repository(api, git_server)
    second = new_commit(server)
    body = push_body("gitlab" if forge == "gitlab" else "github")
    before = fetch_jobs(api, name)
    for sent in (headers(forge, body, secret="wrong-secret-but-long-enough"), headers(forge, body, secret=None)):
        refused = hook_client.post(HOOK.format(name), data=body, headers=sent)
        assert refused.status_code == 401, refused.get_json()
        assert refused.get_json()["error"]["code"] == "unauthenticated"
    # A body changed after signing: the signature no longer matches (GitLab's token does not sign the body).
    if forge != "gitlab":
        tampered = hook_client.post(HOOK.format(name), data=body.replace(b"main", b"mainx"),
                                    headers=headers(forge, body))
        assert tampered.status_code == 401
    assert fetch_jobs(api, name) == before, "a refused delivery started a job"
    assert api.get(f"/api/repositories/{name}").get_json()["active_commit"] != second

    accepted = hook_client.post(HOOK.format(name), data=body, headers=headers(forge, body))
    assert accepted.status_code == 202, accepted.get_json()
    result = accepted.get_json()
    assert result["outcome"] == "queued" and result["forge"] == ("gitea" if forge == "forgejo" else forge)
    assert result["job_url"] == f"/api/jobs/{result['job_id']}"
    jobs = fetch_jobs(api, name)
    assert [job["id"] for job in jobs] == [result["job_id"]] + [job["id"] for job in before]
    job = wait_for_job(api, result["job_id"])
    assert job["state"] == "succeeded" and f"started by a {result['forge']} webhook" in job["log"]
    assert api.get(f"/api/repositories/{name}").get_json()["active_commit"] == second


def test_the_answer_does_not_tell_whether_a_repository_exists(api, git_server, hook_client):
    hooked, _ = add_repository(api, git_server)
    without_secret, _ = add_repository(api, git_server, secret=None)
    body = push_body("github")
    answers = []
    for name in (hooked, without_secret, "no-such-repository"):
        for secret in (None, "a-wrong-secret-of-some-length"):
            response = hook_client.post(HOOK.format(name), data=body, headers=headers("github", body, secret))
            answers.append((response.status_code, response.get_data()))
    # A delivery without any forge header too.
    response = hook_client.post(HOOK.format(hooked), data=body, headers={"Content-Type": "application/json"})
    answers.append((response.status_code, response.get_data()))
    assert len(set(answers)) == 1 and answers[0][0] == 401
    assert fetch_jobs(api, without_secret)[0]["state"] == "succeeded" and len(fetch_jobs(api, without_secret)) == 1


def test_ping_other_events_and_other_branches_do_no_work(api, git_server, hook_client):
    name, server = add_repository(api, git_server)
    before = fetch_jobs(api, name)
    ping = json.dumps({"zen": "Keep it simple.", "hook_id": 1}).encode()
    response = hook_client.post(HOOK.format(name), data=ping, headers=headers("github", ping, event="ping"))
    assert response.status_code == 200 and response.get_json()["outcome"] == "pong"
    # A ping with a wrong signature is refused like any delivery.
    wrong = headers("github", ping, secret="another-secret-of-length", event="ping")
    assert hook_client.post(HOOK.format(name), data=ping, headers=wrong).status_code == 401
    issue = json.dumps({"action": "opened"}).encode()
    response = hook_client.post(HOOK.format(name), data=issue, headers=headers("gitea", issue, event="issues"))
    assert response.status_code == 200 and response.get_json()["outcome"] == "ignored"
    other = push_body("github", ref="refs/heads/feature")
    response = hook_client.post(HOOK.format(name), data=other, headers=headers("github", other))
    assert response.status_code == 200
    assert response.get_json()["reason"] == ("the push was to refs/heads/feature; the repository follows the "
                                             "default branch main")
    deleted = push_body("gitlab", after="0" * 40)
    response = hook_client.post(HOOK.format(name), data=deleted, headers=headers("gitlab", deleted))
    assert response.status_code == 200 and response.get_json()["reason"] == "the push deleted refs/heads/main"
    garbage = b"not json"
    response = hook_client.post(HOOK.format(name), data=garbage, headers=headers("github", garbage))
    assert response.status_code == 400 and "not JSON" in response.get_json()["error"]["message"]
    deep = b'{"ref": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = hook_client.post(HOOK.format(name), data=deep, headers=headers("github", deep))
    assert response.status_code == 400 and "not JSON" in response.get_json()["error"]["message"]
    assert fetch_jobs(api, name) == before


def test_a_repository_that_follows_a_branch_refreshes_for_that_branch_only(api, git_server, hook_client):
    name, server = add_repository(api, git_server)
    server.branch("stable")
    assert api.patch(f"/api/repositories/{name}", json={"ref": "stable"}).status_code == 200
    wait_for_job(api, fetch_jobs(api, name)[0]["id"])
    main = push_body("gitlab", ref="refs/heads/main")
    response = hook_client.post(HOOK.format(name), data=main, headers=headers("gitlab", main))
    assert response.get_json()["reason"] == "the push was to refs/heads/main; the repository follows stable"
    stable = push_body("gitlab", ref="refs/heads/stable")
    response = hook_client.post(HOOK.format(name), data=stable, headers=headers("gitlab", stable))
    assert response.status_code == 202 and response.get_json()["outcome"] == "queued"
    # A second delivery while that fetch waits to start: the same job covers it.
    again = hook_client.post(HOOK.format(name), data=stable, headers=headers("gitlab", stable))
    assert again.status_code == 202
    if again.get_json()["outcome"] == "already_queued":
        assert again.get_json()["job_id"] == response.get_json()["job_id"]
    else:  # the first one started meanwhile (the machine is fast): another is due once it ends
        assert again.get_json()["outcome"] in ("after_running", "queued")
    wait_for_job(api, response.get_json()["job_id"])


def test_github_form_encoded_payload(api, git_server, hook_client):
    name, _ = add_repository(api, git_server)
    body = urllib.parse.urlencode({"payload": push_body("github").decode()}).encode()
    sent = {**headers("github", body), "Content-Type": "application/x-www-form-urlencoded"}
    response = hook_client.post(HOOK.format(name), data=body, headers=sent)
    assert response.status_code == 202, response.get_json()
    wait_for_job(api, response.get_json()["job_id"])


def test_the_secret_is_write_only_encrypted_and_never_logged(app, api, git_server, hook_client, caplog):
    caplog.set_level(logging.DEBUG)
    name, _ = add_repository(api, git_server)
    shown = api.get(f"/api/repositories/{name}").get_json()
    assert shown["webhook_secret_set"] is True and "webhook_secret" not in shown
    assert SECRET not in json.dumps(api.get("/api/repositories").get_json())
    body = push_body("gitlab")
    assert hook_client.post(HOOK.format(name), data=body, headers=headers("gitlab", body)).status_code == 202
    hook_client.post(HOOK.format(name), data=body, headers=headers("gitlab", body, secret=SECRET + "x"))
    settings = app.config["THYMIS"]
    database_bytes = b"".join(path.read_bytes() for path in settings.project_path.glob("controller.sqlite3*"))
    assert SECRET.encode() not in database_bytes
    assert SECRET not in caplog.text
    # Removing it: webhooks are refused again.
    assert api.patch(f"/api/repositories/{name}", json={"webhook_secret": ""}).get_json()["webhook_secret_set"] is False
    assert hook_client.post(HOOK.format(name), data=body, headers=headers("gitlab", body)).status_code == 401


def test_a_short_secret_is_refused(api, git_server):
    name, _ = add_repository(api, git_server, secret=None)
    response = api.patch(f"/api/repositories/{name}", json={"webhook_secret": "short"})
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "webhook_secret"


def test_the_exemption_is_narrow_and_the_body_is_limited(app, api, git_server, hook_client, client):
    name, _ = add_repository(api, git_server)
    # Only POST of exactly that route: a GET of the same path, or a path below it, is not public (a client the
    # API document check does not wrap: these methods and paths are undocumented on purpose).
    unchecked = FlaskClient(app, app.response_class, use_cookies=False)
    assert unchecked.get(HOOK.format(name)).status_code == 401
    assert unchecked.post(HOOK.format(name) + "/x").status_code == 401
    # A logged-in browser session without a CSRF token reaches the endpoint too (forges have none), and still
    # needs the signature.
    body = push_body("github")
    assert client.post(HOOK.format(name), data=body, headers=headers("github", body, None)).status_code == 401
    big = b"{" + b" " * (1 << 20) + b"}"
    response = hook_client.post(HOOK.format(name), data=big, headers=headers("github", big))
    assert response.status_code == 413


def test_a_push_during_a_running_fetch_is_fetched_after_it(app, api, git_server, hook_client):
    app.extensions["jobs"].scheduler.every = 0.2  # the scheduler queues the deferred refresh at its next look
    name, server = add_repository(api, git_server)
    second = new_commit(server)
    git_server.stall(name)  # the next fetch hangs in the pack transfer: it is running when the push arrives
    running = api.post(f"/api/repositories/{name}/refresh").get_json()["job_id"]
    deadline = time.monotonic() + 20
    while api.get(f"/api/jobs/{running}").get_json()["state"] != "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    body = push_body("github")
    response = hook_client.post(HOOK.format(name), data=body, headers=headers("github", body))
    assert response.status_code == 202
    assert response.get_json()["outcome"] == "after_running" and response.get_json()["job_id"] == running
    assert fetch_jobs(api, name)[0]["id"] == running  # nothing queued beside the running fetch
    git_server.stalled.discard(name)
    assert api.post(f"/api/jobs/{running}/cancel").status_code == 200
    deadline = time.monotonic() + 30
    while fetch_jobs(api, name)[0]["id"] == running and time.monotonic() < deadline:
        time.sleep(0.1)
    follow_up = fetch_jobs(api, name)[0]
    assert follow_up["id"] != running, "no refresh was queued after the running fetch"
    assert wait_for_job(api, follow_up["id"])["state"] == "succeeded"
    assert api.get(f"/api/repositories/{name}").get_json()["active_commit"] == second


def test_every_delivery_is_in_the_audit_log_without_the_secret(app, api, git_server, hook_client):
    name, _ = add_repository(api, git_server)
    body = push_body("github")
    assert hook_client.post(HOOK.format(name), data=body, headers=headers("github", body, None)).status_code == 401
    ping = b"{}"
    assert hook_client.post(HOOK.format(name), data=ping, headers=headers("gitea", ping, event="ping")).status_code \
        == 200
    accepted = hook_client.post(HOOK.format(name), data=body, headers=headers("github", body)).get_json()
    wait_for_job(api, accepted["job_id"])
    hook_client.post(HOOK.format("no-such-repository"), data=body, headers=headers("gitlab", body))
    log = api.get(f"/api/audit?kind=webhook&subject={name}").get_json()
    assert [(e["actor"], e["detail"]["outcome"]) for e in log] == [
        ("webhook:github", "queued"), ("webhook:gitea", "pong"), ("webhook:github", "refused")]
    assert log[0]["detail"] == {"forge": "github", "event": "push", "outcome": "queued",
                                "job_id": accepted["job_id"], "reason": "push to refs/heads/main"}
    assert log[2]["detail"]["reason"] == "wrong or missing signature"
    [unknown] = api.get("/api/audit?kind=webhook&subject=no-such-repository").get_json()
    assert unknown["detail"]["reason"] == "no such repository"
    everything = json.dumps(api.get("/api/audit?kind=webhook&per_page=100").get_json())
    assert SECRET not in everything and hex_hmac(SECRET, body) not in everything and "default_branch" not in everything


def test_refused_deliveries_from_one_address_are_throttled(api, git_server, hook_client):
    from auth.throttle import webhook_throttle
    name, _ = add_repository(api, git_server)
    body = push_body("github")
    for _ in range(webhook_throttle.max_failures):
        assert hook_client.post(HOOK.format("guess"), data=body, headers=headers("github", body)).status_code == 401
    audited = len(api.get("/api/audit?kind=webhook&subject=guess&per_page=100").get_json())
    response = hook_client.post(HOOK.format(name), data=body, headers=headers("github", body))
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    assert response.get_json()["error"]["code"] == "too_many_requests"
    assert len(api.get("/api/audit?kind=webhook&subject=guess&per_page=100").get_json()) == audited
    # Another address is not affected.
    other = hook_client.post(HOOK.format(name), data=body, headers=headers("github", body),
                             environ_base={"REMOTE_ADDR": "127.0.0.2"})
    assert other.status_code == 202
    wait_for_job(api, other.get_json()["job_id"])

"""The audit log: activations (auto and approved), approvals and rejections recorded as they happen, read through
/audit and GET /api/audit (filters, pages, constant queries), behind authentication, never with a secret."""
import re

import pytest

import audit
from models import AuditEvent, database
from tests.conftest import csrf_from
from tests.test_query_counts import QueryCounter
from tests.test_review import README, add, refresh, served


def entries(api, **query):
    response = api.get("/api/audit", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_activations_approvals_and_rejections_are_recorded(api, git_server, client):
    name, server = served(git_server)
    job, repo = add(api, git_server, name)
    first = repo["active_commit"]
    [activation] = entries(api, subject=name)
    assert activation["kind"] == "activation" and activation["actor"] == "controller"
    assert activation["detail"] == {"commit": first, "previous": None, "how": "auto", "job_id": job["id"]}
    assert activation["at"].endswith("Z")
    # An unchanged refresh activates nothing new.
    assert refresh(api, name)["state"] == "succeeded"
    assert len(entries(api, subject=name)) == 1

    assert api.patch(f"/api/repositories/{name}", json={"review": "required"}).status_code == 200
    second = server.commit({"README.md": README + "two\n"}, "Second")
    refresh(api, name)
    assert len(entries(api, subject=name)) == 1  # awaiting review is no activation
    assert api.post(f"/api/repositories/{name}/approve", json={"commit": second}).status_code == 200
    newest = entries(api, subject=name)
    assert [(e["kind"], e["actor"]) for e in newest[:2]] == [("activation", "token:tests"), ("approval", "token:tests")]
    assert newest[0]["detail"] == {"commit": second, "previous": first, "how": "approved", "job_id": None}
    assert newest[1]["detail"] == {"commit": second}

    third = server.commit({"README.md": README + "three\n"}, "Third")
    refresh(api, name)
    page = client.get(f"/repositories/{name}/review").get_data(as_text=True)
    assert client.post(f"/repositories/{name}/reject", data={"commit": third, "csrf_token": csrf_from(page)}
                       ).status_code == 302
    [rejection] = entries(api, subject=name, kind="rejection")
    assert rejection["actor"] == "session" and rejection["detail"] == {"commit": third, "active_commit": second}
    refresh(api, name)  # the rejected commit is not offered again, and nothing new is recorded
    assert [e["kind"] for e in entries(api, subject=name)] == ["rejection", "activation", "approval", "activation"]

    # The page shows the same entries, filtered by kind and subject.
    html = client.get(f"/audit?subject={name}").get_data(as_text=True)
    assert html.count('data-kind="activation"') == 2 and 'data-kind="rejection"' in html
    assert third[:12] in html and "approved" in html and "token:tests" in html and "session" in html
    html = client.get(f"/audit?kind=rejection&subject={name}").get_data(as_text=True)
    assert 'data-kind="rejection"' in html and 'data-kind="activation"' not in html
    assert "No entries match these filters." in client.get("/audit?subject=nobody-at-all").get_data(as_text=True)


def test_pages_filters_and_their_errors(api, client, app):
    with app.app_context(), database.connection_context():
        for number in range(7):
            audit.record(audit.DEPLOY if number % 2 else audit.WEBHOOK, f"thing{number % 3}", "controller",
                         {"outcome": "succeeded", "number": number})
    first = api.get("/api/audit", query_string={"per_page": 3})
    assert first.headers["X-Total-Count"] == "7" and len(first.get_json()) == 3
    assert [e["detail"]["number"] for e in first.get_json()] == [6, 5, 4]  # newest first
    links = dict((rel, url) for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', first.headers["Link"]))
    assert set(links) == {"first", "last", "next"} and "page=2" in links["next"] and "page=3" in links["last"]
    last = api.get(links["last"].removeprefix("http://localhost")).get_json()
    assert [e["detail"]["number"] for e in last] == [0]
    assert [e["detail"]["number"] for e in entries(api, kind="deploy")] == [5, 3, 1]
    assert [e["detail"]["number"] for e in entries(api, kind="deploy", subject="thing1")] == [1]

    bad = api.get("/api/audit", query_string={"kind": "everything"})
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "kind"
    message = bad.get_json()["error"]["message"]
    assert "activation" in message and "webhook" in message
    page = client.get("/audit?kind=everything")
    assert page.status_code == 422 and message in page.get_data(as_text=True)
    assert api.get("/api/audit", query_string={"per_page": 0}).status_code == 422

    html = client.get("/audit?per_page=3&page=2").get_data(as_text=True)
    assert "4–6 of 7" in html and 'rel="next"' in html and 'rel="prev"' in html
    assert 'aria-current="page"' in client.get("/audit").get_data(as_text=True)  # in the main navigation


def test_only_signed_in_users_read_the_log(app, api):
    with app.app_context(), database.connection_context():
        audit.record(audit.WEBHOOK, "demo", "controller", {"forge": "github", "outcome": "refresh started"})
    anonymous = app.test_client()
    response = anonymous.get("/api/audit")
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthenticated"
    response = anonymous.get("/audit")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert "demo" not in anonymous.get("/audit", follow_redirects=True).get_data(as_text=True)


def test_record_refuses_secrets_unknown_kinds_and_nested_values(app):
    with app.app_context(), database.connection_context():
        for key in ("webhook_secret", "token", "password", "private_key", "signature", "X-Hub-Signature-256"):
            with pytest.raises(ValueError, match="would name a secret"):
                audit.record(audit.WEBHOOK, "demo", "controller", {key: "hunter2"})
        with pytest.raises(ValueError, match="unknown audit kind"):
            audit.record("activated", "demo", "controller", {})
        with pytest.raises(ValueError, match="string, number, boolean or None"):
            audit.record(audit.WEBHOOK, "demo", "controller", {"body": {"ref": "main"}})
        long = audit.record(audit.DEPLOY, "pi", None, {"error": "x" * 5000})
        assert len(long.detail["error"]) == audit.MAX_TEXT and long.actor == "controller"
        assert AuditEvent.select().count() == 1  # the refused ones left nothing behind


def test_the_cli_is_named_as_the_actor(app):
    import click
    with app.app_context(), database.connection_context(), click.Context(click.Command("x")):
        assert audit.record(audit.DEPLOY, "pi", None, {}).actor == "cli"


def test_queries_do_not_grow_with_the_log(client, app):
    def count(path: str) -> int:
        assert client.get(path).status_code == 200
        with QueryCounter(database.obj) as counter:
            assert client.get(path).status_code == 200
        return counter.count

    with app.app_context(), database.connection_context():
        audit.record(audit.WEBHOOK, "demo", "controller", {"outcome": "refresh started"})
    small = {path: count(path) for path in ("/audit", "/api/audit", "/api/audit?kind=webhook&subject=demo")}
    with app.app_context(), database.connection_context(), database.atomic():
        for number in range(300):
            audit.record(audit.WEBHOOK, "demo", "controller", {"outcome": "refresh started", "number": number})
    large = {path: count(path) for path in small}
    assert small == large, (small, large)


def test_an_old_database_gets_the_table(app_factory, tmp_path):
    import sqlite3
    app = app_factory(project_path=tmp_path / "old", start_job_worker=False)
    app.extensions["jobs"].stop()
    path = app.config["THYMIS"].database_path
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE audit_event")
    again = app_factory(project_path=tmp_path / "old", start_job_worker=False)
    with again.app_context(), database.connection_context():
        assert audit.record(audit.DEPLOY, "pi", "controller", {}).id >= 1

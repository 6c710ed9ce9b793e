"""HTMX in one place: page or partial by HX-Request (with Vary), one job progress bar for every page, CSRF on every
form."""
from html.parser import HTMLParser

from tests.conftest import wait_for_job
from tests.support.gitserver import closed_port_url

HX = {"HX-Request": "true"}


def repository(api, name: str) -> str:
    """A repository whose fetch fails at once (nothing listens on its port); returns its name once the job ended."""
    body = api.post("/api/repositories", json={"display_name": name, "url": closed_port_url(name)}).get_json()
    wait_for_job(api, body["job_id"])
    return body["name"]


def test_the_page_and_its_partial_both_say_they_vary_by_hx_request(client):
    page = client.get("/repositories")
    partial = client.get("/repositories", headers=HX)
    assert page.status_code == partial.status_code == 200
    assert "<html" in page.get_data(as_text=True)
    text = partial.get_data(as_text=True)
    assert text.lstrip().startswith('<div id="repositories-section">') and "<html" not in text
    for response in (page, partial):
        assert "HX-Request" in response.headers.get("Vary", ""), response.headers


def test_an_htmx_post_gets_the_partial_and_a_plain_post_a_redirect_both_vary(client, api):
    first, second = repository(api, "vary-one"), repository(api, "vary-two")
    swapped = client.post(f"/repositories/{first}/delete", data={"csrf_token": client.csrf}, headers=HX)
    # The row is swapped for nothing; the only content is the out-of-band message for the page's live status.
    assert swapped.status_code == 200 and swapped.get_data(as_text=True) == (
        '<div id="live-status" hx-swap-oob="true" role="status" aria-live="polite">'
        '<p class="flash">Removed vary-one and its fetched data.</p></div>')
    plain = client.post(f"/repositories/{second}/delete", data={"csrf_token": client.csrf})
    assert plain.status_code == 302 and plain.headers["Location"] == "/repositories"
    for response in (swapped, plain):
        assert "HX-Request" in response.headers.get("Vary", ""), response.headers
    assert "Removed vary-two" in client.get("/repositories").get_data(as_text=True)
    assert "Removed vary-one" not in client.get("/repositories").get_data(as_text=True)  # htmx was not flashed


def test_an_htmx_post_without_the_csrf_header_or_field_is_refused(client, api):
    from models import Job, database
    name = repository(api, "csrf-htmx")

    def jobs() -> int:
        with database.connection_context():
            return Job.select().where(Job.subject == name).count()

    before = jobs()
    refused = client.post(f"/repositories/{name}/refresh", headers=HX)
    assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)
    assert jobs() == before  # nothing was started
    accepted = client.post(f"/repositories/{name}/refresh", headers={**HX, "X-CSRF-Token": client.csrf})
    assert accepted.status_code == 200 and f'id="repo-{name}"' in accepted.get_data(as_text=True)
    assert jobs() == before + 1


class Forms(HTMLParser):
    """Each POST form of a page: its action and the csrf_token values inside it."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._open: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self._open = {"action": attrs.get("action"), "csrf": []}
            self.forms.append(self._open)
        elif tag == "input" and self._open is not None and attrs.get("name") == "csrf_token":
            self._open["csrf"].append(attrs.get("value"))

    def handle_endtag(self, tag):
        if tag == "form":
            self._open = None


def post_forms(client, path: str) -> list[dict]:
    response = client.get(path)
    assert response.status_code == 200, path
    parser = Forms()
    parser.feed(response.get_data(as_text=True))
    return parser.forms


def test_every_form_of_every_page_carries_the_csrf_field(client, api):
    from repos.ssh_keys import generate_ed25519
    name = repository(api, "csrf-forms")
    api.post("/api/tags", json={"name": "fleet", "display_name": "Fleet"})
    api.post("/api/devices", json={"name": "kiosk", "display_name": "Kiosk", "target": "local", "tags": ["fleet"],
                                   "modules": [{"type": "thymis_controller.modules.access.SSHAccess", "settings": {}}]})
    line = "[git.example.com]:2222 " + " ".join(generate_ed25519("host").public_line.split()[:2])
    assert client.post("/known-hosts", data={"csrf_token": client.csrf, "lines": line}).status_code == 302
    pages = ["/repositories", f"/repositories/{name}/edit", f"/repositories/{name}/delete", "/devices",
             "/devices/kiosk", "/devices/kiosk/delete", "/tags", "/tags/fleet", "/tags/fleet/delete", "/known-hosts",
             "/devices/kiosk/deploy", "/tags/fleet/deploy",  # the confirmation pages of Deploy, module removal, reset
             "/devices/kiosk/modules/thymis_controller.modules.access.SSHAccess/remove",
             "/known-hosts/reset?host=git.example.com&port=2222"]
    seen = set()
    for path in pages:
        forms = post_forms(client, path)
        assert forms, f"{path} has no form"
        for form in forms:
            assert form["csrf"] == [client.csrf], (path, form)
            seen.add(form["action"])
    # the forms of the partials and macros are among them: a repository row, a module card, build/deploy, reset
    assert {f"/repositories/{name}/refresh", "/devices/kiosk/modules/thymis_controller.modules.access.SSHAccess",
            "/devices/kiosk/build", "/devices/kiosk/deploy", "/tags/fleet/deploy", "/logout"} <= seen
    assert any(action.startswith("/known-hosts/reset?") for action in seen)
    anonymous = client.application.test_client()
    login_forms = post_forms(anonymous, "/login")
    assert len(login_forms) == 1 and len(login_forms[0]["csrf"]) == 1 and login_forms[0]["csrf"][0]


def test_one_progress_bar_polls_the_job_and_stops_when_it_ends(client, api):
    from deploy.jobs import DEPLOY_TAG
    from jobs.queue import worker_id
    from models import Job, Repository, database, utcnow
    name = repository(api, "bar-demo")
    api.post("/api/tags", json={"name": "fleet", "display_name": "Fleet"})
    with database.connection_context():
        running = {"state": "running", "phase": "receiving objects", "done": 3, "total": 10, "worker": worker_id(),
                   "started_at": utcnow(), "heartbeat_at": utcnow()}
        fetch = Job.create(kind="fetch", repository=Repository.get(Repository.name == name), subject=name, **running)
        deploy = Job.create(kind=DEPLOY_TAG, subject="tag:fleet", **running)
    try:
        poll = f'hx-get="/jobs/{fetch.id}/progress" hx-trigger="every 1s"'
        section = client.get("/repositories", headers=HX).get_data(as_text=True)
        assert poll in section and 'hx-trigger="job-ended"' in section  # the row reloads itself when the job ends
        assert f'hx-get="/jobs/{deploy.id}/progress" hx-trigger="every 1s"' in \
            client.get("/tags/fleet").get_data(as_text=True)  # the same bar on a tag page
        bar = client.get(f"/jobs/{fetch.id}/progress", headers=HX)
        assert bar.status_code == 200 and poll in bar.get_data(as_text=True)
        assert "receiving objects 3/10" in bar.get_data(as_text=True)
        with database.connection_context():
            Job.update(state="failed", error="stopped by the test", finished_at=utcnow()).where(
                Job.id.in_((fetch.id, deploy.id))).execute()
        ended = client.get(f"/jobs/{fetch.id}/progress", headers=HX)
        text = ended.get_data(as_text=True)
        assert ended.status_code == 286  # htmx stops polling
        assert ended.headers["HX-Trigger"] == "job-ended" and "every 1s" not in text
        assert 'data-state="failed"' in text and "stopped by the test" in text
        row = client.get(f"/repositories/{name}/row", headers=HX).get_data(as_text=True)
        assert "job-ended" not in row and "/jobs/" not in row, row
        assert client.get("/jobs/999999/progress", headers=HX).status_code == 404
    finally:
        with database.connection_context():
            Job.update(state="failed", finished_at=utcnow()).where(Job.id.in_((fetch.id, deploy.id))).execute()

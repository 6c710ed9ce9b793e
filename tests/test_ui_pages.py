"""Pages for operators (issue 16): status wording, navigation, the favicon, the theme (Flask test client)."""
from models import Repository, database
from tests.test_htmx import repository


def test_a_failed_refresh_with_an_active_commit_reads_ready_latest_failed(client, api):
    name = repository(api, "amber")
    page = client.get("/repositories").get_data(as_text=True)
    assert 'data-status="failed">failed</span>' in page  # nothing active: red "failed"
    with database.connection_context():
        Repository.update(active_commit="a" * 40).where(Repository.name == name).execute()
    page = client.get("/repositories").get_data(as_text=True)
    assert 'data-status="ready-latest-failed"' in page and "ready, latest failed</span>" in page


def test_the_navigation_marks_the_current_section_and_reaches_known_hosts(client):
    page = client.get("/tags").get_data(as_text=True)
    assert '<a href="/tags" aria-current="page">Tags</a>' in page
    assert '<a href="/devices">Devices</a>' in page
    assert '<a href="/known-hosts">Known hosts</a>' in page
    page = client.get("/known-hosts").get_data(as_text=True)
    assert '<a href="/known-hosts" aria-current="page">Known hosts</a>' in page
    assert 'aria-current="page">External Repositories' not in page


def test_the_favicon_needs_no_login(app):
    response = app.test_client().get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"


def test_the_theme_is_kept_and_only_known_themes_and_local_pages(client):
    response = client.post("/theme", data={"csrf_token": client.csrf, "theme": "dark", "next": "/tags"})
    assert response.status_code == 302 and response.headers["Location"] == "/tags"
    assert 'data-theme="dark"' in client.get("/devices").get_data(as_text=True)
    response = client.post("/theme", data={"csrf_token": client.csrf, "theme": "neon", "next": "//evil.example"})
    assert response.headers["Location"] == "/"
    assert 'data-theme="auto"' in client.get("/devices").get_data(as_text=True)
    assert client.post("/theme", data={"theme": "dark"}).status_code in (400, 403)  # CSRF checked


def test_adding_a_url_already_added_warns_before_saving(client, api):
    url = api.get(f"/api/repositories/{repository(api, 'first-copy')}").get_json()["url"]
    form = {"csrf_token": client.csrf, "url": url, "display_name": "Second copy"}
    warned = client.post("/repositories", data=form)
    page = warned.get_data(as_text=True)
    assert warned.status_code == 200 and 'id="duplicate-warning"' in page and "already fetches this URL" in page
    assert 'name="add_anyway"' in page and 'value="Second copy"' in page
    assert api.get("/api/repositories").get_json()[0]["name"] == "first-copy"
    assert len(api.get("/api/repositories").get_json()) == 1  # nothing saved yet
    added = client.post("/repositories", data={**form, "add_anyway": "1"})
    assert added.status_code == 302 and len(api.get("/api/repositories").get_json()) == 2


def test_unique_passed_says_it_checked_names_only_when_modules_were_skipped(client, api):
    name = repository(api, "skipped")
    steps = [{"step": "marker", "state": "failed", "detail": "no README.md"},
             {"step": "modules", "state": "skipped", "detail": "skipped: the marker step failed"},
             {"step": "unique", "state": "passed", "detail": ""}]
    with database.connection_context():
        Repository.update(steps=steps).where(Repository.name == name).execute()
    page = client.get("/repositories").get_data(as_text=True)
    assert "<strong>unique</strong>: passed (package names only: the modules were not loaded)" in page

"""External Repositories pages: forms share the API's rules and messages; htmx gets partials."""
import html

from tests.conftest import wait_for_job
from tests.support.gitserver import closed_port_url

README = "This repository contains thymis modules.\n"
FLAKE = '{ description = "page demo"; outputs = { self }: { }; }\n'


def post_form(client, path, data, htmx=False):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(path, data={**data, "csrf_token": client.csrf}, headers=headers)


def test_page_shows_security_note_and_form(client):
    page = client.get("/repositories")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Add Repository" in text and "Security note" in text and "full privileges" in text
    assert "HX-Request" in page.headers["Vary"]
    assert 'src="/static/htmx.min.js"' in text


def test_invalid_form_shows_the_same_message_as_json_and_keeps_input(client, api):
    data = {"display_name": "Mine", "url": "ftp://example.org/x.git"}
    page = post_form(client, "/repositories", data)
    json_error = api.post("/api/repositories", json=data).get_json()["error"]
    text = html.unescape(page.get_data(as_text=True))
    assert page.status_code == 422
    assert json_error["message"] in text
    assert 'value="Mine"' in text  # nothing the user typed is lost
    assert api.get("/api/repositories").get_json() == []


def test_htmx_add_returns_the_section_partial_and_row_polls_until_done(client, api, git_server):
    git_server.make_repo("page-demo", {"README.md": README, "flake.nix": FLAKE})
    response = post_form(client, "/repositories", {"display_name": "Page Demo", "url": git_server.url("page-demo")},
                         htmx=True)
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert text.lstrip().startswith('<div id="repositories-section">') and "<html" not in text
    assert "Page Demo" in text
    job_id = api.get("/api/repositories/page-demo").get_json()["job_id"]
    if job_id is not None:
        assert 'hx-trigger="every 1s"' in text
        wait_for_job(api, job_id)
    final = client.get("/repositories/page-demo/row?poll=1", headers={"HX-Request": "true"})
    assert final.status_code == 286  # tells htmx to stop polling
    body = final.get_data(as_text=True)
    assert "every 1s" not in body and 'data-status="ready"' in body
    commit = api.get("/api/repositories/page-demo").get_json()["fetched_commit"]
    assert commit[:7] in body


def test_plain_form_post_redirects_and_flashes(client, git_server):
    git_server.make_repo("page-plain", {"README.md": README, "flake.nix": FLAKE})
    response = post_form(client, "/repositories", {"display_name": "Plain", "url": git_server.url("page-plain")})
    assert response.status_code == 302
    assert "Added Plain" in client.get("/repositories").get_data(as_text=True)


def test_edit_and_delete_with_confirmation(client, api, git_server):
    git_server.make_repo("page-edit", {"README.md": README, "flake.nix": FLAKE})
    post_form(client, "/repositories", {"display_name": "Edit Me", "url": git_server.url("page-edit")})
    assert "Edit Me" in client.get("/repositories/edit-me/edit").get_data(as_text=True)
    bad = post_form(client, "/repositories/edit-me/edit", {"display_name": "", "url": git_server.url("page-edit")})
    assert bad.status_code == 422 and "display name is required" in bad.get_data(as_text=True)
    assert post_form(client, "/repositories/edit-me/edit",
                     {"display_name": "Edited", "url": git_server.url("page-edit")}).status_code == 302
    assert api.get("/api/repositories/edit-me").get_json()["display_name"] == "Edited"
    confirm = client.get("/repositories/edit-me/delete").get_data(as_text=True)
    assert "Remove Edited?" in confirm
    assert post_form(client, "/repositories/edit-me/delete", {}).status_code == 302
    assert api.get("/api/repositories/edit-me").status_code == 404


def test_output_is_escaped(client, api):
    api.post("/api/repositories", json={"display_name": "<script>alert(1)</script>",
                                        "url": closed_port_url("x")})
    text = client.get("/repositories").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;" in text


def test_unknown_repository_page_is_404(client):
    assert client.get("/repositories/nothing/edit").status_code == 404


def test_editing_during_a_fetch_is_refused_whole(client, api, git_server):
    git_server.make_repo("page-busy", {"README.md": README, "flake.nix": FLAKE}).branch("other")
    git_server.stall("page-busy")
    post_form(client, "/repositories", {"display_name": "Busy", "url": git_server.url("page-busy")})
    response = post_form(client, "/repositories/busy/edit", {"display_name": "Busy", "url": git_server.url("page-busy"),
                                                             "ref": "other"})
    text = response.get_data(as_text=True)
    assert response.status_code == 409 and "<html" in text and "try again when it ends" in text
    assert api.get("/api/repositories/busy").get_json()["ref"] is None    # nothing saved

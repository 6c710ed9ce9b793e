"""The access panel of the edit page, test connection, deploy keys and known hosts, without a browser."""
import itertools

from tests.conftest import wait_for_job

TOKEN = "ghp_page-Secr3t-token"
_names = itertools.count()
HX = {"HX-Request": "true"}


def private_repository(api, git_server):
    name = f"page-private-{next(_names)}"
    repo = git_server.make_repo(name, {"README.md": "contains thymis modules\n",
                                       "flake.nix": "{ outputs = { self }: { }; }\n"})
    git_server.require_auth(name, "", TOKEN)
    body = api.post("/api/repositories", json={"display_name": name, "url": git_server.url(name)}).get_json()
    wait_for_job(api, body["job_id"])
    return body["name"], repo


def edit_form(client, name, **fields):
    repo = client.get(f"/api/repositories/{name}").get_json()
    return {"csrf_token": client.csrf, "display_name": repo["display_name"], "url": repo["url"], "ref": "", **fields}


def test_saving_a_token_from_the_edit_page(client, api, git_server):
    name, repo = private_repository(api, git_server)
    page = client.get(f"/repositories/{name}/edit").get_data(as_text=True)
    assert 'name="access_kind" value="https-token"' in page and 'id="access-none"' in page
    saved = client.post(f"/repositories/{name}/edit", data=edit_form(client, name, access_kind="https-token",
                                                                      access_username="", access_token=TOKEN))
    assert saved.status_code == 302
    current = api.get(f"/api/repositories/{name}").get_json()
    assert current["access"] == {"kind": "https-token", "username": None}
    assert wait_for_job(api, current["job_id"])["state"] == "succeeded"
    page = client.get(f"/repositories/{name}/edit").get_data(as_text=True)
    assert TOKEN not in page and "saved: leave empty to keep it" in page
    listing = client.get("/repositories").get_data(as_text=True)
    assert TOKEN not in listing


def test_connection_with_unsaved_form_values(client, api, git_server):
    name, repo = private_repository(api, git_server)
    form = edit_form(client, name, access_kind="https-token", access_username="", access_token=TOKEN)
    partial = client.post(f"/repositories/{name}/test-connection", data=form, headers=HX).get_data(as_text=True)
    assert "Connected" in partial and repo.rev("refs/heads/main")[:12] in partial and TOKEN not in partial
    form["access_token"] = "wrong"
    failed = client.post(f"/repositories/{name}/test-connection", data=form, headers=HX).get_data(as_text=True)
    assert "authentication failed" in failed
    full = client.post(f"/repositories/{name}/test-connection", data=edit_form(client, name)).get_data(as_text=True)
    assert "<html" in full and "authentication required" in full
    assert api.get(f"/api/repositories/{name}").get_json()["access"] == {"kind": "none"}  # nothing was saved


def test_generating_a_deploy_key_on_the_page(client, api, git_server):
    name, _ = private_repository(api, git_server)
    page = client.get(f"/repositories/{name}/edit").get_data(as_text=True)
    assert "no deploy key yet" in page
    panel = client.post(f"/repositories/{name}/deploy-key", data={"csrf_token": client.csrf}, headers=HX)
    text = panel.get_data(as_text=True)
    key = api.get(f"/api/repositories/{name}/deploy-key").get_json()
    assert key["public_key"] in text and "read-only deploy key" in text and not key["active"]
    plain = client.post(f"/repositories/{name}/deploy-key", data={"csrf_token": client.csrf})
    assert plain.status_code == 302 and plain.headers["Location"].endswith(f"/repositories/{name}/edit#access")
    assert api.get(f"/api/repositories/{name}/deploy-key").get_json()["public_key"] != key["public_key"]


def test_known_hosts_page_trusts_and_resets(client):
    from repos.ssh_keys import generate_ed25519, public_fingerprint
    public = generate_ed25519("host").public_line
    line = "[git.example.com]:2222 " + " ".join(public.split()[:2])
    added = client.post("/known-hosts", data={"csrf_token": client.csrf, "lines": line})
    assert added.status_code == 302
    page = client.get("/known-hosts").get_data(as_text=True)
    assert "git.example.com:2222" in page and public_fingerprint(public) in page
    bad = client.post("/known-hosts", data={"csrf_token": client.csrf, "lines": "|1|abc|def ssh-ed25519 AAAA"})
    assert bad.status_code == 422 and "hashed host names" in bad.get_data(as_text=True)
    reset = client.post("/known-hosts/reset?host=git.example.com&port=2222", data={"csrf_token": client.csrf})
    assert reset.status_code == 302
    assert "No host keys on record yet" in client.get("/known-hosts").get_data(as_text=True)


def test_openapi_documents_access(api):
    document = api.get("/api/openapi.json").get_json()
    for path in ("/api/test-connection", "/api/repositories/{name}/test-connection", "/api/known-hosts",
                 "/api/known-hosts/{host}", "/api/repositories/{name}/deploy-key", "/api/host-ssh-key"):
        assert path in document["paths"]
    schemas = document["components"]["schemas"]
    assert schemas["RepositoryInput"]["properties"]["access"] == {"$ref": "#/components/schemas/AccessInput"}
    assert schemas["AccessInput"]["properties"]["token"]["writeOnly"] is True


def test_a_url_with_a_token_on_the_edit_page_sets_the_access(client, api, git_server):
    from models import RepositoryAccess, database
    name, repo = private_repository(api, git_server)
    form = edit_form(client, name, access_kind="none")
    form["url"] = form["url"].replace("http://", f"http://:{TOKEN}@")
    assert client.post(f"/repositories/{name}/edit", data=form).status_code == 302
    current = api.get(f"/api/repositories/{name}").get_json()
    assert current["access"]["kind"] == "https-token" and TOKEN not in current["url"]
    assert wait_for_job(api, current["job_id"])["state"] == "succeeded"
    assert api.delete(f"/api/repositories/{name}").status_code == 204
    with database.connection_context():
        assert RepositoryAccess.select().count() == 0  # the credentials went with the repository

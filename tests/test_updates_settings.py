"""The refresh interval and webhook secret on the edit page and the CLI (issue 17): same rules and messages as the
JSON API, the secret never shown again."""
import html
import json

from tests.conftest import wait_for_job
from tests.test_webhooks import HOOK, add_repository, headers, push_body

SECRET = "a-page-secret-of-enough-length"


def test_edit_page_sets_and_removes_both(client, api, git_server):
    name, _ = add_repository(api, git_server, secret=None)
    page = client.get(f"/repositories/{name}/edit").get_data(as_text=True)
    assert "Webhook secret (not set)" in page and f"/api/hooks/repositories/{name}" in page
    assert 'name="refresh_interval"' in page and 'value="off"' in page
    form = {"csrf_token": client.csrf, "display_name": name, "url": git_server.url(name), "ref": "",
            "allowed_signers": "", "review": "auto", "access_kind": "none"}
    response = client.post(f"/repositories/{name}/edit", data={**form, "refresh_interval": "0",
                                                               "webhook_secret": SECRET})
    assert response.status_code == 422
    message = "the refresh interval must be 'off' or a whole number of minutes from 1 to 43200"
    assert message in html.unescape(response.get_data(as_text=True)) and SECRET not in response.get_data(as_text=True)
    via_json = api.patch(f"/api/repositories/{name}", json={"refresh_interval": 0}).get_json()
    assert via_json["error"]["message"] == message
    assert api.get(f"/api/repositories/{name}").get_json()["webhook_secret_set"] is False  # nothing saved

    response = client.post(f"/repositories/{name}/edit", data={**form, "refresh_interval": "30",
                                                               "webhook_secret": SECRET})
    assert response.status_code == 302, response.get_data(as_text=True)
    shown = api.get(f"/api/repositories/{name}").get_json()
    assert shown["refresh_interval"] == 30 and shown["webhook_secret_set"] is True
    page = client.get(f"/repositories/{name}/edit").get_data(as_text=True)
    assert "Webhook secret (set)" in page and SECRET not in page and 'value="30"' in page
    # Saving again with the secret field empty keeps it; the box removes it.
    assert client.post(f"/repositories/{name}/edit", data={**form, "refresh_interval": "30"}).status_code == 302
    assert api.get(f"/api/repositories/{name}").get_json()["webhook_secret_set"] is True
    response = client.post(f"/repositories/{name}/edit", data={**form, "refresh_interval": "off",
                                                               "remove_webhook_secret": "1"})
    assert response.status_code == 302
    shown = api.get(f"/api/repositories/{name}").get_json()
    assert shown["webhook_secret_set"] is False and shown["refresh_interval"] == "off"


def test_cli_interval_and_generated_secret(app, api, git_server):
    name, _ = add_repository(api, git_server, secret=None)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["repos", "interval", name, "15"])
    assert result.exit_code == 0 and f"{name}: refresh every 15 minute(s)" in result.output
    result = runner.invoke(args=["repos", "interval", name, "soon"])
    assert result.exit_code == 1 and "'off' or a whole number of minutes" in result.output
    assert runner.invoke(args=["repos", "interval", name, "off"]).output.strip() == f"{name}: refresh off"
    result = runner.invoke(args=["repos", "webhook-secret", name, "--generate"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert len(secret) >= 40 and secret not in json.dumps(api.get(f"/api/repositories/{name}").get_json())
    hook = app.test_client(use_cookies=False)
    body = push_body("gitlab")
    response = hook.post(HOOK.format(name), data=body, headers=headers("gitlab", body, secret))
    assert response.status_code == 202
    wait_for_job(api, response.get_json()["job_id"])
    result = runner.invoke(args=["repos", "webhook-secret", name], input="too-short\ntoo-short\n")
    assert result.exit_code == 1 and "webhook secret must have 16" in result.output
    assert runner.invoke(args=["repos", "webhook-secret", name, "--remove"]).exit_code == 0
    assert hook.post(HOOK.format(name), data=body, headers=headers("gitlab", body, secret)).status_code == 401


def test_key_rotation_reencrypts_the_webhook_secret(app, api, git_server):
    from models import Repository, database
    name, _ = add_repository(api, git_server, secret=SECRET)
    with database.connection_context():
        before = Repository.get(Repository.name == name).webhook_secret
    result = app.test_cli_runner().invoke(args=["secrets", "rotate-key"])
    assert result.exit_code == 0, result.output
    with database.connection_context():
        assert Repository.get(Repository.name == name).webhook_secret != before
    body = push_body("github")
    response = app.test_client(use_cookies=False).post(HOOK.format(name), data=body,
                                                       headers=headers("github", body, SECRET))
    assert response.status_code == 202
    wait_for_job(api, response.get_json()["job_id"])

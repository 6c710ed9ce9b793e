"""Operator commands: flask --app app repos add|list|refresh|remove and tokens create."""
import json

README = "This repository contains thymis modules.\n"
FLAKE = '{ outputs = { self }: { }; }\n'


def test_repos_add_list_refresh_remove(app, git_server):
    git_server.make_repo("cli-demo", {"README.md": README, "flake.nix": FLAKE})
    runner = app.test_cli_runner()
    result = runner.invoke(args=["repos", "add", git_server.url("cli-demo"), "--display-name", "CLI Demo"])
    assert result.exit_code == 0, result.output
    assert "added cli-demo" in result.output
    listed = runner.invoke(args=["repos", "list", "--json"])
    rows = json.loads(listed.output)
    assert rows[0]["name"] == "cli-demo" and rows[0]["fetched_commit"]
    assert runner.invoke(args=["repos", "refresh", "cli-demo"]).exit_code == 0
    removed = runner.invoke(args=["repos", "remove", "cli-demo", "--yes"])
    assert removed.exit_code == 0
    assert json.loads(runner.invoke(args=["repos", "list", "--json"]).output) == []


def test_repos_add_reports_invalid_input(app):
    result = app.test_cli_runner().invoke(args=["repos", "add", "ftp://x/y", "--display-name", "X"])
    assert result.exit_code == 1
    assert "url:" in result.output


def test_tokens_create_prints_a_working_token(app):
    runner = app.test_cli_runner()
    token = runner.invoke(args=["tokens", "create", "ci"]).output.strip()
    response = app.test_client().get("/api/repositories", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    again = runner.invoke(args=["tokens", "create", "ci"])
    assert again.exit_code == 1 and "already exists" in again.output


def test_set_password_refuses_when_a_password_file_is_configured(app_factory, tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("from the file\n")
    app = app_factory(password_file=secret)
    result = app.test_cli_runner().invoke(args=["admin", "set-password", "--password", "something-new"])
    assert result.exit_code == 1 and "THYMIS_AUTH_BASIC_PASSWORD_FILE" in result.output

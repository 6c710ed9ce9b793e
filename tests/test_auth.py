"""Authentication on every page and endpoint but /login and /healthz; CSRF on forms; tokens for the API."""
import pytest

from tests.conftest import csrf_from, login


def test_healthz_is_public(app):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["sandbox"]["isolation"] == "bwrap"


def test_pages_redirect_to_login_and_api_answers_401(app):
    anonymous = app.test_client()
    page = anonymous.get("/repositories")
    assert page.status_code == 302 and page.headers["Location"] == "/login?next=/repositories"
    api = anonymous.get("/api/repositories")
    assert api.status_code == 401
    assert api.get_json()["error"]["code"] == "unauthenticated"
    assert anonymous.post("/api/repositories", json={}).status_code == 401
    assert anonymous.get("/api/jobs/1").status_code == 401


def test_htmx_request_without_session_is_sent_to_login(app):
    response = app.test_client().get("/repositories/x/row", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login"


def test_admin_password_is_printed_once_and_survives_restart(app_factory, announced):
    first = app_factory()
    assert len(announced) == 1 and len(announced[0]) >= 12
    app_factory()  # a restart on the same data folder
    assert len(announced) == 1
    assert login(first.test_client(), announced[0]).status_code == 302


def test_wrong_password_is_refused(app, admin_password):
    response = login(app.test_client(), admin_password + "x")
    assert response.status_code == 401
    assert "wrong user name or password" in response.get_data(as_text=True)


def test_password_file_replaces_generated_password(app_factory, tmp_path, announced):
    secret = tmp_path / "admin-password"
    secret.write_text("correct horse battery\n")
    app = app_factory(password_file=secret)
    assert announced == []
    assert login(app.test_client(), "correct horse battery").status_code == 302
    assert login(app.test_client(), "wrong").status_code == 401


@pytest.mark.parametrize("target", ["//evil.example/", "/\t/evil.example/x", "/\\evil.example", "https://evil.example/",
                                    "/ /evil.example"])
def test_login_redirect_stays_on_this_site(app, admin_password, target):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"username": "admin", "password": admin_password,
                                           "csrf_token": csrf_from(page), "next": target})
    assert response.headers["Location"] == "/"


def test_login_redirect_returns_to_the_page_asked_for(app, admin_password):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"username": "admin", "password": admin_password,
                                           "csrf_token": csrf_from(page), "next": "/devices/kiosk?tab=modules"})
    assert response.headers["Location"] == "/devices/kiosk?tab=modules"


def test_forms_without_csrf_token_are_refused(client):
    response = client.post("/repositories", data={"display_name": "x", "url": "https://example.org/x.git"})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert "x.git" not in client.get("/repositories").get_data(as_text=True)


def test_login_form_needs_csrf_token(app, admin_password):
    response = app.test_client().post("/login", data={"username": "admin", "password": admin_password})
    assert response.status_code == 400


def test_bearer_token_opens_the_api_and_a_wrong_one_does_not(app, api):
    assert api.get("/api/repositories").status_code == 200
    wrong = app.test_client().get("/api/repositories", headers={"Authorization": "Bearer thy_nope"})
    assert wrong.status_code == 401
    assert wrong.get_json()["error"]["message"] == "the bearer token is not valid"


def test_logout_ends_the_session(client):
    assert client.post("/logout", data={"csrf_token": client.csrf}).status_code == 302
    assert client.get("/repositories").status_code == 302


def test_tokens_are_stored_hashed(app, token):
    from models import ApiToken, database
    with database.connection_context():
        stored = [row.token_hash for row in ApiToken.select()]
    assert token not in stored and len(stored) == 1


def test_secret_files_are_private(app, tmp_path):
    data = tmp_path / "data"
    assert (data / "secret_key").stat().st_mode & 0o077 == 0
    assert data.stat().st_mode & 0o077 == 0


def test_password_guessing_is_slowed_down(app, admin_password):
    from auth.throttle import MAX_FAILURES
    client = app.test_client()
    for _ in range(MAX_FAILURES):
        assert login(client, "guess").status_code == 401
    refused = login(client, admin_password)  # even the right password waits now
    assert refused.status_code == 429
    assert "too many failed logins" in refused.get_data(as_text=True)
    assert int(refused.headers["Retry-After"]) > 0


def test_throttle_window_passes():
    from auth.throttle import LoginThrottle
    now = [0.0]
    throttle = LoginThrottle(max_failures=2, window=60, clock=lambda: now[0])
    throttle.failed("a"), throttle.failed("a")
    assert throttle.wait_seconds("a") == 60 and throttle.wait_seconds("b") == 0
    now[0] = 61
    assert throttle.wait_seconds("a") == 0


def test_behind_a_proxy_each_client_is_throttled_on_its_own(app_factory, announced):
    from auth.throttle import MAX_FAILURES
    app = app_factory(trust_proxy=True)
    client = app.test_client()
    for _ in range(MAX_FAILURES):
        page = client.get("/login").get_data(as_text=True)
        client.post("/login", data={"username": "admin", "password": "guess", "csrf_token": csrf_from(page)},
                    headers={"X-Forwarded-For": "203.0.113.7"})
    page = client.get("/login").get_data(as_text=True)
    other = client.post("/login", data={"username": "admin", "password": announced[0],
                                        "csrf_token": csrf_from(page)},
                        headers={"X-Forwarded-For": "198.51.100.2"})
    assert other.status_code == 302


def _post_login(client, username, password):
    page = client.get("/login").get_data(as_text=True)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_from(page)})


def test_login_needs_the_user_name_and_a_wrong_one_reads_like_a_wrong_password(app, admin_password):
    client = app.test_client()
    wrong_name = _post_login(client, "root", admin_password)
    wrong_password = _post_login(client, "admin", "guess")
    no_name = _post_login(client, "", admin_password)
    for response in (wrong_name, wrong_password, no_name):
        assert response.status_code == 401
        assert "wrong user name or password" in response.get_data(as_text=True)
    assert client.get("/repositories").status_code == 302
    assert _post_login(client, "admin", admin_password).status_code == 302
    assert client.get("/repositories").status_code == 200


def test_auth_basic_username_sets_the_user_name(app_factory, announced, monkeypatch):
    monkeypatch.setenv("THYMIS_AUTH_BASIC_USERNAME", "operator")
    from settings import load_settings
    assert load_settings().auth_basic_username == "operator"
    app = app_factory(auth_basic_username="operator")
    client = app.test_client()
    assert _post_login(client, "admin", announced[0]).status_code == 401
    page = client.get("/login").get_data(as_text=True)
    assert 'name="username"' in page
    assert _post_login(client, "operator", announced[0]).status_code == 302
    assert client.get("/repositories").status_code == 200


def test_a_session_of_a_renamed_user_ends(app, client):
    app.config["THYMIS"].auth_basic_username = "renamed"
    try:
        assert client.get("/repositories").status_code == 302
    finally:
        app.config["THYMIS"].auth_basic_username = "admin"

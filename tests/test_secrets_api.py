"""Secrets through the JSON API and the pages: write-only values, encrypted at rest, chosen by module settings."""
import base64
import sqlite3

import pytest

SECURITY = "thymis_controller.modules.security.SecurityAccessModule"
FILES = "thymis_controller.modules.files.FilesModule"
VALUE = "hunter2-Xq9-never-shown"


def test_a_secret_is_created_listed_and_never_returned(api, app):
    created = api.post("/api/secrets", json={"name": "wifi-psk", "type": "single_line", "value": VALUE})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["name"] == "wifi-psk" and body["type"] == "single_line" and body["size"] == len(VALUE)
    assert body["used_by"] == [] and created.headers["Location"] == "/api/secrets/wifi-psk"
    listed = api.get("/api/secrets")
    assert [s["name"] for s in listed.get_json()] == ["wifi-psk"] and listed.headers["X-Total-Count"] == "1"
    for response in (created, listed, api.get("/api/secrets/wifi-psk"), api.get("/api/secrets?type=single_line")):
        assert VALUE not in response.get_data(as_text=True)
    database = app.config["THYMIS"].database_path
    con = sqlite3.connect(database)
    stored = con.execute("SELECT value FROM secret").fetchone()[0]
    con.close()
    assert VALUE not in stored and VALUE.encode() not in database.read_bytes()
    from models import Secret
    from models import database as db
    from secret_store.service import reveal
    with db.connection_context():
        assert reveal(app.config["THYMIS"], Secret.get(Secret.name == "wifi-psk")) == VALUE.encode()


def test_replacing_the_value_records_when_and_keeps_created(api, app):
    api.post("/api/secrets", json={"name": "token", "type": "single_line", "value": "one"})
    from models import Secret
    from models import database as db
    with db.connection_context():
        Secret.update(value_updated_at="2020-01-01 00:00:00", created_at="2020-01-01 00:00:00").execute()
    changed = api.patch("/api/secrets/token", json={"value": "two-longer"})
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert body["created_at"] == "2020-01-01T00:00:00Z" and body["value_updated_at"] > "2020"
    assert not body["value_updated_at"].startswith("2020") and body["size"] == len("two-longer")
    with db.connection_context():
        from secret_store.service import reveal
        assert reveal(app.config["THYMIS"], Secret.get(Secret.name == "token")) == b"two-longer"


@pytest.mark.parametrize("body, field, fragment", [
    ({"type": "single_line", "value": "x"}, "name", "name is required"),
    ({"name": "../etc", "type": "single_line", "value": "x"}, "name", "file name on the device"),
    ({"name": "a", "type": "password", "value": "x"}, "type", "type must be one of"),
    ({"name": "a", "type": "single_line"}, "value", "value is required"),
    ({"name": "a", "type": "single_line", "value": "two\nlines-" + VALUE}, "value", "one line"),
    ({"name": "a", "type": "env_list", "value": "GOOD=1\nbad line " + VALUE}, "value", "line 2"),
    ({"name": "a", "type": "file", "value_base64": "!!" + VALUE}, "value_base64", "base64"),
    ({"name": "a", "type": "single_line", "value": "x", "extra": 1}, "extra", "unknown field"),
])
def test_invalid_secret_is_422_naming_the_field_without_the_value(api, body, field, fragment):
    response = api.post("/api/secrets", json=body)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["field"] == field and fragment in error["message"]
    assert VALUE not in response.get_data(as_text=True)
    assert api.get("/api/secrets").get_json() == []


def test_file_secret_from_base64_and_conflicts(api, app):
    data = bytes(range(256))
    created = api.post("/api/secrets", json={"name": "cert", "type": "file",
                                             "value_base64": base64.b64encode(data).decode()})
    assert created.status_code == 201 and created.get_json()["size"] == 256
    again = api.post("/api/secrets", json={"name": "cert", "type": "single_line", "value": "x"})
    assert again.status_code == 409 and again.get_json()["error"]["field"] == "name"
    renamed = api.patch("/api/secrets/cert", json={"name": "other"})
    assert renamed.status_code == 422 and "cannot be renamed" in renamed.get_json()["error"]["message"]
    assert api.get("/api/secrets/nope").status_code == 404
    assert api.delete("/api/secrets/cert").status_code == 204
    assert api.get("/api/secrets/cert").status_code == 404


def test_a_secret_setting_names_a_secret_of_a_matching_type(api):
    api.post("/api/secrets", json={"name": "root-pw", "type": "single_line", "value": VALUE})
    api.post("/api/secrets", json={"name": "env", "type": "env_list", "value": "A=1"})

    def device(name, value):
        return api.post("/api/devices", json={"name": name, "display_name": name, "modules": [
            {"type": SECURITY, "settings": {"password_secret": value}}]})

    missing = device("d1", "nope")
    assert missing.status_code == 422
    error = missing.get_json()["error"]
    assert error["field"] == "modules[0].settings.password_secret" and "no secret named 'nope'" in error["message"]
    wrong = device("d1", "env")
    assert wrong.status_code == 422 and "of type env_list" in wrong.get_json()["error"]["message"]
    assert wrong.get_json()["error"]["field"] == "modules[0].settings.password_secret"
    ok = device("d1", "root-pw")
    assert ok.status_code == 201, ok.get_json()
    detail = api.get("/api/devices/d1")
    module = next(m for m in detail.get_json()["effective"] if m["type"] == SECURITY)
    assert {s["name"]: s["value"] for s in module["settings"]}["password_secret"] == "root-pw"
    assert VALUE not in detail.get_data(as_text=True)
    used = api.get("/api/secrets/root-pw").get_json()["used_by"]
    assert used == [{"kind": "device", "name": "d1", "module": SECURITY, "setting": "password_secret"}]
    busy = api.delete("/api/secrets/root-pw")
    assert busy.status_code == 409 and "device d1" in busy.get_json()["error"]["message"]
    retype = api.patch("/api/secrets/root-pw", json={"type": "multi_line"})
    assert retype.status_code == 409 and "password_secret" in retype.get_json()["error"]["message"]


def test_secret_inside_a_list_setting_is_checked_and_found(api):
    api.post("/api/secrets", json={"name": "app-key", "type": "multi_line", "value": "-----BEGIN-----\nx\n"})
    bad = api.post("/api/tags", json={"name": "t", "display_name": "T", "modules": [
        {"type": FILES, "settings": {"secrets": [{"secret": "gone", "path": "/etc/app.key"}]}}]})
    assert bad.status_code == 422 and "secrets[0].secret" in bad.get_json()["error"]["field"]
    good = api.post("/api/tags", json={"name": "t", "display_name": "T", "modules": [
        {"type": FILES, "settings": {"secrets": [{"secret": "app-key", "path": "/run/thymis/app.key"}]}}]})
    assert good.status_code == 201, good.get_json()  # (/etc/app.key is outside the allowed folders: a 422)
    [use] = api.get("/api/secrets/app-key").get_json()["used_by"]
    assert use["kind"] == "tag" and use["setting"] == "secrets[0].secret"


def test_the_secrets_page_saves_with_csrf_and_shows_the_same_messages(client):
    page = client.get("/secrets")
    assert page.status_code == 200 and "Add a secret" in page.get_data(as_text=True)
    refused = client.post("/secrets", data={"name": "p", "type": "single_line", "value": "x"})
    assert refused.status_code == 400  # no CSRF token
    bad = client.post("/secrets", data={"csrf_token": client.csrf, "name": "p", "type": "single_line",
                                        "value": "a\r\nb" + VALUE})
    assert bad.status_code == 422 and "must be one line" in bad.get_data(as_text=True)
    assert VALUE not in bad.get_data(as_text=True)
    saved = client.post("/secrets", data={"csrf_token": client.csrf, "name": "p", "type": "multi_line",
                                          "value": "a\r\nb" + VALUE})
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/secrets/p")
    detail = client.get("/secrets/p").get_data(as_text=True)
    assert "multi_line" in detail and VALUE not in detail and "No setting chooses this secret" in detail
    assert VALUE not in client.get("/secrets").get_data(as_text=True)
    deleted = client.post("/secrets/p/delete", data={"csrf_token": client.csrf})
    assert deleted.status_code == 302 and "/secrets/p" not in client.get("/secrets").get_data(as_text=True)


def test_rotate_key_reencrypts_secrets_and_credentials_then_drops_the_old_key(app, api):
    from models import Repository, RepositoryAccess, Secret
    from models import database as db
    from repos import vault
    settings = app.config["THYMIS"]
    api.post("/api/secrets", json={"name": "s1", "type": "single_line", "value": VALUE})
    with db.connection_context():
        repo = Repository.create(name="r1", display_name="R1", url="https://example.invalid/r1.git")
        RepositoryAccess.create(repository=repo, kind="https-token", username="u", token=vault.encrypt(settings, "tok"))
        before = (Secret.get().value, RepositoryAccess.get().token)
    old_key = vault.key_path(settings).read_text()
    result = app.test_cli_runner().invoke(args=["secrets", "rotate-key"])
    assert result.exit_code == 0, result.output
    assert "re-encrypted 2 value(s)" in result.output and VALUE not in result.output
    new_key = vault.key_path(settings).read_text()
    assert new_key != old_key and len(new_key.split()) == 1  # the old key is gone once all are re-encrypted
    with db.connection_context():
        secret, access = Secret.get(), RepositoryAccess.get()
        assert (secret.value, access.token) != before
        assert vault.decrypt_bytes(settings, secret.value) == VALUE.encode()
        assert vault.decrypt(settings, access.token) == "tok"
    from cryptography.fernet import Fernet, InvalidToken
    with pytest.raises(InvalidToken):  # the new value is not readable with the old key
        Fernet(old_key.strip()).decrypt(secret.value.encode())


def test_rotate_key_keeps_the_old_key_when_a_value_cannot_be_read(app, api):
    from models import Secret
    from models import database as db
    from repos import vault
    settings = app.config["THYMIS"]
    api.post("/api/secrets", json={"name": "good", "type": "single_line", "value": "a"})
    api.post("/api/secrets", json={"name": "damaged", "type": "single_line", "value": "b"})
    with db.connection_context():
        Secret.update(value="gAAAAAdamaged").where(Secret.name == "damaged").execute()
        good_before = Secret.get(Secret.name == "good").value
    old_key = vault.key_path(settings).read_text().strip()
    result = app.test_cli_runner().invoke(args=["secrets", "rotate-key"])
    assert result.exit_code == 1 and "secret damaged (value)" in result.output and "old keys are kept" in result.output
    keys = vault.key_path(settings).read_text().split()
    assert len(keys) == 2 and keys[1] == old_key  # new first, old still there
    with db.connection_context():
        assert Secret.get(Secret.name == "good").value == good_before  # the transaction changed nothing
        assert vault.decrypt(settings, good_before) == "a"

"""Secrets delivered at deploy, locally and over SSH (real nix with the nixpkgs STAND-IN, real sshd): the file
arrives with its mode and content before the switch, the Nix refers to its path only, and the value is nowhere
else: not in the store paths of the build, the project repository, the database, a job log or a response."""
import os
import stat
import subprocess

import pytest

from tests.conftest import wait_for_job
from tests.support import repo_trees as rb

CORE = "thymis_controller.modules.thymis.ThymisDevice"
VAULTED = "vault_modules.modules.TokenUser"
VALUE = "s3cr3t-Zq8-delivery-value"
NEW_VALUE = "rotated-Wv4-delivery-value"
OFFLINE_FLAKE = '{ description = "vault"; outputs = { self }: { }; }\n'
MODULE = '''\
import thymis_controller.modules.modules as modules
from thymis_controller import db_models
from thymis_controller.modules.modules import Setting


class TokenUser(modules.Module):
    display_name = "Token user"
    token = Setting(display_name="API token", nix_attr_name="environment.etc.token-path.text", default="",
                    type=modules.SecretType(allowed_types=[db_models.SecretTypes.SINGLE_LINE,
                                                           db_models.SecretTypes.MULTI_LINE]))
    extra = Setting(display_name="Extra", nix_attr_name="environment.etc.extra-path.text", default="",
                    type=modules.SecretType(allowed_types=[db_models.SecretTypes.ENV_LIST]))
'''


@pytest.fixture
def secrets_dir(tmp_path):
    return tmp_path / "device-secrets"


@pytest.fixture
def app_config(standins, tmp_path, activation_log, secrets_dir, request):
    profile = tmp_path / "profiles" / "system"
    profile.parent.mkdir()
    config = {"thymis_flake_url": standins.thymis_url, "system_profile": profile, "secrets_dir": secrets_dir}
    if "sshd" in request.fixturenames:
        config["ssh_key"] = request.getfixturevalue("sshd").options.key_file
    return config


@pytest.fixture
def vault_repo(api, git_server, tmp_path):
    root = rb.single_module_repo(tmp_path / "vault-tree", "vault_modules", MODULE)
    (root / "flake.nix").write_text(OFFLINE_FLAKE)
    name = git_server.new_name("vault")
    git_server.make_repo(name, {str(p.relative_to(root)): p.read_text() for p in root.rglob("*") if p.is_file()})
    created = api.post("/api/repositories", json={"url": git_server.url(name), "display_name": "Vault",
                                                  "name": "vault"})
    job = wait_for_job(api, created.get_json()["job_id"])
    assert job["state"] == "succeeded", job["log"]


class Seen:
    """Every response body the test got, to search for the value at the end."""

    def __init__(self, api):
        self.api, self.bodies = api, []

    def __getattr__(self, method):
        def call(path, **kwargs):
            response = getattr(self.api, method)(path, **kwargs)
            self.bodies.append(response.get_data())
            return response
        return call


def deploy(seen, name):
    response = seen.post(f"/api/devices/{name}/deploy")
    assert response.status_code == 202, response.get_json()
    job = wait_for_job(seen.api, response.get_json()["job_id"], timeout=240)
    seen.bodies.append(repr(job).encode())
    return job


def closure(store_path: str) -> list[str]:
    out = subprocess.run(["nix-store", "-qR", store_path], capture_output=True, text=True, check=True).stdout
    return out.split()


def files_under(path):
    for root, _, names in os.walk(path):
        for name in names:
            full = os.path.join(root, name)
            if os.path.isfile(full) and not os.path.islink(full):
                yield full


def assert_no_trace(app, seen, store_path, values):
    settings = app.config["THYMIS"]
    places = list(files_under(settings.project_dir))          # the project repository, its git objects too
    places += [str(p) for p in settings.project_path.glob("controller.sqlite3*")]  # the database and its WAL
    for path in closure(store_path):
        places += list(files_under(path)) if os.path.isdir(path) else [path]
    for value in values:
        needle = value.encode()
        for place in places:
            with open(place, "rb") as f:
                assert needle not in f.read(), f"the secret's value is in {place}"
        for body in seen.bodies:
            assert needle not in body
    from models import Job, database
    with database.connection_context():
        for job in Job.select():
            for value in values:
                assert value not in (job.log or "") and value not in (job.error or "")
    # git objects are compressed: ask git for every object's content too
    objects = subprocess.run(["git", "-C", str(settings.project_dir), "rev-list", "--all", "--objects"],
                             capture_output=True, text=True, check=True).stdout.split()
    shas = [word for word in objects if len(word) == 40]
    contents = subprocess.run(["git", "-C", str(settings.project_dir), "cat-file", "--batch"],
                              input=("\n".join(shas) + "\n").encode(), capture_output=True, check=True).stdout
    for value in values:
        assert value.encode() not in contents


def run_scenario(api, app, secrets_dir, target):
    seen = Seen(api)
    assert seen.post("/api/secrets", json={"name": "api-token", "type": "single_line", "value": VALUE}).status_code \
        == 201
    assert seen.post("/api/secrets", json={"name": "env", "type": "env_list", "value": "A=1"}).status_code == 201
    bad = seen.post("/api/devices", json={"name": "box", "display_name": "Box", "target": target, "modules": [
        {"type": CORE, "settings": {"device_name": "box"}}, {"type": VAULTED, "settings": {"token": "env"}}]})
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "modules[1].settings.token"
    created = seen.post("/api/devices", json={"name": "box", "display_name": "Box", "target": target, "modules": [
        {"type": CORE, "settings": {"device_name": "box"}},
        {"type": VAULTED, "settings": {"token": "api-token", "extra": "env"}}]})
    assert created.status_code == 201, created.get_json()

    job = deploy(seen, "box")
    assert job["state"] == "succeeded", job["log"]
    token_file = secrets_dir / "api-token"
    assert token_file.read_text() == VALUE and (secrets_dir / "env").read_text() == "A=1"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o400
    assert stat.S_IMODE(secrets_dir.stat().st_mode) == 0o700 and token_file.stat().st_uid == os.geteuid()
    store_path = seen.get("/api/devices/box/deployments").get_json()[0]["store_path"]
    from tests.support.nix import toplevel_config
    etc = toplevel_config(store_path)["environment"]["etc"]
    assert etc["token-path"]["text"] == f"{secrets_dir}/api-token"  # the Nix names the path, not the value

    seen.patch("/api/secrets/api-token", json={"value": NEW_VALUE})
    changed = seen.patch("/api/devices/box", json={"modules": [
        {"type": CORE, "settings": {"device_name": "box"}}, {"type": VAULTED, "settings": {"token": "api-token"}}]})
    assert changed.status_code == 200, changed.get_json()
    job = deploy(seen, "box")
    assert job["state"] == "succeeded", job["log"]
    assert token_file.read_text() == NEW_VALUE                 # a changed value is delivered again
    assert not (secrets_dir / "env").exists()                  # no longer chosen: removed
    assert sorted(os.listdir(secrets_dir)) == [".thymis-placed", "api-token"]  # no temporary file left
    assert (secrets_dir / ".thymis-placed").read_text() == f"{token_file}\n"  # what the next deploy may remove
    seen.get("/api/devices/box")
    seen.get("/api/secrets")
    assert_no_trace(app, seen, store_path, [VALUE, NEW_VALUE])


def test_secrets_are_delivered_locally_and_leave_no_trace(api, app, vault_repo, secrets_dir):
    run_scenario(api, app, secrets_dir, "local")


def test_secrets_are_delivered_over_ssh(api, app, vault_repo, secrets_dir, sshd):
    run_scenario(api, app, secrets_dir, sshd.target)

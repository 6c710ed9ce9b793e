"""A deploy places each secret where its module's SecretType asks, with its owner, group and mode, a password
hashed with mkpasswd (yescrypt) first; the Nix names only the path. Hostile placements (a path outside the
allowed folders, an owner the device lacks) fail the deploy with a clear message before anything is switched.
Real nix with the nixpkgs STAND-IN, locally and over a real sshd; a tag deploy to two SSH devices."""
import grp
import pwd
import stat
import warnings

import pytest

from tests.conftest import wait_for_job
from tests.support import repo_trees as rb
from tests.support.nix import toplevel_config
from tests.test_secrets_delivery import OFFLINE_FLAKE, Seen, assert_no_trace, deploy

CORE = "thymis_controller.modules.thymis.ThymisDevice"
FILES = "thymis_controller.modules.files.FilesModule"
PLACED = "placed_modules.modules.Placed"
EVIL = "placed_modules.modules.Evil"
PASSWORD = "correct horse Bv7 battery"
TOKEN = "tok-Kd9-placed-value"
NOBODY = pwd.getpwnam("nobody")
NOBODY_GROUP = grp.getgrgid(NOBODY.pw_gid).gr_name
MODULE = '''\
import thymis_controller.modules.modules as modules
from thymis_controller import db_models
from thymis_controller.modules.modules import Setting

ONE_LINE = [db_models.SecretTypes.SINGLE_LINE]


class Placed(modules.Module):
    display_name = "Placed"
    password = Setting(display_name="Password", nix_attr_name="environment.etc.hash-path.text", default="",
                       type=modules.SecretType(allowed_types=ONE_LINE,
                                               default_processing_type=db_models.SecretProcessingTypes.MKPASSWD_YESCRYPT,
                                               on_device_path="@RUN@/app/password-hash", on_device_owner="nobody",
                                               on_device_group="@GROUP@", on_device_mode="0440"))
    token = Setting(display_name="Token", nix_attr_name="environment.etc.token-path.text", default="",
                    type=modules.SecretType(allowed_types=ONE_LINE))


class Evil(modules.Module):
    display_name = "Evil"
    shadow = Setting(display_name="Shadow", nix_attr_name="environment.etc.evil.text", default="",
                     type=modules.SecretType(allowed_types=ONE_LINE, on_device_path="/etc/shadow",
                                             on_device_owner="root", on_device_mode="0777"))
'''


@pytest.fixture
def run_dir(tmp_path):
    return tmp_path / "device-run"


@pytest.fixture
def app_config(standins, tmp_path, activation_log, run_dir, request):
    profile = tmp_path / "profiles" / "system"
    profile.parent.mkdir()
    config = {"thymis_flake_url": standins.thymis_url, "system_profile": profile,
              "secrets_dir": run_dir / "secrets", "secret_paths": (str(run_dir),)}
    if "sshd" in request.fixturenames:
        config["ssh_key"] = request.getfixturevalue("sshd").options.key_file
    if "two_devices" in request.fixturenames:
        config["ssh_key"] = request.getfixturevalue("two_devices")["a"][0].options.key_file
    return config


@pytest.fixture
def placed_repo(api, git_server, tmp_path, run_dir):
    source = MODULE.replace("@RUN@", str(run_dir)).replace("@GROUP@", NOBODY_GROUP)
    root = rb.single_module_repo(tmp_path / "placed-tree", "placed_modules", source)
    (root / "flake.nix").write_text(OFFLINE_FLAKE)
    name = git_server.new_name("placed")
    git_server.make_repo(name, {str(p.relative_to(root)): p.read_text() for p in root.rglob("*") if p.is_file()})
    created = api.post("/api/repositories", json={"url": git_server.url(name), "display_name": "Placed",
                                                  "name": "placed"})
    job = wait_for_job(api, created.get_json()["job_id"])
    assert job["state"] == "succeeded", job["log"]


def verifies(password: str, digest: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # libcrypt, the library NixOS checks passwords with
    return crypt.crypt(password, digest) == digest


def switched(job) -> bool:
    """Whether the job ran the stand-in's switch-to-configuration (it logs each run, locally and over ssh)."""
    return "stand-in switch-to-configuration: switch" in job["log"]


def run_scenario(api, app, run_dir, target):
    seen = Seen(api)
    for name, value in (("root-pw", PASSWORD), ("token", TOKEN)):
        assert seen.post("/api/secrets", json={"name": name, "type": "single_line", "value": value}).status_code == 201
    files_entry = {"secret": "token", "path": f"{run_dir}/files/token", "owner": "nobody", "group": "", "mode": "0400"}
    created = seen.post("/api/devices", json={"name": "box", "display_name": "Box", "target": target, "modules": [
        {"type": CORE, "settings": {"device_name": "box"}},
        {"type": PLACED, "settings": {"password": "root-pw", "token": "token"}},
        {"type": FILES, "settings": {"secrets": [files_entry]}}]})
    assert created.status_code == 201, created.get_json()
    job = deploy(seen, "box")
    assert job["state"] == "succeeded", job["log"]

    hash_file = run_dir / "app" / "password-hash"
    digest = hash_file.read_text()
    assert digest.startswith("$y$") and verifies(PASSWORD, digest) and not verifies("wrong", digest)
    info = hash_file.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (NOBODY.pw_uid, NOBODY.pw_gid, 0o440)
    assert (run_dir / "secrets" / "token").read_text() == TOKEN           # no path asked: the secrets folder
    files_token = run_dir / "files" / "token"                             # the Files entry's own path and owner
    assert files_token.read_text() == TOKEN and files_token.stat().st_uid == NOBODY.pw_uid
    assert stat.S_IMODE(files_token.stat().st_mode) == 0o400 and files_token.stat().st_gid == 0
    store_path = seen.get("/api/devices/box/deployments").get_json()[0]["store_path"]
    config = toplevel_config(store_path)
    assert config["environment"]["etc"]["hash-path"]["text"] == str(hash_file)   # the Nix names the path only
    assert config["thymis"]["config"]["files"]["secrets"][0]["secret"] == str(files_token)
    assert config["thymis"]["config"]["secrets-dir"] == str(run_dir / "secrets")  # the device module's folder
    assert_no_trace(app, seen, store_path, [PASSWORD, digest, TOKEN])

    assert switched(job), job["log"]

    # hostile: /etc/shadow with mode 0777 is refused when saved, naming the setting (and by a deploy, should the
    # module change later: test_secret_placement)
    refused = seen.patch("/api/devices/box", json={"modules": [
        {"type": CORE, "settings": {"device_name": "box"}}, {"type": EVIL, "settings": {"shadow": "token"}}]})
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["field"] == "modules[1].settings.shadow" and error["message"] == (
        f"Shadow: the secret's path /etc/shadow is outside the folders secrets may be placed in ({run_dir}/secrets, "
        f"{run_dir}; more with THYMIS_SECRET_PATHS)")

    # an owner the device does not have: refused on the device, nothing placed, nothing switched
    files_entry["owner"] = "thymis-no-such-user"
    assert seen.patch("/api/devices/box", json={"modules": [
        {"type": CORE, "settings": {"device_name": "box"}}, {"type": FILES, "settings": {"secrets": [files_entry]}}]}
    ).status_code == 200
    job = deploy(seen, "box")
    assert job["state"] == "failed"
    assert (f"owner 'thymis-no-such-user' of {files_token} does not exist on the device; nothing was placed"
            in job["error"]) and job["error"].endswith("nothing was switched")
    assert not switched(job) and hash_file.exists()                       # the earlier files stay as they were

    # the module no longer chooses them: every file placed before is removed, inside and outside the folder
    assert seen.patch("/api/devices/box", json={"modules": [{"type": CORE, "settings": {"device_name": "box"}}]}
                      ).status_code == 200
    job = deploy(seen, "box")
    assert job["state"] == "succeeded", job["log"]
    assert not hash_file.exists() and not files_token.exists() and not (run_dir / "secrets" / "token").exists()


def test_placed_secrets_locally(api, app, placed_repo, run_dir, activation_log):
    run_scenario(api, app, run_dir, "local")


def test_placed_secrets_over_ssh(api, app, placed_repo, run_dir, sshd, activation_log):
    run_scenario(api, app, run_dir, sshd.target)


# --- a tag deploy: each device of the tag gets its own secrets ---------------------------------------------


@pytest.fixture
def two_devices(tmp_path, run_dir):
    """Two SSH 'devices' on this machine, each seeing a folder of its own at ``run_dir`` (mount namespaces)."""
    from tests.support.sshd import SshServer, sshd_available
    if not sshd_available():
        pytest.skip("needs Debian's openssh-server and openssh-client, run as root")
    run_dir.mkdir(parents=True)
    servers = {}
    for name in ("a", "b"):
        own = tmp_path / f"device-{name}"
        own.mkdir()
        servers[name] = (SshServer(tmp_path / f"sshd-{name}", own_folder=(own, run_dir)).start(), own)
    key = servers["a"][0].options.key_file
    servers["b"][0].authorize(key.with_suffix(".pub").read_text())
    yield servers
    for server, _ in servers.values():
        server.stop()


def deploy_tag(seen, name):
    response = seen.post(f"/api/tags/{name}/deploy")
    assert response.status_code == 202, response.get_json()
    job = wait_for_job(seen.api, response.get_json()["job_id"], timeout=300)
    seen.bodies.append(repr(job).encode())
    return job


def test_a_tag_deploy_places_each_devices_secrets_and_removes_the_unused(api, app, two_devices, placed_repo,
                                                                        run_dir):
    seen = Seen(api)
    for name, value in (("fleet-token", TOKEN), ("root-pw", PASSWORD), ("a-only", "a-Rt5-value"),
                        ("b-old", "b-Yh3-value")):
        assert seen.post("/api/secrets", json={"name": name, "type": "single_line", "value": value}).status_code == 201
    assert seen.post("/api/tags", json={"name": "fleet", "display_name": "Fleet", "modules": [
        {"type": PLACED, "settings": {"token": "fleet-token", "password": "root-pw"}}]}).status_code == 201

    def files(secret, name):
        return {"type": FILES, "settings": {"secrets": [{"secret": secret, "path": f"{run_dir}/files/{name}"}]}}

    for name, own in (("a", files("a-only", "a")), ("b", files("b-old", "b"))):
        server, _ = two_devices[name]
        created = seen.post("/api/devices", json={"name": name, "display_name": name.upper(), "tags": ["fleet"],
                                                  "target": server.target, "modules": [
                                                      {"type": CORE, "settings": {"device_name": name}}, own]})
        assert created.status_code == 201, created.get_json()
    job = deploy_tag(seen, "fleet")
    assert job["state"] == "succeeded", [c.get("error") for c in job["children"]]
    a, b = two_devices["a"][1], two_devices["b"][1]
    for own in (a, b):                                           # the tag's secrets reach every device
        assert (own / "secrets" / "fleet-token").read_text() == TOKEN
        assert verifies(PASSWORD, (own / "app" / "password-hash").read_text())
    assert (a / "files" / "a").read_text() == "a-Rt5-value" and not (b / "files" / "a").exists()
    assert (b / "files" / "b").read_text() == "b-Yh3-value" and not (a / "files" / "b").exists()
    assert not (run_dir / "secrets").exists()                   # this machine got none of them

    # b no longer chooses b-old, the tag's token changes: the next tag deploy redelivers and removes
    assert seen.patch("/api/devices/b", json={"modules": [{"type": CORE, "settings": {"device_name": "b"}}]}
                      ).status_code == 200
    assert seen.patch("/api/secrets/fleet-token", json={"value": "tok-Ww2-changed"}).status_code == 200
    job = deploy_tag(seen, "fleet")
    assert job["state"] == "succeeded", [c.get("error") for c in job["children"]]
    assert not (b / "files" / "b").exists() and (a / "files" / "a").read_text() == "a-Rt5-value"
    for own in (a, b):
        assert (own / "secrets" / "fleet-token").read_text() == "tok-Ww2-changed"
    store_path = seen.get("/api/devices/a/deployments").get_json()[0]["store_path"]
    assert_no_trace(app, seen, store_path, [TOKEN, PASSWORD, "a-Rt5-value", "b-Yh3-value", "tok-Ww2-changed"])


def test_a_placement_refused_after_saving_fails_only_that_devices_deploy(api, app, placed_repo, run_dir):
    """The operator narrows THYMIS_SECRET_PATHS after a device was saved: its deploy is refused before anything
    is placed or switched, naming the setting; another device of the same project still deploys."""
    seen = Seen(api)
    assert seen.post("/api/secrets", json={"name": "token", "type": "single_line", "value": TOKEN}).status_code == 201
    entry = {"secret": "token", "path": f"{run_dir}/files/token"}
    for name, modules in (("box", [{"type": FILES, "settings": {"secrets": [entry]}}]), ("other", [])):
        created = seen.post("/api/devices", json={"name": name, "display_name": name, "target": "local", "modules": [
            {"type": CORE, "settings": {"device_name": name}}, *modules]})
        assert created.status_code == 201, created.get_json()
    app.config["THYMIS"].secret_paths = ()
    job = deploy(seen, "box")
    assert job["state"] == "failed" and not switched(job)
    assert job["error"] == (f"module {FILES} of device box, secrets[0], setting secret: the secret's path "
                            f"{run_dir}/files/token is outside the folders secrets may be placed in "
                            f"({run_dir}/secrets; more with THYMIS_SECRET_PATHS)")
    assert not run_dir.exists()
    job = deploy(seen, "other")
    assert job["state"] == "succeeded" and switched(job), job["log"]

"""Where secrets are placed: the folder policy against hostile modules (paths, modes, owners), and the device-side
script on the real file system (owner, group, mode, symbolic links, folders others can write, a missing owner,
removal of files no longer chosen)."""
import grp
import os
import pwd
import stat

import pytest

from deploy.hosts import LocalHost
from deploy.nixlog import Reporter
from secret_store.delivery import Delivery, DeliveryError
from secret_store.placement import PlacementError, checked, place
from settings import load_settings
from tests.support.deploy import Recorder

NOBODY = pwd.getpwnam("nobody")
NOBODY_GROUP = grp.getgrgid(NOBODY.pw_gid).gr_name
SECRET = {"type": "secret", "allowed_types": [], "processing": "none"}


def policy(tmp_path, **extra):
    return load_settings({"project_path": tmp_path / "data", "secrets_dir": "/run/thymis/secrets",
                          "secret_paths": ("/run/thymis",), **extra})


def asking(**on_device):
    return {**SECRET, "on_device": on_device}


@pytest.mark.parametrize("path, message", [
    ("/etc/shadow", "outside the folders secrets may be placed in (/run/thymis/secrets, /run/thymis"),
    ("/run/thymis/../../etc/shadow", "must be plain names below /run/thymis"),
    ("/run/thymis/secrets/../../../etc/passwd", "must be plain names below /run/thymis/secrets"),
    ("/run/thymis/./token", "must be plain names"),
    ("/run/thymis//token", "must be plain names"),
    ("/run/thymis/.incoming.1/token", "must be plain names"),
    ("/run/thymis/a b", "must be plain names"),
    ("/run/thymis/token\n/etc/shadow", "must be plain names"),
    ("/run/thymis/token/", "must be plain names"),
    ("run/thymis/token", "is not absolute"),
    ("/run/thymis", "outside the folders"),
    ("/run/thymisx/token", "outside the folders"),
    ("/run/thymis/secrets", "is a folder secrets are placed in"),
])
def test_hostile_paths_are_refused_naming_the_module_and_setting(tmp_path, path, message):
    with pytest.raises(PlacementError) as refused:
        place(asking(path=path), "token", {}, policy(tmp_path), "module evil.Evil, setting token")
    assert str(refused.value).startswith("module evil.Evil, setting token: ")
    assert message in str(refused.value)


@pytest.mark.parametrize("mode, message", [
    ("0777", "mode 0777 would let other users read or change the secret"),
    ("0644", "mode 0644 would let other users read or change the secret"),
    ("0660", "mode 0660 would let its group change the secret"),
    ("4400", "must be octal like 0400"),
    ("0o400", "must be octal like 0400"),
    ("400 ", "must be octal like 0400"),
])
def test_modes_giving_others_access_are_refused(tmp_path, mode, message):
    with pytest.raises(PlacementError, match=message):
        place(asking(path="/run/thymis/app/token", owner="root", mode=mode), "token", {}, policy(tmp_path), "m")


@pytest.mark.parametrize("owner", ["root;rm -rf /", "Root", "-u0", "a" * 40, "$(id)"])
def test_owner_and_group_must_be_names(tmp_path, owner):
    with pytest.raises(PlacementError, match="must be a user or group name"):
        place(asking(owner=owner), "token", {}, policy(tmp_path), "m")
    with pytest.raises(PlacementError, match="must be a user or group name"):
        place(asking(group=owner), "token", {}, policy(tmp_path), "m")


def test_defaults_and_what_a_module_may_ask_for(tmp_path):
    settings = policy(tmp_path)
    plain = place(SECRET, "token", {}, settings, "m")
    # no owner or group asked for: the delivering user's (root on a device), never a chown
    assert (plain.path, plain.owner, plain.group, plain.mode) == ("/run/thymis/secrets/token", "", "", 0o400)
    hashed = place({**SECRET, "processing": "mkpasswd-yescrypt"}, "pw", {}, settings, "m")
    assert hashed.path == "/run/thymis/secrets/pw.mkpasswd-yescrypt" and hashed.processing == "mkpasswd-yescrypt"
    asked = place(asking(path="/run/thymis/app/tls.key", owner="nginx", group="nginx", mode="0440"), "key", {},
                  settings, "m")
    assert (asked.path, asked.owner, asked.group, asked.mode) == ("/run/thymis/app/tls.key", "nginx", "nginx", 0o440)
    # a Files-style list entry's own path/owner/group/mode win over the SecretType's
    entry = place(asking(path="/run/thymis/a"), "key", {"path": "/run/thymis/b", "mode": "0600", "owner": ""},
                  settings, "m")
    assert (entry.path, entry.mode, entry.owner) == ("/run/thymis/b", 0o600, "")
    with pytest.raises(PlacementError, match="unknown processing type 'rot13'"):
        place({**SECRET, "processing": "rot13"}, "token", {}, settings, "m")


def test_two_settings_may_not_ask_for_one_path_differently(tmp_path):
    settings = policy(tmp_path)
    one = place(asking(path="/run/thymis/app/token"), "a", {}, settings, "module A, setting x")
    same = place(asking(path="/run/thymis/app/token"), "a", {}, settings, "module B, setting y")
    assert checked([one, same]) == [one]
    other = place(asking(path="/run/thymis/app/token"), "b", {}, settings, "module B, setting y")
    with pytest.raises(PlacementError, match="module B, setting y and module A, setting x both place a secret at"):
        checked([one, other])
    inner = place(asking(path="/run/thymis/app/token/inner"), "b", {}, settings, "module C, setting z")
    with pytest.raises(PlacementError, match="module C, setting z places a secret inside /run/thymis/app/token"):
        checked([one, inner])


@pytest.mark.parametrize("folders, message", [
    (("/etc",), "at least two levels deep"), (("/etc/app",), "is a system folder"), (("/nix/store/x",), "system"),
    (("/run",), "at least two levels deep"), (("/run/a b",), "without spaces"), (("/run/x/../../etc",), "plain"),
])
def test_operator_folders_are_checked(tmp_path, folders, message):
    with pytest.raises(ValueError, match=message):
        policy(tmp_path, secret_paths=folders)
    with pytest.raises(ValueError, match=message):
        policy(tmp_path, secrets_dir=folders[0])


# --- the device-side script on the real file system -------------------------------------------------------


@pytest.fixture
def device(tmp_path, app, api):
    """A 'device' file system: the secrets folder and one more allowed folder, plus two stored secrets."""
    for name, value in (("token", "tok-Hq2-value"), ("cert", "cert-Pz7-value")):
        assert api.post("/api/secrets", json={"name": name, "type": "single_line", "value": value}).status_code == 201
    run = tmp_path / "run-thymis"
    settings = load_settings({"project_path": app.config["THYMIS"].project_path, "secrets_dir": run / "secrets",
                              "secret_paths": (str(run),)})
    return settings, run


def deliver(app, settings, *placements):
    with app.app_context():
        delivery = Delivery(checked(list(placements)), settings.secrets_dir, settings)
        delivery.deliver(LocalHost(), Reporter(Recorder()))


def test_owner_group_and_mode_are_applied_atomically(app, device):
    settings, run = device
    token = place(asking(path=f"{run}/app/token", owner="nobody", group=NOBODY_GROUP, mode="0440"), "token", {},
                  settings, "m")
    deliver(app, settings, token, place(SECRET, "cert", {}, settings, "m"))
    placed = run / "app" / "token"
    info = placed.stat()
    assert placed.read_text() == "tok-Hq2-value"
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (NOBODY.pw_uid, NOBODY.pw_gid, 0o440)
    assert stat.S_IMODE((run / "app").stat().st_mode) == 0o755 and (run / "app").stat().st_uid == os.geteuid()
    assert (run / "secrets" / "cert").read_text() == "cert-Pz7-value"
    assert stat.S_IMODE((run / "secrets").stat().st_mode) == 0o700
    assert sorted(os.listdir(run / "app")) == ["token"]                  # no temporary file left
    # no longer chosen: removed, also outside the secrets folder (the list of what was placed says where)
    deliver(app, settings, place(SECRET, "cert", {}, settings, "m"))
    assert not placed.exists() and (run / "secrets" / "cert").exists()
    assert (run / "secrets" / ".thymis-placed").read_text() == f"{run}/secrets/cert\n"


def test_a_file_for_another_user_in_the_secrets_folder_opens_it_for_traversal_only(app, device):
    settings, run = device
    deliver(app, settings, place(asking(owner="nobody"), "token", {}, settings, "m"))
    assert stat.S_IMODE((run / "secrets").stat().st_mode) == 0o711    # enter, never list
    assert (run / "secrets" / "token").stat().st_uid == NOBODY.pw_uid


def test_a_symbolic_link_on_the_way_is_refused_and_nothing_is_placed(app, device, tmp_path):
    settings, run = device
    victim = tmp_path / "victim"
    victim.mkdir()
    run.mkdir()
    (run / "evil").symlink_to(victim)
    first = place(asking(path=f"{run}/app/token"), "token", {}, settings, "m")
    through = place(asking(path=f"{run}/evil/token"), "cert", {}, settings, "m")
    with pytest.raises(DeliveryError, match=f"{run}/evil is a symbolic link: secrets are never placed through one"):
        deliver(app, settings, first, through)
    assert os.listdir(victim) == [] and not (run / "app" / "token").exists()
    assert not list((run / "app").iterdir())                            # its temporary file is gone too


def test_a_symbolic_link_at_the_target_is_replaced_not_followed(app, device, tmp_path):
    settings, run = device
    victim = tmp_path / "shadow"
    victim.write_text("root:x:0:0\n")
    (run / "app").mkdir(parents=True)
    (run / "app" / "token").symlink_to(victim)
    deliver(app, settings, place(asking(path=f"{run}/app/token"), "token", {}, settings, "m"))
    assert victim.read_text() == "root:x:0:0\n"
    assert not (run / "app" / "token").is_symlink() and (run / "app" / "token").read_text() == "tok-Hq2-value"


def test_folders_others_can_change_are_refused(app, device):
    settings, run = device
    (run / "shared").mkdir(parents=True)
    (run / "shared").chmod(0o777)
    (run / "theirs").mkdir()
    os.chown(run / "theirs", NOBODY.pw_uid, NOBODY.pw_gid)
    with pytest.raises(DeliveryError, match=f"{run}/shared can be changed by other users \\(mode 777\\)"):
        deliver(app, settings, place(asking(path=f"{run}/shared/token"), "token", {}, settings, "m"))
    with pytest.raises(DeliveryError, match=f"{run}/theirs belongs to uid {NOBODY.pw_uid}, not to the user"):
        deliver(app, settings, place(asking(path=f"{run}/theirs/token"), "token", {}, settings, "m"))
    assert os.listdir(run / "shared") == [] and os.listdir(run / "theirs") == []


def test_a_missing_owner_or_group_is_refused_before_anything_is_placed(app, device):
    settings, run = device
    good = place(SECRET, "cert", {}, settings, "m")
    with pytest.raises(DeliveryError) as refused:
        deliver(app, settings, good, place(asking(owner="thymis-no-such-user"), "token", {}, settings, "m"))
    assert (f"owner 'thymis-no-such-user' of {run}/secrets/token does not exist on the device; nothing was placed"
            in str(refused.value)) and str(refused.value).endswith("nothing was switched")
    with pytest.raises(DeliveryError, match="group 'thymis-no-such-group' of .* does not exist on the device"):
        deliver(app, settings, good, place(asking(group="thymis-no-such-group"), "token", {}, settings, "m"))
    assert not (run / "secrets").exists()


# --- saving and the built-in modules -------------------------------------------------------------------------

CORE = "thymis_controller.modules.thymis.ThymisDevice"
FILES = "thymis_controller.modules.files.FilesModule"
SECURITY = "thymis_controller.modules.security.SecurityAccessModule"


def test_a_refused_placement_is_a_422_at_save_naming_the_field(api):
    assert api.post("/api/secrets", json={"name": "token", "type": "single_line", "value": "v"}).status_code == 201

    def save(entry):
        return api.post("/api/devices", json={"name": "box", "display_name": "Box", "modules": [
            {"type": CORE, "settings": {"device_name": "box"}},
            {"type": FILES, "settings": {"secrets": [{"secret": "token", **entry}]}}]})

    refused = save({"path": "/etc/passwd", "owner": "root"})
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["field"] == "modules[1].settings.secrets[0].path"
    assert error["message"] == ("Secret: the secret's path /etc/passwd is outside the folders secrets may be placed "
                                "in (/run/thymis/secrets, /run/thymis; more with THYMIS_SECRET_PATHS)")
    refused = save({"path": "/run/thymis/app/token", "mode": "0666"})
    assert refused.get_json()["error"]["field"] == "modules[1].settings.secrets[0].mode"
    assert "mode 0666 would let other users read or change the secret" in refused.get_json()["error"]["message"]
    assert save({"path": "/run/thymis/app/token", "mode": "0640"}).status_code == 201


def test_the_root_password_is_hashed_into_thymis_own_path(app, api, tmp_path):
    """Security & Access places its password's yescrypt hash where its Nix says (hashedPasswordFile)."""
    from models import Device
    from secret_store.delivery import secrets_for
    assert api.post("/api/secrets", json={"name": "pw", "type": "single_line", "value": "v"}).status_code == 201
    assert api.post("/api/devices", json={"name": "box", "display_name": "Box", "modules": [
        {"type": CORE, "settings": {"device_name": "box"}},
        {"type": SECURITY, "settings": {"password_secret": "pw"}}]}).status_code == 201
    with app.app_context():
        device = Device.get(Device.name == "box")
        [placed] = secrets_for(device, app.config["THYMIS"]).placements
        assert (placed.path, placed.processing, placed.owner, placed.group, placed.mode) == (
            "/run/thymis/root_password_hash", "mkpasswd-yescrypt", "root", "root", 0o400)
        narrow = load_settings({"project_path": tmp_path / "data", "secret_paths": ("/run/other",)})
        with pytest.raises(PlacementError, match=f"module {SECURITY} of device box, setting password_secret: the "
                                                 "secret's path /run/thymis/root_password_hash is outside the folders"):
            secrets_for(device, narrow)


def test_a_user_other_than_root_delivers_without_owner_or_group(tmp_path):
    """A laptop's user deploying locally: files without an owner or group asked for are simply theirs."""
    import io
    import shutil
    import subprocess
    import tarfile
    import tempfile

    from secret_store.delivery import SCRIPT
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("needs runuser (util-linux)")
    home = tempfile.mkdtemp(prefix="thymis-nobody-")
    try:
        os.chmod(home, 0o755)
        os.chown(home, NOBODY.pw_uid, NOBODY.pw_gid)
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            info = tarfile.TarInfo("0")
            info.size = 5
            tar.addfile(info, io.BytesIO(b"value"))
        base = f"{home}/secrets"
        done = subprocess.run([runuser, "-u", "nobody", "--", "sh", "-c", SCRIPT, "thymis-secrets", base, "0700",
                               base, "token", "", "", "0400"], input=archive.getvalue(), capture_output=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        placed = os.stat(f"{base}/token")
        assert (placed.st_uid, stat.S_IMODE(placed.st_mode)) == (NOBODY.pw_uid, 0o400)
        assert f"secrets: {base}/token (nobody:{NOBODY_GROUP}, mode 0400)" in done.stdout.decode()
        asked = subprocess.run([runuser, "-u", "nobody", "--", "sh", "-c", SCRIPT, "thymis-secrets", base, "0700",
                                base, "token", "root", "", "0400"], input=archive.getvalue(), capture_output=True,
                               timeout=60)
        assert asked.returncode == 3 and (f"{base}/token is for owner 'root', which only root can give it (the "
                                          "secrets are placed as nobody); nothing was placed") in asked.stderr.decode()
        assert open(f"{base}/token").read() == "value"          # the earlier file is kept
    finally:
        shutil.rmtree(home)

"""Local secrets on the NixOS appliance: the controller (as an unprivileged user) hands them to its activation
helper (`thymis-controller-activate deliver-secrets`), which stages them for the root unit
thymis-deliver-secrets@<id>.service; that unit checks everything again and runs the placement script as root.

Both halves are the real scripts, run with bash as writeShellApplication runs them. The controller side runs as
`nobody`; `systemctl` is a fake that asks a root thread of this test (standing in for systemd) to run the unit with
the environment the NixOS module gives it."""
import grp
import io
import os
import pwd
import shutil
import stat
import subprocess
import tarfile
import tempfile
import threading
from pathlib import Path

import pytest

from deploy.nixlog import Reporter
from deploy.targets import CommandTarget
from secret_store.delivery import Delivery, DeliveryError
from secret_store.placement import checked, place
from settings import load_settings
from tests.support.deploy import Recorder

REPO = Path(__file__).resolve().parent.parent
PRELUDE = "#!/usr/bin/env bash\nset -o errexit\nset -o nounset\nset -o pipefail\n\n"
NOBODY = pwd.getpwnam("nobody")
NOBODY_GROUP = grp.getgrgid(NOBODY.pw_gid).gr_name
UNIT = "thymis-deliver-secrets@"

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("runuser") is None,
                                reason="needs root and runuser (the helper's two users)")


def executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


class Appliance:
    """A root-owned folder tree with the helper's two halves, the staging folder (nobody's, 0700) and systemd."""

    def __init__(self, root: Path):
        self.root = root
        self.run = root / "run-thymis"
        self.base = self.run / "secrets"
        self.incoming = root / "incoming"
        self.incoming.mkdir(mode=0o700)
        os.chown(self.incoming, NOBODY.pw_uid, NOBODY.pw_gid)
        self.logs = root / "logs"
        self.logs.mkdir(mode=0o755)
        bin_dir = root / "bin"
        bin_dir.mkdir(mode=0o755)
        self.requests, self.answers = root / "requests", root / "answers"
        for fifo in (self.requests, self.answers):
            os.mkfifo(fifo, 0o666)
            os.chmod(fifo, 0o666)
        executable(bin_dir / "systemctl", f'#!/bin/sh\necho "$4" > {self.requests}\nread -r status < {self.answers}\n'
                                          'exit "$status"\n')
        client = executable(root / "thymis-controller-activate",
                            PRELUDE + (REPO / "nixos-module" / "thymis-controller-activate.sh").read_text())
        self.unit = executable(root / "thymis-deliver-secrets",
                               PRELUDE + (REPO / "nixos-module" / "thymis-deliver-secrets.sh").read_text())
        path = f"{bin_dir}:{os.environ['PATH']}"
        # THYMIS_LOCAL_ACTIVATION_COMMAND: the helper, as the controller's unprivileged user
        self.command = str(executable(root / "as-controller-user", (
            f'#!/bin/sh\nexec runuser -u nobody -- env -i PATH="{path}" THYMIS_SECRETS_INCOMING={self.incoming} '
            f'THYMIS_ACTIVATE_LOG_DIR={self.logs} {client} "$@"\n')))
        self.started: list[str] = []
        self.systemd = threading.Thread(target=self._serve, daemon=True)
        self.systemd.start()

    def unit_environment(self) -> dict:
        """What the NixOS module's thymis-deliver-secrets@ unit sets."""
        return {"PATH": os.environ["PATH"], "THYMIS_SECRETS_DIR": str(self.base), "THYMIS_SECRET_PATHS": str(self.run),
                "THYMIS_SECRETS_INCOMING": str(self.incoming), "THYMIS_ACTIVATE_LOG_DIR": str(self.logs),
                "THYMIS_PLACE_SECRETS": str(REPO / "secret_store" / "place-secrets.sh")}

    def _serve(self):
        while True:
            unit = self.requests.read_text().strip()
            if unit == "stop":
                return
            self.started.append(unit)
            status = 5  # what polkit answers for any other unit
            if unit.startswith(UNIT) and unit.endswith(".service"):
                status = subprocess.run([str(self.unit), unit[len(UNIT):-len(".service")]],
                                        env=self.unit_environment(), capture_output=True, timeout=120).returncode
            self.answers.write_text(f"{status}\n")

    def stop(self):
        self.requests.write_text("stop\n")
        self.systemd.join(10)

    def helper(self, words: list[str], stream: bytes) -> subprocess.CompletedProcess:
        """The helper called as the controller calls it (deploy.hosts.HelperHost)."""
        return subprocess.run([self.command, "deliver-secrets", *words], input=stream, capture_output=True,
                              timeout=120)


def archive(*members) -> bytes:
    """A tar stream; each member (name, data) or (name, None, symlink target)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data, *link in members:
            info = tarfile.TarInfo(name)
            if link:
                info.type, info.linkname = tarfile.SYMTYPE, link[0]
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def appliance():
    root = Path(tempfile.mkdtemp(prefix="thymis-appliance-"))
    os.chmod(root, 0o755)  # nobody must reach the staging folder and the scripts
    machine = Appliance(root)
    try:
        yield machine
    finally:
        machine.stop()
        shutil.rmtree(root)


def test_local_secrets_go_through_the_root_helper_with_their_owner_and_mode(app, api, appliance):
    for name, value in (("token", "tok-Hq2-value"), ("cert", "cert-Pz7-value")):
        assert api.post("/api/secrets", json={"name": name, "type": "single_line", "value": value}).status_code == 201
    settings = load_settings({"project_path": app.config["THYMIS"].project_path, "secrets_dir": appliance.base,
                              "secret_paths": (str(appliance.run),)})
    run = appliance.run
    token = place({"type": "secret", "on_device": {"owner": "root", "mode": "0400"}}, "token", {}, settings, "m")
    cert = place({"type": "secret", "on_device": {"path": f"{run}/app/cert", "owner": "nobody",
                                                  "group": NOBODY_GROUP, "mode": "0440"}}, "cert", {}, settings, "m")
    host = CommandTarget(appliance.command).file_host()  # what deploy.many hands the delivery of a local device
    recorder = Recorder()
    with app.app_context():
        Delivery(checked([token, cert]), str(appliance.base), settings).deliver(host, Reporter(recorder))
    [unit] = appliance.started
    assert unit.startswith(UNIT)
    placed = os.stat(appliance.base / "token")
    # owner root, which the controller's user could not have given it (the script refuses that up front)
    assert (placed.st_uid, stat.S_IMODE(placed.st_mode)) == (0, 0o400)
    assert (appliance.base / "token").read_text() == "tok-Hq2-value"
    placed = os.stat(run / "app" / "cert")
    assert (placed.st_uid, placed.st_gid, stat.S_IMODE(placed.st_mode)) == (NOBODY.pw_uid, NOBODY.pw_gid, 0o440)
    assert (run / "app" / "cert").read_text() == "cert-Pz7-value"
    assert stat.S_IMODE(os.stat(appliance.base).st_mode) == 0o700
    log = "\n".join(recorder.lines)
    assert "secrets: 2 placed, 0 removed" in log and "tok-Hq2" not in log
    assert os.listdir(appliance.incoming) == []  # nothing staged is left behind

    with app.app_context():  # the token is no longer chosen: removed by the next delivery
        Delivery(checked([cert]), str(appliance.base), settings).deliver(host, Reporter(Recorder()))
    assert not (appliance.base / "token").exists() and (run / "app" / "cert").exists()

    bad = place({"type": "secret", "on_device": {"owner": "no-such-user"}}, "token", {}, settings, "m")
    with app.app_context(), pytest.raises(DeliveryError, match="owner 'no-such-user' of .* does not exist"):
        Delivery([bad], str(appliance.base), settings).deliver(host, Reporter(Recorder()))


@pytest.mark.parametrize("words, members, message", [
    (["/etc", "0700"], [], "the secrets folder must be"),
    (["BASE", "0777"], [], "mode must be 0700 or 0711"),
    (["BASE", "0700", "/etc", "cron.d/thymis-evil", "", "", "0400"], [("0", b"x")],
     "/etc is not a folder secrets may be placed in"),
    (["BASE", "0700", "RUN", "../evil", "", "", "0400"], [("0", b"x")], "is not plain names"),
    (["BASE", "0700", "RUN", "app/../../evil", "", "", "0400"], [("0", b"x")], "is not plain names"),
    (["BASE", "0700", "RUN", "-rf", "", "", "0400"], [("0", b"x")], "is not plain names"),
    (["BASE", "0700", "RUN", ".incoming.1/x", "", "", "0400"], [("0", b"x")], "is not plain names"),
    (["BASE", "0700", "RUN", "secrets", "", "", "0400"], [("0", b"x")], "is a folder secrets are placed in"),
    (["BASE", "0700", "RUN", "evil", "--reference=/etc/shadow", "", "0400"], [("0", b"x")], "not an account name"),
    (["BASE", "0700", "RUN", "evil", "", "-R", "0400"], [("0", b"x")], "not a group name"),
    (["BASE", "0700", "RUN", "evil", "", "", "4755"], [("0", b"x")], "is not allowed (others get nothing"),
    (["BASE", "0700", "RUN", "evil", "", "", "0644"], [("0", b"x")], "is not allowed (others get nothing"),
    (["BASE", "0700", "RUN", "evil", "", ""], [("0", b"x")], "needs 5 words"),
    (["BASE", "0700", "RUN", "evil", "nobody", "", "0400"], [("0", None, "/etc/shadow")],
     "something other than plain files"),
    (["BASE", "0700", "RUN", "evil", "", "", "0400"], [("0", b"x"), ("../../evil", b"x")], "exactly the files 0"),
    (["BASE", "0700", "RUN", "evil", "", "", "0400"], [("1", b"x")], "exactly the files 0"),
])
def test_the_root_helper_refuses_hostile_words_and_streams(appliance, words, members, message):
    words = [w.replace("BASE", str(appliance.base)).replace("RUN", str(appliance.run)) for w in words]
    done = appliance.helper(words, archive(*members))
    assert done.returncode == 3, done
    assert "thymis-deliver-secrets: refusing to place the secrets: " in done.stdout.decode()
    assert message in done.stdout.decode(), done.stdout.decode()
    assert not appliance.run.exists() and not Path("/etc/cron.d/thymis-evil").exists()
    assert not (appliance.root / "evil").exists()
    assert os.listdir(appliance.incoming) == []


def test_an_allowed_folder_below_a_folder_others_can_change_is_refused(appliance):
    """Had the operator put a secret folder below one the controller's user owns, it could swap it for a link."""
    theirs = appliance.root / "theirs"
    theirs.mkdir()
    os.chown(theirs, NOBODY.pw_uid, NOBODY.pw_gid)
    appliance.run = theirs / "run-thymis"
    done = appliance.helper([str(appliance.base), "0700", str(appliance.run), "evil", "", "", "0400"],
                            archive(("0", b"x")))
    assert done.returncode == 3
    assert f"{theirs} (above {appliance.run}) belongs to uid {NOBODY.pw_uid}, not root" in done.stdout.decode()
    assert not appliance.run.exists()


def test_the_root_helper_never_follows_a_staged_link(appliance):
    """The controller's user stages links to root's files itself and starts the unit: refused, nothing read."""
    secret = appliance.root / "root-only"
    secret.write_text("root's own")
    secret.chmod(0o600)
    script = (f'cd {appliance.incoming} && ln -s {secret} abc.args && ln -s {secret} abc.tar && '
              f'systemctl start --no-ask-password -- {UNIT}abc.service')
    done = subprocess.run(["runuser", "-u", "nobody", "--", "env", f"PATH={appliance.root / 'bin'}:/usr/bin:/bin",
                           "sh", "-c", script], capture_output=True, timeout=120)
    assert done.returncode == 3
    log = (appliance.logs / "secrets-abc.log").read_text()
    assert "is missing, a symbolic link or not readable" in log
    assert not appliance.run.exists()

"""The attacks of issue 11 with the controller's sandbox code running as an unprivileged user (nobody), when the
tests run as root: bubblewrap then works with unprivileged user namespaces. The data folder and the checkouts
belong to nobody here, so only the sandbox stands between the module and them; the same attacks with
THYMIS_SANDBOX=unsafe-none succeed, which shows each attack is real."""
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.support import hostile
from tests.support import repo_trees as rb

ROOT = Path(__file__).resolve().parent.parent
SYSTEM_ENV = ROOT / ".sandbox-env-system"
SYSTEM_PYTHON = "/usr/bin/python3"
NOBODY = 65534

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not SYSTEM_ENV.is_dir() or not os.path.exists(SYSTEM_PYTHON),
    reason="needs root (to become nobody), /usr/bin/python3 and .sandbox-env-system (scripts/setup.sh --test)")

RUN = """
import json, sys
request = json.loads(sys.argv[1])
sys.path[:0] = [request["root"], request["env"]]
import sandbox
sandbox.hide_from_sandbox(request["data"])
try:
    if request["operation"] == "discover":
        result = sandbox.discover(request["checkout"], request["packages"])
    else:
        result = sandbox.render([request["checkout"]], request["requests"])
    print(json.dumps({"result": result}))
except sandbox.SandboxError as e:
    print(json.dumps({"error": e.message}))
"""


@pytest.fixture
def place():
    """A data folder with secrets and checkouts, all owned by nobody (who could read and change them all)."""
    root = Path(tempfile.mkdtemp(prefix="thymis-unprivileged-"))
    os.chmod(root, 0o755)
    data = root / "data"
    (data / "checkouts").mkdir(parents=True)
    (data / "secret_key").write_text(secrets.token_hex(16))
    yield data
    shutil.rmtree(root, ignore_errors=True)


def checkout(data: Path, package: str, source: str) -> Path:
    path = rb.make_repo(data / "checkouts" / package / "0123abcd",
                        files={"README.md": rb.MARKER_README, "flake.nix": "{ outputs = { self }: { }; }\n",
                               f"{package}/__init__.py": "", f"{package}/mod.py": source})
    for folder, _, files in os.walk(data):
        os.chown(folder, NOBODY, NOBODY)
        for name in files:
            os.chown(os.path.join(folder, name), NOBODY, NOBODY)
    os.chmod(data, 0o700)
    (data / "secret_key").chmod(0o600)
    return path


def as_nobody(data: Path, mode: str = "bwrap", **request) -> dict:
    request.update(root=str(ROOT), env=str(SYSTEM_ENV), data=str(data))
    done = subprocess.run([SYSTEM_PYTHON, "-I", "-c", RUN, json.dumps(request)], capture_output=True, text=True,
                          user=NOBODY, group=NOBODY, extra_groups=[], cwd="/", timeout=120, check=False,
                          env={"PATH": os.defpath, "LANG": "C.UTF-8", "THYMIS_SANDBOX": mode,
                               "THYMIS_SANDBOX_PYTHON": SYSTEM_PYTHON, "THYMIS_SANDBOX_ENV": str(SYSTEM_ENV)})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def digest(root: Path) -> dict:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_reading_the_data_folder(place):
    repo = checkout(place, "peek_pkg", hostile.UMOUNT.replace("DATA_FOLDER", repr(str(place))))
    secret = (place / "secret_key").read_bytes()[:60].hex()
    shown = as_nobody(place, operation="discover", checkout=str(repo), packages=["peek_pkg"])
    assert shown["result"][0]["description"] == (
        "umount2=-1 secret_key:FileNotFoundError secret.fernet:FileNotFoundError "
        "controller.sqlite3:FileNotFoundError found=")
    unsafe = as_nobody(place, "unsafe-none", operation="discover", checkout=str(repo), packages=["peek_pkg"])
    assert f"secret_key={secret}" in unsafe["result"][0]["description"]   # without the sandbox it gets the key


def test_namespaces_port_environment_and_signals(place):
    source = (hostile.ESCAPE.replace("CONTROLLER_PID", "1").replace("PORT", "9").replace("MARKER_VALUE", "x"))
    repo = checkout(place, "escape_pkg", source)
    shown = as_nobody(place, operation="discover", checkout=str(repo), packages=["escape_pkg"])
    description = shown["result"][0]["description"]
    assert description.startswith("uid=65534 caps=0000000000000000 setns-parent=-1 ")
    assert "port:ConnectionRefusedError" in description


def test_writing_checkouts_during_validation_and_render(place):
    victim = checkout(place, "victim_pkg", "x = 1\n")
    repo = checkout(place, "tamper_pkg", hostile.WRITE.replace("OTHER_FILES", repr([str(victim / "flake.nix")])))
    before = digest(place / "checkouts")
    shown = as_nobody(place, operation="discover", checkout=str(repo), packages=["tamper_pkg"])
    assert shown["result"][0]["description"] == "OSError,OSError,FileNotFoundError,FileNotFoundError"
    rendered = as_nobody(place, operation="render", checkout=str(repo),
                         requests=[{"module_type": "tamper_pkg.mod.Tamper", "settings": {}, "priority": 1}])
    assert rendered["result"] == ["  # OSError,OSError,FileNotFoundError,FileNotFoundError\n"]
    assert digest(place / "checkouts") == before
    unsafe = as_nobody(place, "unsafe-none", operation="discover", checkout=str(repo), packages=["tamper_pkg"])
    assert unsafe["result"][0]["description"].startswith("wrote,chmod,wrote,chmod")
    assert digest(place / "checkouts") != before


def test_setsid_grandchild(place):
    token = "linger-" + secrets.token_hex(6)
    repo = checkout(place, "linger_pkg", hostile.SETSID.replace("MARKER", token))
    assert as_nobody(place, operation="discover", checkout=str(repo),
                     packages=["linger_pkg"])["result"][0]["description"] == "forked"
    rendered = as_nobody(place, operation="render", checkout=str(repo),
                         requests=[{"module_type": "linger_pkg.mod.Linger", "settings": {}, "priority": 1}])
    assert rendered["result"] == ["  # forked\n"]
    time.sleep(0.3)
    assert hostile.leftover_processes(token) == []
    as_nobody(place, "unsafe-none", operation="discover", checkout=str(repo), packages=["linger_pkg"])
    survivors = hostile.leftover_processes(token + "-import")
    for pid in survivors:
        os.kill(pid, 9)
    assert survivors   # without the sandbox the grandchild survives

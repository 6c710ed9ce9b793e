"""Issue 11's attacks, each a hostile repository run through the real controller (validation, /api/modules, a
render by GET /api/devices/<name>/preview) with real bubblewrap: what the user sees, what is left behind.

The unprivileged variants (tests/test_sandbox_unprivileged.py) run the same code with the controller as nobody."""
import hashlib
import os
import secrets
import socket
import time

import pytest

from tests.conftest import wait_for_job
from tests.support import hostile
from tests.support import repo_trees as rb

FLAKE = "{ outputs = { self }: { }; }\n"


@pytest.fixture
def app_config():
    return {"thymis_flake_url": "path:/nonexistent-thymis"}  # preview renders; it builds nothing


def add_repository(api, git_server, package: str, source: str, display_name: str) -> dict:
    name = git_server.new_name(package.replace("_", "-"))
    git_server.make_repo(name, {"README.md": rb.MARKER_README, "flake.nix": FLAKE,
                                f"{package}/__init__.py": "", f"{package}/mod.py": source})
    created = api.post("/api/repositories", json={"url": git_server.url(name), "display_name": display_name})
    assert created.status_code == 201, created.get_json()
    wait_for_job(api, created.get_json()["job_id"])
    return api.get(f"/api/repositories/{created.get_json()['name']}").get_json()


def module(api, module_type: str) -> dict:
    return next(m for m in api.get("/api/modules").get_json() if m["type"] == module_type)


def everything_shown(api, client, repo_name: str) -> str:
    return "".join([api.get("/api/modules").get_data(as_text=True), client.get("/modules").get_data(as_text=True),
                    api.get(f"/api/repositories/{repo_name}").get_data(as_text=True),
                    client.get("/repositories").get_data(as_text=True)])


def tree_digest(root) -> dict:
    return {str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mode)
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_unmounting_and_reading_the_data_folder_finds_nothing(app, api, client, git_server):
    data = app.config["THYMIS"].project_path
    secret_values = [(data / n).read_bytes()[:60].hex() for n in ("secret_key", "secret.fernet")]
    repo = add_repository(api, git_server, "peek_pkg", hostile.UMOUNT.replace("DATA_FOLDER", repr(str(data))), "Peek")
    assert repo["status"] == "ready", repo["steps"]
    description = module(api, "peek_pkg.mod.Peek")["description"]
    assert description == ("umount2=-1 secret_key:FileNotFoundError secret.fernet:FileNotFoundError "
                           "controller.sqlite3:FileNotFoundError found=")
    shown = everything_shown(api, client, repo["name"])
    assert not any(value in shown for value in secret_values)


def test_no_capabilities_no_way_into_the_controllers_namespaces_port_environment_or_signals(
        app, api, client, git_server, monkeypatch):
    marker = "controller-secret-" + secrets.token_hex(8)
    monkeypatch.setenv("THYMIS_ATTACK_MARKER", marker)   # in the controller's environment, /proc/<pid>/environ
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    source = (hostile.ESCAPE.replace("CONTROLLER_PID", str(os.getpid()))
              .replace("PORT", str(listener.getsockname()[1])).replace("MARKER_VALUE", marker))
    try:
        repo = add_repository(api, git_server, "escape_pkg", source, "Escape")
        with pytest.raises(BlockingIOError):
            listener.accept()       # the controller's loopback port was never reached
    finally:
        listener.close()
    assert repo["status"] == "ready", repo["steps"]
    description = module(api, "escape_pkg.mod.Escape")["description"]
    # uid 65534 with no capabilities; the parent it sees is bubblewrap's init in its own namespaces (joining that
    # one changes nothing, and setns needs CAP_SYS_ADMIN anyway); the controller's process does not exist there.
    assert description == ("uid=65534 caps=0000000000000000 setns-parent=-1 setns:FileNotFoundError "
                           "port:ConnectionRefusedError environ=clean environ:FileNotFoundError "
                           "kill:ProcessLookupError")
    assert marker not in everything_shown(api, client, repo["name"])


def test_checkouts_stay_byte_identical_through_validation_and_render(app, api, client, git_server):
    settings = app.config["THYMIS"]
    victim = add_repository(api, git_server, "victim_pkg", "from thymis_controller.modules import Module\n"
                            "class Victim(Module):\n    display_name = 'Victim'\n", "Victim")
    victim_flake = settings.checkout_root(victim["name"]) / victim["active_commit"] / "flake.nix"
    source = hostile.WRITE.replace("OTHER_FILES", repr([str(victim_flake)]))
    before_validation = tree_digest(settings.checkouts_path)
    repo = add_repository(api, git_server, "tamper_pkg", source, "Tamper")
    assert repo["status"] == "ready", repo["steps"]
    # own flake.nix: read-only file system; the other checkout: not there at all
    assert module(api, "tamper_pkg.mod.Tamper")["description"] == "OSError,OSError,FileNotFoundError,FileNotFoundError"
    own = settings.checkout_root(repo["name"]) / repo["active_commit"]
    after_validation = tree_digest(settings.checkouts_path)
    assert {k: v for k, v in after_validation.items() if not k.startswith(repo["name"] + "/")} == before_validation
    assert b"tampered" not in (own / "flake.nix").read_bytes()

    created = api.post("/api/devices", json={"name": "box", "display_name": "box", "tags": [],
                                             "modules": [{"type": "tamper_pkg.mod.Tamper", "settings": {}},
                                                         {"type": "victim_pkg.mod.Victim", "settings": {}}]})
    assert created.status_code == 201, created.get_json()
    preview = api.get("/api/devices/box/preview")
    assert preview.status_code == 200, preview.get_json()
    assert "# OSError,OSError,FileNotFoundError,FileNotFoundError" in preview.get_data(as_text=True)
    assert tree_digest(settings.checkouts_path) == after_validation


def test_a_setsid_grandchild_does_not_outlive_the_sandbox(app, api, git_server):
    token = "linger-" + secrets.token_hex(6)
    repo = add_repository(api, git_server, "linger_pkg", hostile.SETSID.replace("MARKER", token), "Linger")
    assert repo["status"] == "ready", repo["steps"]
    assert wait_until_gone(token + "-import") == []
    created = api.post("/api/devices", json={"name": "box", "display_name": "box", "tags": [],
                                             "modules": [{"type": "linger_pkg.mod.Linger", "settings": {}}]})
    assert created.status_code == 201
    assert "# forked" in api.get("/api/devices/box/preview").get_data(as_text=True)
    assert wait_until_gone(token + "-render") == []


def wait_until_gone(marker: str, seconds: float = 3.0) -> list[int]:
    """The sandbox's processes die with it; the kernel may need a moment to reap them."""
    deadline = time.monotonic() + seconds
    while (left := hostile.leftover_processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left

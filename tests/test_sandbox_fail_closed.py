"""Without a working sandbox nothing runs repository code: bubblewrap missing, or the kernel refusing the
namespaces, fails validation and rendering with the fix named; THYMIS_SANDBOX=unsafe-none is the loud opt-out."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import wait_for_job
from tests.support import repo_trees as rb

ROOT = Path(__file__).resolve().parent.parent
MODULE = "from thymis_controller.modules import Module\nclass Hello(Module):\n    display_name = 'Hello'\n"


@pytest.fixture
def path_without_bwrap(tmp_path, monkeypatch):
    """PATH with every program of the machine's PATH except bwrap."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for folder in os.environ.get("PATH", os.defpath).split(os.pathsep):
        for program in (os.listdir(folder) if os.path.isdir(folder) else []):
            link = bin_dir / program
            if program != "bwrap" and not link.exists() and not link.is_symlink():
                link.symlink_to(os.path.join(folder, program))
    monkeypatch.setenv("PATH", str(bin_dir))
    assert shutil.which("bwrap") is None


def add(api, git_server):
    name = git_server.new_name("hello")
    git_server.make_repo(name, {"README.md": rb.MARKER_README, "flake.nix": "{ outputs = { self }: { }; }\n",
                                "hello_pkg/__init__.py": "", "hello_pkg/mod.py": MODULE})
    created = api.post("/api/repositories", json={"url": git_server.url(name), "display_name": "Hello"})
    wait_for_job(api, created.get_json()["job_id"])
    return api.get(f"/api/repositories/{created.get_json()['name']}").get_json()


def test_without_bubblewrap_validation_fails_with_the_fix(path_without_bwrap, app, api, client, git_server):
    repo = add(api, git_server)
    modules = next(s for s in repo["steps"] if s["step"] == "modules")
    assert repo["status"] == "failed" and repo["active_commit"] is None
    assert modules["state"] == "failed"
    assert modules["detail"].startswith("bubblewrap (bwrap) is not installed: install bubblewrap")
    assert "THYMIS_SANDBOX=unsafe-none" in modules["detail"]
    assert all(m["type"] != "hello_pkg.mod.Hello" for m in api.get("/api/modules").get_json())
    health = app.test_client().get("/healthz").get_json()
    assert health["sandbox"]["isolation"] == "unavailable"
    page = client.get("/repositories").get_data(as_text=True)
    assert 'id="sandbox-warning"' in page and "Validation and rendering fail: bubblewrap (bwrap) is not" in page
    login_page = app.test_client().get("/login").get_data(as_text=True)
    assert 'id="sandbox-warning"' not in login_page    # the reason is for signed-in users only


def test_without_bubblewrap_rendering_fails(path_without_bwrap, tmp_path):
    from sandbox import SandboxError, render
    with pytest.raises(SandboxError) as failure:
        render([], [{"module_type": "thymis_controller.modules.thymis.ThymisDevice", "settings": {}, "priority": 1}])
    assert failure.value.kind == "unavailable" and "install bubblewrap" in failure.value.message


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux's unshare")
def test_refused_namespaces_fail_with_the_fix(tmp_path):
    """A user namespace allowing no further namespaces: what a kernel without unprivileged user namespaces does."""
    repo = rb.single_module_repo(tmp_path / "repo", "hello_pkg", MODULE)
    script = ("import sys; sys.path.insert(0, sys.argv[1]); import sandbox\n"
              "try:\n    sandbox.discover(sys.argv[2], ['hello_pkg'])\n"
              "except sandbox.SandboxError as e:\n    print(e.kind, e.message)\n")
    done = subprocess.run(["unshare", "--user", "--map-root-user", "sh", "-c",
                           'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"', "sh",
                           sys.executable, "-c", script, str(ROOT), str(repo)],
                          capture_output=True, text=True, timeout=60, check=False)
    if "max_user_namespaces" in done.stderr and done.returncode:
        pytest.skip(f"cannot lower the namespace limit here: {done.stderr.strip()}")
    assert done.stdout.startswith("unavailable the sandbox cannot start (Creating new namespace failed"), done
    assert "allow unprivileged user namespaces" in done.stdout


@pytest.fixture
def unsafe(monkeypatch):
    monkeypatch.setenv("THYMIS_SANDBOX", "unsafe-none")
    yield
    import sandbox
    sandbox.configure(sandbox.SandboxConfig())     # later tests' apps configure it again anyway


def test_unsafe_none_runs_without_isolation_and_says_so_on_every_page(unsafe, app, api, client, git_server):
    assert app.config["THYMIS"].sandbox == "unsafe-none"
    repo = add(api, git_server)
    assert repo["status"] == "ready"
    assert app.test_client().get("/healthz").get_json()["sandbox"]["isolation"] == "none"
    assert "without any isolation (THYMIS_SANDBOX=unsafe-none)" in client.get("/repositories").get_data(as_text=True)
    for page in ("/repositories", "/modules", "/login"):
        html = (client if page != "/login" else app.test_client()).get(page).get_data(as_text=True)
        assert 'id="sandbox-warning"' in html and "WITHOUT ISOLATION" in html, page


def test_an_unknown_sandbox_setting_is_refused(monkeypatch):
    from settings import load_settings
    monkeypatch.setenv("THYMIS_SANDBOX", "none")
    with pytest.raises(ValueError, match="THYMIS_SANDBOX must be one of bwrap, unsafe-none, not 'none'"):
        load_settings()


def test_healthz_and_the_repositories_page_say_which_isolation(app, client):
    sandbox = app.test_client().get("/healthz").get_json()["sandbox"]
    page = client.get("/repositories").get_data(as_text=True)
    assert (f'<p class="hint" id="sandbox-status">Repository code runs in the bubblewrap sandbox (bubblewrap: own '
            f"user, mount, PID, network, IPC and UTS namespaces, no capabilities, read-only checkouts), on Python "
            f"{sandbox['python']}.</p>") in page
    assert 'id="sandbox-warning"' not in page or sandbox["python_fallback"]
    assert sandbox["isolation"] == "bwrap"
    assert sandbox["python_fallback"] is (tuple(int(p) for p in sandbox["python"].split(".")[:2]) < (3, 12))
    assert os.path.exists("/usr/bin/bwrap") or shutil.which("bwrap")


@pytest.fixture
def shared_tmp():
    """A temporary folder that nobody can read (pytest's own is private to root)."""
    import tempfile
    folder = Path(tempfile.mkdtemp(prefix="thymis-covered-proc-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare")
def test_a_covered_proc_fails_with_the_reason(shared_tmp):
    """What systemd's ProtectKernelTunables does to a service (a read-only /proc/sys over /proc): bubblewrap cannot
    mount the sandbox's own /proc then; the NixOS service leaves it off for this reason."""
    repo = rb.single_module_repo(shared_tmp / "repo", "hello_pkg", MODULE)
    system_env = ROOT / ".sandbox-env-system"
    if not system_env.is_dir():
        pytest.skip("needs .sandbox-env-system (scripts/setup.sh --test)")
    script = ("import sys; sys.path[:0] = [sys.argv[1], sys.argv[3]]; import sandbox\n"
              "try:\n    sandbox.discover(sys.argv[2], ['hello_pkg'])\n"
              "except sandbox.SandboxError as e:\n    print(e.kind, e.message)\n")
    covered = "mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && exec \"$@\""
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", covered, "sh",
                           "setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                           "/usr/bin/python3", "-I", "-c", script, str(ROOT), str(repo), str(system_env)],
                          capture_output=True, text=True, timeout=60, check=False,
                          env={"PATH": os.environ["PATH"], "THYMIS_SANDBOX_PYTHON": "/usr/bin/python3",
                               "THYMIS_SANDBOX_ENV": str(system_env)})
    assert done.stdout.startswith("unavailable the sandbox cannot start (Can't mount proc"), done

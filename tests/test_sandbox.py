"""The sandbox subprocess, for real: discovery, rendering, and every way a module can misbehave."""

import time
from pathlib import Path

import pytest

import sandbox
from sandbox import SandboxError, discover, render
from tests.support import repo_trees


def repo_with(tmp_path, body, package="bad_pkg"):
    return repo_trees.single_module_repo(tmp_path / "repo", package, body)


def test_discovers_current_api_modules(tmp_path):
    repo = repo_trees.valid_repo(tmp_path / "repo")
    modules = discover(repo, ["demo_modules"])
    assert [m["type"] for m in modules] == ["demo_modules.modules.Greeter", "demo_modules.modules.Users"]
    greeter = modules[0]
    assert greeter["display_name"] == "Greeter" and greeter["package"] == "demo_modules"
    assert greeter["icon"].startswith("data:image/svg+xml;base64,")
    assert [s["name"] for s in greeter["settings"]] == ["level", "greeting", "port", "enable"]


def test_discovers_old_api_modules(tmp_path):
    repo = repo_trees.old_api_repo(tmp_path / "repo")
    modules = discover(repo, ["legacy_modules"])
    assert [(m["display_name"], m["api"]) for m in modules] == [("Home Assistant", "2024"), ("Kiosk (2024)", "2024")]


def test_only_classes_defined_in_the_package_count(tmp_path):
    body = (
        "from thymis_controller.modules import Module\n"
        "from thymis_controller.modules.thymis import ThymisDevice  # a re-export, not ours\n"
        "class Helper(Module):\n    pass  # no display name: an abstract helper\n"
        "class Real(Helper):\n    display_name = 'Real'\n"
    )
    repo = repo_trees.make_repo(
        tmp_path / "repo",
        files={"pkg_a/__init__.py": "from .mods import Real\n", "pkg_a/mods.py": body, "pkg_a/sub/__init__.py": "",
               "pkg_a/sub/deep.py": "from thymis_controller.modules import Module\n"
                                    "class Deep(Module):\n    displayName = 'Deep'\n"},
    )
    assert [m["type"] for m in discover(repo, ["pkg_a"])] == ["pkg_a.mods.Real", "pkg_a.sub.deep.Deep"]


def test_render_external_and_builtin_modules(tmp_path):
    valid = repo_trees.valid_repo(tmp_path / "valid")
    legacy = repo_trees.old_api_repo(tmp_path / "legacy")
    texts = render(
        [valid, legacy],
        [
            {"module_type": "demo_modules.modules.Greeter", "settings": {"greeting": "hi ${x}"}, "priority": 80},
            {"module_type": "legacy_modules.modules.HomeAssistant", "settings": {"timezone": "UTC"}, "priority": 70},
            {"module_type": "thymis_controller.modules.thymis.ThymisDevice", "settings": {"device_name": "dev1"},
             "priority": 80},
            {"module_type": "thymis_controller.modules.bash.BashModule", "settings": {"script": "true"},
             "path": "hosts/dev1"},
        ],
    )
    assert texts[0] == '  environment.etc.greeting.text = lib.mkOverride 80 "hi \\${x}";\n'
    assert '  homeassistant.timezone = lib.mkOverride 70 "UTC";\n' in texts[1]
    assert texts[2].endswith('  thymis.config.device-name = lib.mkOverride 80 "dev1";\n'
                             '  networking.hostName = lib.mkOverride 80 "dev1";\n')
    assert 'systemd.services."thymis-bash-service-hosts-dev1" =' in texts[3]


def test_render_refuses_unknown_module_types(tmp_path):
    valid = repo_trees.valid_repo(tmp_path / "valid")
    for module_type in ["os.system", "elsewhere.mod.Cls", "nodots"]:
        with pytest.raises(SandboxError, match="module type"):
            render([valid], [{"module_type": module_type, "settings": {}, "priority": 1}])


def test_render_failure_names_the_module(tmp_path):
    valid = repo_trees.valid_repo(tmp_path / "valid")
    with pytest.raises(SandboxError) as e:
        render([valid], [{"module_type": "demo_modules.modules.Greeter", "settings": {"port": "not a number"},
                          "priority": 1}])
    assert "demo_modules.modules.Greeter" in e.value.message and "whole number" in e.value.message


def test_exception_at_import_names_file_and_line(tmp_path):
    repo = repo_with(tmp_path, "import os\n\nraise RuntimeError('boom at import')\n")
    with pytest.raises(SandboxError) as e:
        discover(repo, ["bad_pkg"])
    assert "bad_pkg/modules.py, line 3" in e.value.message
    assert "RuntimeError: boom at import" in e.value.message
    assert 'File "bad_pkg/modules.py", line 3' in e.value.details
    assert str(repo) not in str(e.value)  # paths are relative to the repository


def test_syntax_error_names_file_and_line(tmp_path):
    repo = repo_with(tmp_path, "x = 1\ndef broken(:\n")
    with pytest.raises(SandboxError) as e:
        discover(repo, ["bad_pkg"])
    assert "bad_pkg/modules.py, line 2" in e.value.message and "SyntaxError" in e.value.message


def test_infinite_loop_times_out(tmp_path):
    repo = repo_with(tmp_path, "while True:\n    pass\n")
    with pytest.raises(SandboxError) as e:
        discover(repo, ["bad_pkg"], timeout=1.5)
    assert e.value.kind == "timeout" and "timed out after 1.5 s" in e.value.message


def test_os_exit_is_reported_with_its_code(tmp_path):
    repo = repo_with(tmp_path, "import os\nos._exit(3)\n")
    with pytest.raises(SandboxError, match="sandbox exited with code 3"):
        discover(repo, ["bad_pkg"])


def test_sys_exit_is_reported(tmp_path):
    repo = repo_with(tmp_path, "import sys\nsys.exit(4)\n")
    with pytest.raises(SandboxError, match=r"called sys.exit\(4\)"):
        discover(repo, ["bad_pkg"])


def test_killed_by_a_signal(tmp_path):
    repo = repo_with(tmp_path, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    with pytest.raises(SandboxError, match="killed by SIGKILL"):
        discover(repo, ["bad_pkg"])


def test_unbounded_allocation_hits_the_memory_limit(tmp_path):
    repo = repo_with(tmp_path, "hog = []\nwhile True:\n    hog.append(bytearray(8 * 1024 * 1024))\n")
    with pytest.raises(SandboxError) as e:
        discover(repo, ["bad_pkg"], memory_mb=256)
    assert e.value.kind == "memory" and "memory limit 256 MiB" in e.value.message


def test_printing_to_stdout_fails(tmp_path):
    repo = repo_with(
        tmp_path,
        "import sys\nfrom thymis_controller.modules import Module\n"
        "print('hello from a module')\nprint('to stderr', file=sys.stderr)\n"
        "class M(Module):\n    display_name = 'M'\n",
    )
    with pytest.raises(SandboxError) as e:
        discover(repo, ["bad_pkg"])
    assert e.value.kind == "stdout" and "module printed to stdout: 'hello from a module'" in e.value.message
    assert "to stderr" in e.value.details


def test_environment_is_scrubbed(tmp_path, monkeypatch):
    monkeypatch.setenv("THYMIS_AUTH_BASIC_PASSWORD_FILE", "/secret/password")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "nope")
    body = (
        "import os, sys\nfrom thymis_controller.modules import Module\n"
        "class Env(Module):\n    display_name = 'Env'\n"
        "    description = '|'.join(sorted(os.environ)) + ' cwd=' + os.getcwd() + ' home=' + os.environ['HOME']"
        " + ' stdin=' + str(sys.stdin)\n"
    )
    repo = repo_with(tmp_path, body)
    description = discover(repo, ["bad_pkg"])[0]["description"]
    names, _, rest = description.partition(" ")
    assert sorted(names.split("|")) == ["HOME", "LANG", "PATH", "PWD"]
    assert rest.startswith("cwd=/tmp home=/home/sandbox stdin=")


def test_web_app_packages_cannot_be_imported(tmp_path):
    body = (
        "import importlib\nfrom thymis_controller.modules import Module\n"
        "results = []\n"
        "for name in ['models', 'pipeline', 'views', 'app', 'flask', 'peewee', 'dulwich', 'json',"
        " 'thymis_controller']:\n"
        "    try:\n        importlib.import_module(name)\n        results.append(name + '=yes')\n"
        "    except ImportError:\n        results.append(name + '=no')\n"
        "class Probe(Module):\n    display_name = 'Probe'\n    description = ' '.join(results)\n"
    )
    repo = repo_with(tmp_path, body)
    description = discover(repo, ["bad_pkg"])[0]["description"]
    assert description == (
        "models=no pipeline=no views=no app=no flask=no peewee=no dulwich=no json=yes thymis_controller=yes"
    )


def test_sandbox_path_holds_only_sdk_environment_checkout_and_stdlib(tmp_path):
    repo = repo_trees.valid_repo(tmp_path / "repo")
    report = sandbox.probe([repo])
    path = report["path"]
    assert path[:3] == ["/sandbox/sdk", "/sandbox/env", "/checkouts/0"]
    assert all("site-packages" not in p and "dist-packages" not in p for p in path)
    assert not any(p.startswith(str(Path(sandbox.__file__).parent.parent)) for p in path)


def test_runs_unprivileged_without_capabilities_in_its_own_pid_namespace():
    report = sandbox.probe()
    assert (report["uid"], report["gid"]) == (65534, 65534)
    assert report["capabilities"] == "0000000000000000" and report["no_new_privs"] == "1"
    assert report["ppid"] == 1 and report["pid"] < 10  # bubblewrap's init is its parent


def test_runs_on_the_interpreter_setup_chose():
    report = sandbox.probe()
    assert report["version"] == sandbox.isolation()["python"]
    if sandbox.isolation()["python_warning"] is None:
        assert tuple(int(p) for p in report["version"].split(".")[:2]) >= (3, 12)


def test_the_pinned_environment_is_importable(tmp_path):
    body = (
        "import sys\nimport pydantic, jinja2\nfrom thymis_controller.modules import Module\n"
        "class Versions(Module):\n    display_name = 'Versions'\n"
        "    description = ' '.join([pydantic.VERSION, jinja2.__version__, pydantic.__file__])\n"
    )
    description = discover(repo_with(tmp_path, body), ["bad_pkg"])[0]["description"]
    pins = dict(line.split("==") for line in (Path(sandbox.__file__).parent / "requirements.txt").read_text().split()
                if "==" in line)
    assert description == f"{pins['pydantic']} {pins['jinja2']} /sandbox/env/pydantic/__init__.py"


def test_parent_keeps_working_after_failures(tmp_path):
    repo = repo_with(tmp_path / "bad", "import os\nos._exit(9)\n")
    with pytest.raises(SandboxError):
        discover(repo, ["bad_pkg"])
    good = repo_trees.valid_repo(tmp_path / "good")
    assert len(discover(good, ["demo_modules"])) == 2


def test_module_code_cannot_reach_the_network(tmp_path):
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    port = listener.getsockname()[1]
    body = (
        "import socket\nfrom thymis_controller.modules import Module\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=2).close()\n"
        "    outcome = 'connected'\n"
        "except OSError as e:\n"
        "    outcome = 'failed'\n"
        "class Net(Module):\n    display_name = 'Net'\n    description = outcome\n"
    )
    try:
        assert discover(repo_with(tmp_path, body), ["bad_pkg"])[0]["description"] == "failed"
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()


def test_committed_bytecode_is_not_used(tmp_path):
    import subprocess

    from sandbox.config import current

    source = "from thymis_controller.modules import Module\nclass Shown(Module):\n    display_name = 'from source'\n"
    repo = repo_with(tmp_path, source)
    forged = tmp_path / "forged.py"
    forged.write_text("from thymis_controller.modules import Module\n"
                      "class Shown(Module):\n    display_name = 'from bytecode'\n")
    python = current().interpreter()  # bytecode of the sandbox's interpreter, the one that would load it
    tag = subprocess.run([python, "-c", "import sys; print(sys.implementation.cache_tag)"], capture_output=True,
                         text=True, check=True).stdout.strip()
    cache = repo / "bad_pkg" / "__pycache__" / f"modules.{tag}.pyc"
    compile_source = ("import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], "
                      "invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)")
    subprocess.run([python, "-c", compile_source, str(forged), str(cache)], check=True)
    assert cache.is_file()
    assert discover(repo, ["bad_pkg"])[0]["display_name"] == "from source"


def test_a_timeout_ends_every_process_of_the_sandbox(tmp_path):
    import secrets

    from tests.support.hostile import leftover_processes

    token = "timeout-linger-" + secrets.token_hex(6)
    body = ("import os, sys\nif os.fork() == 0:\n    os.setsid()\n"
            f"    os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(120)', '{token}'])\n"
            "while True:\n    pass\n")
    with pytest.raises(SandboxError) as e:
        discover(repo_with(tmp_path, body), ["bad_pkg"], timeout=2)
    assert e.value.kind == "timeout"
    deadline = time.monotonic() + 3
    while leftover_processes(token) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert leftover_processes(token) == []


def test_the_data_folder_itself_is_never_bound(tmp_path):
    data = tmp_path / "data"
    repo = repo_trees.valid_repo(data / "checkouts" / "demo" / "abc")
    sandbox.hide_from_sandbox(data)
    with pytest.raises(SandboxError, match="refusing to bind .* it holds the data folder"):
        discover(data, ["demo_modules"])
    with pytest.raises(SandboxError, match="refusing to bind"):
        discover(tmp_path, ["demo_modules"])
    assert len(discover(repo, ["demo_modules"])) == 2   # a checkout below it is bound on its own

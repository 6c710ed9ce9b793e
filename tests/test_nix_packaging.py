"""The Nix packaging: flake outputs, the package, the NixOS modules.

Runs the real `nix` (Debian's nix-bin, offline). nixpkgs cannot be downloaded
here, so the flake's `nixpkgs` input is overridden with the nixpkgs STAND-IN of
tests/fixtures/nixpkgs-standin (stub packages; its `lib` is the real nixpkgs
library from ../shared/nixpkgs-lib, see tests/support/nix.py). The NixOS module
is evaluated with that library's module system (`lib.evalModules`) and stub
declarations of the NixOS options it sets.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import urllib.request
from pathlib import Path

import pytest

from tests.support.git import work_tree
from tests.support.nix import nixpkgs_standin, real_nixpkgs_lib
from tests.support.processes import Service, free_port, http_answers

REPO = Path(__file__).resolve().parent.parent
SYSTEMS = ("x86_64-linux", "aarch64-linux")
NIX_ENV = {
    **os.environ,
    "NIX_CONFIG": "experimental-features = nix-command flakes\nsubstituters =\n",
}

MODULE_OPTIONS = {
    # name: (type, default) as the real lib's types describe them; None: no default checked
    "enable": ("boolean", False),
    "package": ("package", None),
    "project-path": (None, "/var/lib/thymis"),
    "listen-host": ("string", "127.0.0.1"),
    "listen-port": (None, 8000),
    "base-url": ("null or string", None),
    "auth-basic-password-file": (None, None),
    "ssh-key-file": (None, None),
    "workers": ("positive integer, meaning >0", 1),
    "threads": ("positive integer, meaning >0", 8),
    "allow-local-repositories": ("boolean", False),
    "nginx-vhost-enable": ("boolean", False),
    "nginx-vhost-name": ("string", "thymis"),
    "open-firewall": ("boolean", False),
    "extra-environment": ("attribute set of string", {}),
    "secrets-dir": (None, "/run/thymis/secrets"),
    "secret-paths": (None, ["/run/thymis"]),
    "local-activation-enable": ("boolean", False),
    "local-activation-action": (None, "switch"),
    # Thymis's option names (nix/thymis-controller-nixos-module.nix in Thymis-io/thymis)
    "auth-basic": ("boolean", True),
    "auth-basic-username": ("string", "admin"),
    "agent-access-url": ("null or string", None),
    "system-binfmt-aarch64-enable": ("boolean", False),
    "system-binfmt-x86_64-enable": ("boolean", False),
    "recommended-nix-gc-settings-enable": ("boolean", True),
}

pytestmark = pytest.mark.skipif(shutil.which("nix") is None, reason="nix is not installed")


def run(args, cwd=REPO, check=True):
    result = subprocess.run(
        args, cwd=cwd, env=NIX_ENV, capture_output=True, text=True, timeout=300
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, args))} failed ({result.returncode}):\n{result.stderr}"
        )
    return result


def repository_files():
    """Tracked and new (not ignored) files: what a commit of the work tree would hold."""
    out = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]).stdout
    return [name for name in out.split("\0") if name and (REPO / name).exists()]


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    """A copy of the nixpkgs STAND-IN with the real nixpkgs library as its lib."""
    return nixpkgs_standin(tmp_path_factory.mktemp("nixpkgs") / "nixpkgs-standin")


@pytest.fixture(scope="module")
def flake(tmp_path_factory, standin):
    """A copy of the repository as a clean git tree (flakes see only git's files),
    and the nix arguments that put the stand-in in place of nixpkgs."""
    root = tmp_path_factory.mktemp("flake")
    for name in repository_files():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target, follow_symlinks=False)
    work_tree(root, commit=False)
    args = ["--no-write-lock-file", "--override-input", "nixpkgs", f"path:{standin}"]
    return root, args


def nix_eval(flake, attribute, apply=None, raw=False):
    root, args = flake
    command = ["nix", "eval", *args, f".#{attribute}"]
    if apply:
        command += ["--apply", apply]
    command.append("--raw" if raw else "--json")
    out = run(command, cwd=root).stdout
    return out if raw else json.loads(out)


# --- every .nix file parses -------------------------------------------------


@pytest.mark.parametrize("path", [p for p in repository_files() if p.endswith(".nix")])
def test_nix_file_parses(path):
    run(["nix-instantiate", "--parse", path])


# --- flake outputs ----------------------------------------------------------


def test_flake_show_lists_every_output(flake):
    root, args = flake
    shown = json.loads(run(["nix", "flake", "show", "--json", *args], cwd=root).stdout)
    for system in SYSTEMS:
        package = shown["packages"][system]["default"]
        assert package["type"] == "derivation"
        assert package["name"].startswith("thymis-controller-")
        assert shown["apps"][system]["default"]["type"] == "app"
        assert shown["checks"][system]["vm-test"]["type"] == "derivation"
    assert shown["nixosModules"]["default"]["type"] == "nixos-module"
    assert shown["nixosModules"]["thymis-device"]["type"] == "nixos-module"
    assert shown["nixosModules"]["thymis-controller"]["type"] == "nixos-module"


@pytest.mark.parametrize("system", SYSTEMS)
def test_package_instantiates(flake, system):
    """Instantiating the derivation evaluates everything that goes into it."""
    drv = nix_eval(flake, f"packages.{system}.default.drvPath", raw=True)
    assert drv.startswith("/nix/store/") and drv.endswith(".drv")
    vm_test = nix_eval(flake, f"checks.{system}.vm-test.drvPath", raw=True)
    assert vm_test.endswith(".drv")


def test_package_layout(flake):
    root, args = flake
    shown = json.loads(
        run(["nix", "show-derivation", *args, ".#packages.x86_64-linux.default"], cwd=root).stdout
    )
    env = next(iter(shown.values()))["env"]
    assert env["version"] == re.search(
        r'^version = "([^"]+)"', (REPO / "pyproject.toml").read_text(), re.M
    ).group(1)
    install = env["installPhase"]
    assert "share/thymis-controller" in install
    assert "htmx.min.js" in install and "sha256sum --check" in install
    for wrapper in ("thymis-controller", "thymis-controller-cli"):
        assert (REPO / "nix" / "bin" / f"{wrapper}.in").is_file()
    source = Path(env["src"])
    assert (source / "pyproject.toml").is_file()
    for left_out in ("tests", "scripts", ".ci", "docs"):
        assert not (source / left_out).exists(), f"{left_out}/ should not be in the package"
    program = nix_eval(flake, "apps.x86_64-linux.default.program", raw=True)
    out_path = nix_eval(flake, "packages.x86_64-linux.default.outPath", raw=True)
    assert program == f"{out_path}/bin/thymis-controller"


def test_python_dependencies_come_from_pyproject(flake):
    names = nix_eval(
        flake,
        "packages.x86_64-linux.default.pythonEnv.packages",
        apply="map (p: p.pname)",
    )
    text = (REPO / "pyproject.toml").read_text()
    block = re.search(r"^dependencies = \[(.*?)\]", text, re.S | re.M).group(1)
    wanted = [
        re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", item).group(0).lower().replace("_", "-")
        for item in re.findall(r'"([^"]+)"', block)
    ]
    assert names == wanted


def test_sandbox_gets_python313_bubblewrap_and_the_pinned_packages(flake):
    """The package's wrappers run repository code in bubblewrap on nixpkgs' python313 with exactly the packages of
    sandbox/requirements.txt (nixpkgs' versions), never the web app's environment."""
    names = nix_eval(flake, "packages.x86_64-linux.default.sandboxRequirementNames")
    pinned = [line.split("==")[0].lower() for line in (REPO / "sandbox" / "requirements.txt").read_text().splitlines()
              if line and not line.startswith("#")]
    assert names == pinned
    env = nix_eval(flake, "packages.x86_64-linux.default.sandboxEnv.paths", apply="map (p: p.pname)")
    assert env == pinned
    python = nix_eval(flake, "packages.x86_64-linux.default.sandboxPython", raw=True)
    assert python.endswith("/bin/python3.13")
    root, args = flake
    shown = json.loads(run(["nix", "show-derivation", *args, ".#packages.x86_64-linux.default"], cwd=root).stdout)
    install = next(iter(shown.values()))["env"]["installPhase"]
    assert "--subst-var-by sandboxPython " + python in install
    assert "bubblewrap-stand-in" in install and "thymis-controller-sandbox-env/lib/python3.13/site-packages" in install
    assert "gnupg-stand-in" in install  # gpg on PATH: OpenPGP allowed signers
    for wrapper in ("thymis-controller", "thymis-controller-cli"):
        text = (REPO / "nix" / "bin" / f"{wrapper}.in").read_text()
        assert 'THYMIS_SANDBOX_PYTHON="${THYMIS_SANDBOX_PYTHON:-@sandboxPython@}"' in text
        assert 'THYMIS_SANDBOX_ENV="${THYMIS_SANDBOX_ENV:-@sandboxEnv@}"' in text


def test_vm_test_script_is_python(flake):
    fake_nodes = (
        "f: f { nodes.machine = {"
        ' services.thymis-controller = { listen-port = 8000; project-path = "/var/lib/thymis";'
        ' package = "/nix/store/00000000000000000000000000000000-thymis-controller"; };'
        ' services.gitDaemon.user = "git"; }; }'
    )
    script = nix_eval(flake, "checks.x86_64-linux.vm-test.testScript", apply=fake_nodes, raw=True)
    compile(script, "vm-test testScript", "exec")
    for step in ("/login", "csrf_token", "tokens create", "/api/repositories", '"ready"', "vm_hostile.mod.Hostile",
                 '["sandbox"]["isolation"] == "bwrap"', "pgrep -f vm-hostile-linger"):
        assert step in script


def test_pinned_downloads_match_their_hashes(flake):
    """Fetches htmx and htmx-flask with Nix's builtin:fetchurl and the pinned hashes.
    Needs the package registries; skipped when they cannot be reached."""
    root, args = flake
    targets = [
        f".#packages.x86_64-linux.default.fetchedSources.{name}" for name in ("htmx", "htmx-flask")
    ]
    built = run(["nix", "build", *args, "--no-link", "--json", *targets], cwd=root, check=False)
    if built.returncode == 0:
        # Download again and compare, so that paths already in the store are checked too.
        built = run(["nix", "build", *args, "--no-link", "--rebuild", *targets], cwd=root, check=False)
    if built.returncode != 0:
        error = built.stderr
        unreachable = ("unable to download", "resolve host", "resolve proxy", "timed out", "Connection refused")
        if "hash mismatch" not in error and any(reason in error for reason in unreachable):
            pytest.skip("the package registries cannot be reached: " + error.strip()[-300:])
        raise AssertionError(error)
    tarball = nix_eval(flake, "packages.x86_64-linux.default.fetchedSources.htmx.outPath", raw=True)
    expected = nix_eval(flake, "packages.x86_64-linux.default.htmx.fileSha256", raw=True)
    with tarfile.open(tarball) as archive:
        data = archive.extractfile("package/dist/htmx.min.js").read()
    assert hashlib.sha256(data).hexdigest() == expected
    script = (REPO / "scripts" / "fetch-htmx.sh").read_text()
    assert f"HTMX_SHA256={expected}" in script, "scripts/fetch-htmx.sh pins another htmx"


# --- the wrappers, with the development environment's gunicorn and flask -----------

TINY_APP = """
from flask import Flask

def create_app():
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok", "from": __file__}

    @app.cli.command("where")
    def where():
        print(__file__)

    return app
"""


def render_wrapper(name, tmp_path, app_dir):
    env_bin = tmp_path / "env" / "bin"
    env_bin.mkdir(parents=True, exist_ok=True)
    for tool in ("gunicorn", "flask"):
        if not (env_bin / tool).exists():
            (env_bin / tool).symlink_to(Path(sys.executable).parent / tool)
    text = (REPO / "nix" / "bin" / f"{name}.in").read_text()
    for key, value in {
        "shell": shutil.which("bash"),
        "binPath": "/usr/bin",
        "pythonEnv": str(tmp_path / "env"),
        "sandboxPython": "/usr/bin/python3",
        "sandboxEnv": str(tmp_path / "sandbox-env"),
        "appDir": str(app_dir),
    }.items():
        text = text.replace(f"@{key}@", value)
    assert "@" not in text.replace("$@", ""), text
    wrapper = tmp_path / name
    wrapper.write_text(text)
    wrapper.chmod(0o755)
    return wrapper


@pytest.mark.skipif(
    not (Path(sys.executable).parent / "gunicorn").exists(), reason="gunicorn is not in this environment"
)
def test_wrappers_run_the_app_from_its_folder(tmp_path):
    """The app's folder wins over a working directory that has an app.py of its own."""
    app_dir = tmp_path / "share" / "thymis-controller"
    app_dir.mkdir(parents=True)
    (app_dir / "app.py").write_text(TINY_APP)
    data = tmp_path / "data"
    data.mkdir()
    (data / "app.py").write_text("raise SystemExit('the working directory shadowed the application')\n")

    cli = render_wrapper("thymis-controller-cli", tmp_path, app_dir)
    where = subprocess.run([str(cli), "where"], cwd=data, capture_output=True, text=True, timeout=60)
    assert where.returncode == 0, where.stderr
    assert where.stdout.strip() == str(app_dir / "app.py")

    server = render_wrapper("thymis-controller", tmp_path, app_dir)
    port = free_port()
    url = f"http://127.0.0.1:{port}/healthz"
    service = Service([server, "--bind", f"127.0.0.1:{port}", "--workers", "1"], tmp_path / "server.log",
                      probe=lambda: http_answers(url), name="thymis-controller wrapper", cwd=data)
    try:
        service.wait_until_ready(30)
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.load(response)
        assert body == {"status": "ok", "from": str(app_dir / "app.py")}
    finally:
        service.stop(20)


# --- the NixOS modules' option declarations, read with the stand-in's (real) lib ----


def module_options(standin, module, path):
    """Option declarations of a NixOS module file, as JSON, read with the stand-in's lib."""
    expression = f"""
      let
        standin = (import {standin}/flake.nix).outputs {{ self = {{ }}; }};
        lib = standin.lib;
        pkgs = standin.legacyPackages.x86_64-linux;
        module = import {REPO / module} {{
          inherit lib pkgs;
          config = {{ nix.package = pkgs.nix; systemd.package = pkgs.nix; }};
        }};
        describe = option: {{
          type = option.type.description;
          hasDefault = option ? default;
          default = if option ? defaultText then null else option.default or null;
          description = option.description or "";
        }};
      in
      builtins.mapAttrs (name: describe) module.options.{path}
    """
    out = run(["nix-instantiate", "--eval", "--strict", "--json", "--expr", expression]).stdout
    return json.loads(out)


def test_controller_module_options(standin):
    options = module_options(standin, "nixos-module/default.nix", "services.thymis-controller")
    assert set(MODULE_OPTIONS) <= set(options), set(MODULE_OPTIONS) - set(options)
    for name, option in options.items():
        assert option["type"], f"{name} has no type"
        assert len(option["description"]) > 10, f"{name} has no description"
        assert option["hasDefault"], f"{name} has no default"
    for name, (type_description, default) in MODULE_OPTIONS.items():
        if type_description is not None:
            assert options[name]["type"] == type_description, name
        if default is not None:
            assert options[name]["default"] == default, name
    assert options["auth-basic-password-file"]["type"].startswith("null or string matching")
    assert "journalctl -u thymis-controller" in options["auth-basic-password-file"]["description"]


def test_device_module_options(standin):
    options = module_options(standin, "nixos-module/device.nix", "thymis")
    # the real lib describes a submodule with a freeform type so (the old record-only stand-in said "submodule")
    assert options["config"]["type"] == "open submodule of attribute set of anything"
    text = (REPO / "nixos-module" / "device.nix").read_text()
    for name in ("device-name", "device-type", "password", "authorized-keys"):
        assert f"{name} = lib.mkOption" in text
    assert 'environment.etc."thymis/device.json"' in text


def test_device_module_makes_the_secrets_folder_root_only():
    """nixosModules.thymis-device with the real lib: thymis.config.secrets-dir (set by the controller in every
    configuration it generates) is created at boot, root only; a relative or shallow folder is refused."""
    nixpkgs = real_nixpkgs_lib()
    expression = f"""
      let
        lib = import {nixpkgs}/lib;
        t = lib.types;
        free = lib.mkOption {{ type = t.attrsOf t.anything; default = {{ }}; }};
        stubs = {{
          options = {{
            networking.hostName = lib.mkOption {{ type = t.str; }};
            system.stateVersion = lib.mkOption {{ type = t.str; }};
            nix.settings = free;
            services.openssh = free;
            users.users = free;
            environment.etc = free;
            systemd.tmpfiles.rules = lib.mkOption {{ type = t.listOf t.str; default = [ ]; }};
          }};
        }};
        evaluate = settings: (lib.evalModules {{
          modules = [ {REPO}/nixos-module/device.nix stubs {{ thymis.config = settings; }} ];
        }}).config.systemd.tmpfiles.rules;
        refused = settings: !(builtins.tryEval (builtins.deepSeq (evaluate settings) true)).success;
      in
      {{
        default = evaluate {{ }};
        chosen = evaluate {{ secrets-dir = "/var/lib/thymis-secrets"; }};
        relativeRefused = refused {{ secrets-dir = "run/thymis/secrets"; }};
        shallowRefused = refused {{ secrets-dir = "/secrets"; }};
      }}
    """
    result = json.loads(run(["nix-instantiate", "--eval", "--strict", "--json", "--expr", expression]).stdout)
    assert result["default"] == ["d /run/thymis/secrets 0700 root root - -"]
    assert result["chosen"] == ["d /var/lib/thymis-secrets 0700 root root - -"]
    assert result["relativeRefused"] and result["shallowRefused"]


def test_docs_list_every_option(standin):
    docs = (REPO / "README.md").read_text()
    options = module_options(standin, "nixos-module/default.nix", "services.thymis-controller")
    for name in options:
        assert f"| `{name}` |" in docs, f"the README's NixOS section does not describe {name}"


# --- the NixOS module with the real nixpkgs library ---------------------------


REAL_LIB_STUBS = """
  { lib, pkgs, ... }:
  let
    t = lib.types;
    anything = lib.mkOption { type = t.anything; default = { }; };
  in
  {
    # Options of NixOS that the module sets, declared just enough to read them back.
    options = {
      assertions = lib.mkOption { type = t.listOf t.unspecified; default = [ ]; };
      warnings = lib.mkOption { type = t.listOf t.str; default = [ ]; };
      users.users = lib.mkOption { type = t.attrsOf t.anything; default = { }; };
      users.groups = lib.mkOption { type = t.attrsOf t.anything; default = { }; };
      nix.package = lib.mkOption { type = t.package; default = pkgs.nix; };
      nix.settings = lib.mkOption {
        type = t.submodule {
          freeformType = t.attrsOf t.anything;
          options.allowed-users = lib.mkOption { type = t.listOf t.str; default = [ "*" ]; };
        };
        default = { };
      };
      nix.gc = anything;
      boot.binfmt.emulatedSystems = lib.mkOption { type = t.listOf t.str; default = [ ]; };
      systemd.package = lib.mkOption { type = t.package; default = pkgs.nix; };
      systemd.services = lib.mkOption {
        type = t.attrsOf (t.submodule { freeformType = t.attrsOf t.anything; });
        default = { };
      };
      systemd.tmpfiles.rules = lib.mkOption { type = t.listOf t.str; default = [ ]; };
      environment.systemPackages = lib.mkOption { type = t.listOf t.package; default = [ ]; };
      services.nginx = anything;
      networking.firewall.allowedTCPPorts = lib.mkOption { type = t.listOf t.port; default = [ ]; };
      security.polkit.enable = lib.mkOption { type = t.bool; default = false; };
      security.polkit.extraConfig = lib.mkOption { type = t.lines; default = ""; };
    };
    config._module.args.pkgs = ((import STANDIN/flake.nix).outputs { self = { }; }).legacyPackages.x86_64-linux;
  }
"""


def test_module_with_real_nixpkgs_lib(standin):
    """The module evaluated by the real module system: option types, defaults, the services it defines."""
    nixpkgs = real_nixpkgs_lib()
    stubs = REAL_LIB_STUBS.replace("STANDIN", str(standin))
    expression = f"""
      let
        lib = import {nixpkgs}/lib;
        evaluate = settings: lib.evalModules {{
          modules = [ {REPO}/nixos-module/default.nix ({stubs}) {{ services.thymis-controller = settings; }} ];
        }};
        appliance = evaluate {{
          enable = true;
          auth-basic-password-file = "/run/secrets/thymis-admin-password";
          local-activation-enable = true;
          nginx-vhost-enable = true;
          open-firewall = true;
        }};
        c = appliance.config;
        service = c.systemd.services.thymis-controller;
        options = appliance.options.services.thymis-controller;
      in
      {{
        options = builtins.mapAttrs (name: option: {{
          type = option.type.name;
          description = option.description or "";
          defaultTypeChecks = !(option ? default) || name == "package" || option.type.check option.default;
        }}) (removeAttrs options [ "_module" ]);
        defaults = {{
          project-path = (evaluate {{ }}).config.services.thymis-controller.project-path;
          listen-port = (evaluate {{ }}).config.services.thymis-controller.listen-port;
          workers = (evaluate {{ }}).config.services.thymis-controller.workers;
        }};
        user = service.serviceConfig.User;
        execStart = service.serviceConfig.ExecStart;
        protectSystem = service.serviceConfig.ProtectSystem;
        sandboxNeeds = {{
          inherit (service.serviceConfig) RestrictNamespaces ProtectKernelTunables ProtectKernelLogs NoNewPrivileges;
          protectProc = service.serviceConfig.ProtectProc or null;
          procSubset = service.serviceConfig.ProcSubset or null;
          privateUsers = service.serviceConfig.PrivateUsers or null;
        }};
        stateDirectory = service.serviceConfig.StateDirectory;
        credentials = service.serviceConfig.LoadCredential;
        passwordFile = service.environment.THYMIS_AUTH_BASIC_PASSWORD_FILE;
        secretsDir = service.environment.THYMIS_SECRETS_DIR;
        secretPaths = (evaluate {{ enable = true; secret-paths = [ "/run/thymis" "/var/lib/app/keys" ]; }})
          .config.systemd.services.thymis-controller.environment.THYMIS_SECRET_PATHS;
        systemSecretFolderRejected = !(builtins.tryEval (builtins.deepSeq
          (evaluate {{ secrets-dir = "/etc"; }}).config.services.thymis-controller.secrets-dir true)).success;
        activationCommand = service.environment.THYMIS_LOCAL_ACTIVATION_COMMAND;
        activateUnit = c.systemd.services."thymis-activate@".serviceConfig.ExecStart;
        deliverUnit = c.systemd.services."thymis-deliver-secrets@".serviceConfig.ExecStart;
        deliverEnvironment = c.systemd.services."thymis-deliver-secrets@".environment;
        incoming = service.serviceConfig.RuntimeDirectory;
        allowedUsers = c.nix.settings.allowed-users;
        polkit = c.security.polkit.extraConfig;
        firewall = c.networking.firewall.allowedTCPPorts;
        failedAssertions = map (a: a.message) (builtins.filter (a: !a.assertion) c.assertions);
        relativePathRejected = !(builtins.tryEval (builtins.deepSeq
          (evaluate {{ project-path = "var/lib/thymis"; }}).config.services.thymis-controller.project-path
          true)).success;
      }}
    """
    out = run(["nix-instantiate", "--eval", "--strict", "--json", "--expr", expression]).stdout
    result = json.loads(out)
    assert set(MODULE_OPTIONS) <= set(result["options"])
    for name, option in result["options"].items():
        assert option["description"], name
        assert option["defaultTypeChecks"], f"the default of {name} is not of its type"
    assert result["defaults"] == {"project-path": "/var/lib/thymis", "listen-port": 8000, "workers": 1}
    assert result["user"] == "thymis"
    assert "--bind 127.0.0.1:8000" in result["execStart"].replace("'", "")
    # the same shape as scripts/run.sh: 1 worker x 8 threads (README, bench/startup_bench.py on memory)
    assert "--workers 1 --threads 8" in result["execStart"].replace("'", "")
    assert result["protectSystem"] == "strict"
    # bubblewrap: exactly the namespaces it creates, and a /proc it may mount its own over
    assert result["sandboxNeeds"] == {"RestrictNamespaces": "user mnt pid net ipc uts cgroup",
                                      "ProtectKernelTunables": False, "ProtectKernelLogs": False,
                                      "NoNewPrivileges": True, "protectProc": None, "procSubset": None,
                                      "privateUsers": None}
    assert result["stateDirectory"] == "thymis"
    assert result["credentials"] == ["admin-password:/run/secrets/thymis-admin-password"]
    assert result["passwordFile"] == "/run/credentials/thymis-controller.service/admin-password"
    assert result["secretsDir"] == "/run/thymis/secrets"
    assert result["secretPaths"] == "/run/thymis:/var/lib/app/keys"
    assert result["systemSecretFolderRejected"]  # one level deep: the option's type refuses it
    assert result["activationCommand"].endswith("/bin/thymis-controller-activate")
    assert result["activateUnit"].endswith("/bin/thymis-activate %f")
    assert sorted(result["allowedUsers"]) == ["*", "thymis"]
    assert "thymis-activate@" in result["polkit"] and "thymis-deliver-secrets@" in result["polkit"]
    assert result["deliverUnit"].endswith("/bin/thymis-deliver-secrets %i")
    assert result["deliverEnvironment"]["THYMIS_PLACE_SECRETS"].endswith(
        "/share/thymis-controller/secret_store/place-secrets.sh")
    assert result["deliverEnvironment"]["THYMIS_SECRETS_INCOMING"] == "/run/thymis-secrets-incoming"
    assert result["incoming"] == "thymis-secrets-incoming"  # the controller's own, mode 0700
    assert result["firewall"] == [80, 443]
    assert result["failedAssertions"] == []
    assert result["relativePathRejected"]


def test_module_accepts_a_thymis_configuration(standin):
    """A Thymis user's services.thymis-controller settings evaluate; the unused ones warn that they are unused."""
    nixpkgs = real_nixpkgs_lib()
    stubs = REAL_LIB_STUBS.replace("STANDIN", str(standin))
    expression = f"""
      let
        lib = import {nixpkgs}/lib;
        evaluate = settings: (lib.evalModules {{
          modules = [ {REPO}/nixos-module/default.nix ({stubs}) {{ services.thymis-controller = settings; }} ];
        }}).config;
        thymis = evaluate {{
          enable = true;
          base-url = "https://thymis.example.com";
          agent-access-url = "https://thymis.example.com";
          auth-basic = false;
          auth-basic-username = "operator";
          auth-basic-password-file = "/run/secrets/thymis-password";
          system-binfmt-aarch64-enable = true;
          system-binfmt-x86_64-enable = true;
          recommended-nix-gc-settings-enable = true;
          listen-host = "127.0.0.1";
          listen-port = 8000;
          nginx-vhost-enable = true;
          nginx-vhost-name = "thymis";
          project-path = "/var/lib/thymis";
        }};
        plain = evaluate {{ enable = true; recommended-nix-gc-settings-enable = false; }};
        defaults = evaluate {{ enable = true; }};
        emptyName = evaluate {{ enable = true; auth-basic-username = ""; }};
        environment = thymis.systemd.services.thymis-controller.environment;
      in
      {{
        warnings = thymis.warnings;
        plainWarnings = plain.warnings;
        username = environment.THYMIS_AUTH_BASIC_USERNAME;
        defaultUsername = defaults.systemd.services.thymis-controller.environment.THYMIS_AUTH_BASIC_USERNAME;
        binfmt = thymis.boot.binfmt.emulatedSystems;
        defaultBinfmt = defaults.boot.binfmt.emulatedSystems;
        gc = thymis.nix.gc;
        settings = removeAttrs thymis.nix.settings [ "allowed-users" ];
        plainGc = plain.nix.gc;
        plainSettings = removeAttrs plain.nix.settings [ "allowed-users" ];
        failedAssertions = map (a: a.message) (builtins.filter (a: !a.assertion) thymis.assertions);
        emptyNameFails = map (a: a.message) (builtins.filter (a: !a.assertion) emptyName.assertions);
      }}
    """
    result = json.loads(run(["nix-instantiate", "--eval", "--strict", "--json", "--expr", expression]).stdout)
    assert result["failedAssertions"] == []
    assert len(result["warnings"]) == 2
    assert "auth-basic = false has no effect" in result["warnings"][0]
    assert "agent-access-url is not used" in result["warnings"][1]
    assert result["plainWarnings"] == []
    assert result["username"] == "operator" and result["defaultUsername"] == "admin"
    assert result["binfmt"] == ["aarch64-linux", "x86_64-linux"] and result["defaultBinfmt"] == []
    assert result["gc"] == {"automatic": True, "dates": "02:00", "randomizedDelaySec": "15min"}
    assert result["settings"] == {"keep-outputs": True, "auto-optimise-store": True, "min-free": 12 * 1024 ** 3}
    assert result["plainGc"] == {} and result["plainSettings"] == {}
    assert result["emptyNameFails"] == [
        "services.thymis-controller.auth-basic-username must be a non-empty user name without spaces."]


def test_flake_exports_the_controller_module_under_thymis_name(flake):
    same = nix_eval(flake, "nixosModules", apply="m: m.thymis-controller == m.default")
    assert same is True

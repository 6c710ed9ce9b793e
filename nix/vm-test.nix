# checks.<system>.vm-test: a NixOS VM with the appliance.
#
# It logs in with the configured admin password, creates an API token with
# the operator command line, adds a module repository that a git daemon in
# the same VM serves, and waits until the repository is ready. It also checks
# the service's user, the nginx virtual host and both sides of local
# activation (refusals, and a switch to the running system). The repository
# holds a hostile module that tries to read the data folder, write its own
# checkout, reach the controller's port and leave a process behind: the
# bubblewrap sandbox must keep it from all of these.
#
#   nix build .#checks.x86_64-linux.vm-test -L     (needs KVM)
{
  pkgs,
  nixosModules,
}:

let
  adminPassword = "vm-test admin password";
  adminPasswordFile = pkgs.writeText "thymis-admin-password" adminPassword;

  # A module repository: the README marker and a minimal flake without inputs.
  # $out/repo.git is a bare repository; $out/commit is the commit of its main branch.
  moduleRepository =
    pkgs.runCommand "thymis-vm-test-module-repository"
      {
        nativeBuildInputs = [ pkgs.git ];
        GIT_AUTHOR_NAME = "Thymis VM test";
        GIT_AUTHOR_EMAIL = "vm-test@thymis.invalid";
        GIT_COMMITTER_NAME = "Thymis VM test";
        GIT_COMMITTER_EMAIL = "vm-test@thymis.invalid";
      }
      ''
        export HOME=$TMPDIR
        git init --quiet --initial-branch=main work
        cd work
        cat > README.md <<'EOF'
        # VM test modules

        This repository contains thymis modules (one hostile module: it exercises the sandbox).
        EOF
        mkdir vm_hostile
        touch vm_hostile/__init__.py
        cat > vm_hostile/mod.py <<'EOF'
        import os, pathlib, socket, sys
        from thymis_controller.modules import Module

        seen = []
        for name in ("/var/lib/thymis/secret_key", "/var/lib/thymis/controller.sqlite3"):
            try:
                open(name, "rb").read()
                seen.append("read")
            except OSError as exc:
                seen.append(type(exc).__name__)
        try:
            with open(pathlib.Path(__file__).resolve().parents[1] / "flake.nix", "a") as f:
                f.write("# tampered")
            seen.append("wrote")
        except OSError as exc:
            seen.append(type(exc).__name__)
        try:
            socket.create_connection(("127.0.0.1", 8000), timeout=2).close()
            seen.append("connected")
        except OSError as exc:
            seen.append(type(exc).__name__)
        if os.fork() == 0:
            os.setsid()
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)", "vm-hostile-linger"])


        class Hostile(Module):
            display_name = "Hostile"
            description = " ".join(seen)
        EOF
        cat > flake.nix <<'EOF'
        {
          description = "Module repository of the Thymis controller's VM test";
          outputs = { self }: {
            nixosModules.default = { ... }: { };
          };
        }
        EOF
        git add README.md flake.nix vm_hostile
        git commit --quiet -m "Module repository for the VM test"
        mkdir -p $out
        git rev-parse HEAD > $out/commit
        git clone --quiet --bare . $out/repo.git
      '';
in
pkgs.testers.runNixOSTest {
  name = "thymis-controller";

  nodes.machine =
    { config, pkgs, ... }:
    {
      imports = [
        nixosModules.default
        # The appliance is a Thymis device itself, so it may activate its own system.
        nixosModules.thymis-device
      ];

      virtualisation.memorySize = 2048;
      virtualisation.diskSize = 4096;

      thymis.config.device-name = "machine";
      # NixOS tests leave switch-to-configuration out of the system by default;
      # local activation needs it (a real system has it).
      system.switch.enable = true;

      services.thymis-controller = {
        enable = true;
        auth-basic-password-file = "${adminPasswordFile}";
        auth-basic-username = "operator";
        nginx-vhost-enable = true;
        local-activation-enable = true;
        # No boot loader in the test VM: activate without touching it.
        local-activation-action = "test";
      };

      services.gitDaemon = {
        enable = true;
        basePath = "/srv/git";
        exportAll = true;
        listenAddress = "127.0.0.1";
      };
      systemd.tmpfiles.rules = [
        "d /srv/git 0755 ${config.services.gitDaemon.user} ${config.services.gitDaemon.group} - -"
      ];

      environment.systemPackages = [
        pkgs.curl
        pkgs.git
      ];
    };

  testScript =
    { nodes, ... }:
    let
      controller = nodes.machine.services.thymis-controller;
      gitUser = nodes.machine.services.gitDaemon.user;
    in
    ''
      import json
      import re
      import shlex
      import time

      BASE = "http://127.0.0.1:${toString controller.listen-port}"
      PASSWORD = ${builtins.toJSON adminPassword}
      REPOSITORY_URL = "git://127.0.0.1/thymis-modules.git"


      def http(args):
          """Runs curl with the given arguments; returns (status, body)."""
          out = machine.succeed(
              "curl -sS -o /tmp/body -w '%{http_code}' " + args + "; echo; cat /tmp/body"
          )
          status, _, body = out.partition("\n")
          return int(status), body


      def csrf_token(page):
          for pattern in (
              r'name="csrf_token"[^>]*value="([^"]*)"',
              r'value="([^"]*)"[^>]*name="csrf_token"',
          ):
              found = re.search(pattern, page)
              if found:
                  return found.group(1)
          raise Exception("no csrf_token field on the login page:\n" + page)


      def log_in(password, username="operator"):
          machine.succeed("rm -f /tmp/cookies")
          status, page = http(f"-c /tmp/cookies -b /tmp/cookies {BASE}/login")
          assert status == 200, (status, page)
          token = csrf_token(page)
          status, _ = http(
              "-c /tmp/cookies -b /tmp/cookies"
              f" --data-urlencode {shlex.quote('csrf_token=' + token)}"
              f" --data-urlencode {shlex.quote('username=' + username)}"
              f" --data-urlencode {shlex.quote('password=' + password)}"
              f" {BASE}/login"
          )
          return status


      def api(method, path, token, body=None):
          args = f"-X {method} -H {shlex.quote('Authorization: Bearer ' + token)}"
          if body is not None:
              args += " -H 'Content-Type: application/json' --data " + shlex.quote(json.dumps(body))
          status, text = http(f"{args} {BASE}{path}")
          return status, (json.loads(text) if text.strip() else None)


      start_all()

      with subtest("a module repository is served by git daemon"):
          machine.succeed(
              "cp -r ${moduleRepository}/repo.git /srv/git/thymis-modules.git",
              "chmod -R u+w /srv/git/thymis-modules.git",
              "chown -R ${gitUser}: /srv/git/thymis-modules.git",
          )
          machine.wait_for_unit("git-daemon.service")
          machine.wait_for_open_port(9418)
          machine.succeed("git ls-remote " + REPOSITORY_URL + " | grep -q refs/heads/main")

      with subtest("the controller starts as its own unprivileged user"):
          machine.wait_for_unit("thymis-controller.service")
          machine.wait_for_open_port(${toString controller.listen-port})
          health = json.loads(machine.succeed(f"curl -sSf {BASE}/healthz"))
          assert health["status"] == "ok" and health["sandbox"]["isolation"] == "bwrap", health
          assert not health["sandbox"]["python_fallback"], health
          pid = machine.succeed("systemctl show --property=MainPID --value thymis-controller.service").strip()
          owner = machine.succeed(f"ps -o user= -p {pid}").strip()
          assert owner == "thymis", f"the controller runs as {owner}"
          machine.succeed("test \"$(stat -c %U ${controller.project-path})\" = thymis")

      with subtest("nginx proxies to the controller"):
          machine.wait_for_unit("nginx.service")
          machine.wait_for_open_port(80)
          machine.succeed("curl -sSf http://127.0.0.1/healthz | grep -q ok")

      with subtest("the configured user name and admin password log in, a wrong one of them does not"):
          status, _ = http(f"{BASE}/api/repositories")
          assert status == 401, f"unauthenticated API request answered {status}"
          log_in("not the password")
          status, _ = http(f"-b /tmp/cookies {BASE}/api/repositories")
          assert status == 401, f"a wrong password gave a session ({status})"
          log_in(PASSWORD, username="admin")
          status, _ = http(f"-b /tmp/cookies {BASE}/api/repositories")
          assert status == 401, f"the default user name logged in although auth-basic-username is set ({status})"
          log_in(PASSWORD)
          status, body = http(f"-b /tmp/cookies {BASE}/api/repositories")
          assert status == 200, f"logged in, the API answered {status}: {body}"
          assert isinstance(json.loads(body), list), body

      with subtest("an API token from the command line"):
          token = machine.succeed("thymis-controller-cli tokens create vm-test").split()[-1]
          status, repositories = api("GET", "/api/repositories", token)
          assert status == 200, (status, repositories)

      with subtest("a repository from the git daemon becomes ready"):
          status, repository = api(
              "POST",
              "/api/repositories",
              token,
              {"display_name": "VM test modules", "url": REPOSITORY_URL},
          )
          assert status == 201, (status, repository)
          name = repository["name"]
          deadline = time.monotonic() + 300
          while True:
              status, repository = api("GET", f"/api/repositories/{name}", token)
              assert status == 200, (status, repository)
              state = repository["status"]
              if state == "ready":
                  break
              if "fail" in state or "error" in state:
                  raise Exception("the repository did not validate:\n" + json.dumps(repository, indent=2))
              if time.monotonic() > deadline:
                  raise Exception("the repository is not ready after 300 s:\n" + json.dumps(repository, indent=2))
              time.sleep(2)
          expected = machine.succeed("cat ${moduleRepository}/commit").strip()
          assert repository["active_commit"] == expected, (repository["active_commit"], expected)

      with subtest("the hostile module reached nothing and left nothing behind"):
          status, modules = api("GET", "/api/modules", token)
          hostile = next(m for m in modules if m["type"] == "vm_hostile.mod.Hostile")
          assert hostile["description"] == (
              "FileNotFoundError FileNotFoundError OSError ConnectionRefusedError"
          ), hostile["description"]
          checkout = "${controller.project-path}/checkouts/" + name + "/" + expected
          machine.fail(f"grep -q tampered {checkout}/flake.nix")
          machine.fail("pgrep -f vm-hostile-linger")

      with subtest("local activation refuses what is not a Thymis system for this machine"):
          as_thymis = "runuser -u thymis -- "
          # Not in the store, and a store path that is no NixOS system.
          machine.fail(as_thymis + "systemctl start --no-ask-password thymis-activate@etc.service")
          machine.fail(as_thymis + "thymis-controller-activate ${controller.package}")
          # The polkit rule lets the controller's user start those units only.
          machine.fail(as_thymis + "systemctl restart --no-ask-password git-daemon.service")
          machine.fail(as_thymis + "systemctl stop --no-ask-password nginx.service")
          machine.succeed("systemctl is-active nginx.service git-daemon.service")

      with subtest("local activation switches to a Thymis system built for this machine"):
          machine.succeed(as_thymis + "thymis-controller-activate /run/current-system")
          machine.succeed("systemctl is-active thymis-controller.service")
    '';
}

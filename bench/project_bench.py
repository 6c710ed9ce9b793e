"""End-to-end project generation as a build job does it: compose from the database (module bodies rendered in
the sandbox, cached by request) and generate + commit + lock the flake, for N devices x M modules.

Usage: .venv/bin/python bench/project_bench.py [--devices 200] [--runs 3]
Each device uses the 4 built-in modules and 6 modules of an external repository (fetched and validated through
the real pipeline from a local git repository), 10 modules per device.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NIX_CONFIG", "experimental-features = nix-command flakes\nsubstituters =\nsandbox = false\n")

MODULE = '''
from thymis_controller.modules.modules import Module, Setting


class Mod{n}(Module):
    display_name = "Bench module {n}"
    value = Setting(display_name="Value", type="int", default=0, nix_attr_name="bench.m{n}.value")
    label = Setting(display_name="Label", type="string", default="x", nix_attr_name="bench.m{n}.label")
'''
BUILTINS = ["thymis_controller.modules.thymis.ThymisDevice", "thymis_controller.modules.access.SSHAccess",
            "thymis_controller.modules.bash.BashModule", "thymis_controller.modules.custom_nix.CustomNixModule"]


def make_repo(path: Path) -> None:
    (path / "bench_mods").mkdir(parents=True)
    (path / "README.md").write_text("This repository contains thymis modules.\n")
    (path / "flake.nix").write_text('{ outputs = { self }: { }; }\n')
    (path / "bench_mods" / "__init__.py").write_text("")
    (path / "bench_mods" / "mods.py").write_text("".join(MODULE.format(n=n) for n in range(6)))
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@b"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "bench"]):
        subprocess.run(["git", "-C", str(path), *args], check=True, env=env)


def modules_for(device: int, value: int = 0) -> list[dict]:
    own = [{"type": BUILTINS[0], "settings": {"device_name": f"dev{device}"}}, {"type": BUILTINS[1], "settings": {}},
           {"type": BUILTINS[2], "settings": {"script": f"echo {device}"}},
           {"type": BUILTINS[3], "settings": {"nix_code": f"bench.device = {device};"}}]
    return own + [{"type": f"bench_mods.mods.Mod{n}", "settings": {"value": value + n, "label": f"d{device}"}}
                  for n in range(6)]


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()

    from app import create_app
    from configs import service
    from deploy.compose import compose, render_cache
    from deploy.flake import generate_project
    from models import Device, database

    full, full_render, one = [], [], []
    for run in range(options.runs):
        with tempfile.TemporaryDirectory(prefix="project-bench-") as tmp:
            tmp = Path(tmp)
            make_repo(tmp / "src")
            thymis, nixpkgs = tmp / "thymis", tmp / "nixpkgs"   # tiny stand-ins: only generation is timed
            thymis.mkdir()
            nixpkgs.mkdir()
            (nixpkgs / "flake.nix").write_text('{ outputs = { self }: { }; }\n')
            (thymis / "flake.nix").write_text('{ inputs.nixpkgs.url = "path:%s"; outputs = { self, nixpkgs }: '
                                              '{ nixosModules.thymis-device = { ... }: { }; }; }\n' % nixpkgs)
            app = create_app({"project_path": tmp / "data", "allow_local_repositories": True, "start_job_worker": False,
                              "announce_password": lambda password: None, "thymis_flake_url": f"path:{thymis}",
                              # the seeding saves are not timed, and this stand-in has no lib to check them with
                              "option_check": False})
            settings = app.config["THYMIS"]
            with app.app_context(), database.connection_context():
                result = app.test_cli_runner().invoke(
                    args=["repos", "add", str(tmp / "src"), "-d", "Bench", "--name", "bench"])
                assert result.exit_code == 0, result.output
                for device in range(options.devices):
                    service.save_device({"name": f"dev{device}", "display_name": f"Dev {device}",
                                         "modules": modules_for(device)})
                render_cache._bodies.clear()

                def generate():
                    composition = compose(settings)
                    generate_project(settings.project_dir, devices=composition.devices, inputs=composition.inputs,
                                     thymis_url=settings.thymis_flake_url)

                render_ms = timed(lambda: compose(settings))
                render_cache._bodies.clear()
                full.append(timed(generate))
                full_render.append(render_ms)
                Device.update(modules=modules_for(7, value=100)).where(Device.name == "dev7").execute()
                one.append(timed(generate))
            app.extensions["jobs"].stop()
        print(f"run {run + 1}: full {full[-1]:.0f} ms (compose alone, cold: {full_render[-1]:.0f} ms), "
              f"one setting changed {one[-1]:.0f} ms", flush=True)
    files = options.devices * 10
    print(f"\n{options.devices} devices x 10 modules ({files} module files), median of {options.runs} runs:")
    print(f"  full: compose (sandbox render) + generate + commit + lock   "
          f"{statistics.median(full):8.0f} ms   target < 2000 ms")
    print(f"    of which compose with a cold render cache                  {statistics.median(full_render):8.0f} ms")
    print(f"  one device's setting changed, same steps                      "
          f"{statistics.median(one):8.0f} ms   target < 200 ms")


if __name__ == "__main__":
    main()

"""Project flake generation (Dulwich commits, nix flake lock) and builds with real Nix against the stand-ins."""
from __future__ import annotations

import json
import subprocess

import pytest
from dulwich.repo import Repo

from deploy.build import BuildError, build
from deploy.flake import generate_project, head_commit
from deploy.model import DeviceConfig, FlakeInput, ModuleFile
from deploy.preview import preview_device, read_files
from deploy.render import GenerationError, ThymisOverrideConflict, render_project
from tests.support.deploy import Recorder
from tests.support.nix import toplevel_config

MOD = "testpkg.settings.Values"


def device(name: str, *files: ModuleFile) -> DeviceConfig:
    return DeviceConfig(name=name, files=list(files))


def own(body: str, module_type: str = MOD) -> ModuleFile:
    return ModuleFile("device", module_type, body)


def tagged(tag: str, body: str, module_type: str = MOD) -> ModuleFile:
    return ModuleFile(f"tag-{tag}", module_type, body)


def changed_paths(project, old: str, new: str) -> set[str]:
    out = subprocess.run(["git", "-C", str(project), "diff", "--name-only", old, new], check=True,
                         capture_output=True, text=True).stdout
    return set(out.split())


def test_generate_commit_build_priorities(tmp_path, standins):
    project = tmp_path / "project"
    dev1 = device("dev1",
                  own('networking.hostName = lib.mkOverride 80 "dev1";\n'
                      'settings.color = lib.mkOverride 80 "device-red";\n'
                      'settings.size = lib.mkOverride 80 "device-small";\n'
                      'settings.list = [ "from-device" ];\n'
                      'settings.forced = "device-plain";\n'
                      'settings.when = lib.mkIf (config.settings.color == "device-red") "color-is-red";\n'
                      f'settings.unique = "{tmp_path}";'),  # a new system: something to build
                  tagged("office", 'settings.color = lib.mkOverride 90 "tag-blue";\n'
                                   'settings.size = lib.mkOverride 50 "tag-large";\n'
                                   'settings.forced = lib.mkForce "tag-forced";\n'
                                   'settings.list = [ "from-tag" ];'))
    result = generate_project(project, devices=[dev1], inputs=[], thymis_url=standins.thymis_url)
    assert result.changed
    assert "device dev1 added" in result.message and "tag office added" in result.message
    repo = Repo(str(project))
    assert repo.head().decode() == result.commit
    committed = read_files(project, result.commit, ["flake.nix", "flake.lock", "hosts", "tags"])
    assert set(committed) == {"flake.nix", "flake.lock", f"hosts/dev1/{MOD}.nix", f"tags/office/{MOD}.nix"}
    assert committed[f"hosts/dev1/{MOD}.nix"].startswith("# Generated")
    assert "{ inputs, pkgs, lib, config, ... }:" in committed[f"tags/office/{MOD}.nix"]

    # An uncommitted edit is not what gets built: builds use the committed revision.
    (project / f"hosts/dev1/{MOD}.nix").write_text("{ ... }: { settings.color = \"dirty\"; }\n")
    recorder = Recorder()
    built = build(project, result.commit, "dev1", recorder)
    config = toplevel_config(built.store_path)
    assert config["settings"]["color"] == "device-red"      # device (80) beats tag (90)
    assert config["settings"]["size"] == "tag-large"        # tag at 50 beats device (80)
    assert sorted(config["settings"]["list"]) == ["from-device", "from-tag"]
    assert config["settings"]["forced"] == "tag-forced"     # mkForce (50) beats a plain definition (100)
    assert config["settings"]["when"] == "color-is-red"     # mkIf reads the merged config
    assert config["networking"]["hostName"] == "dev1"
    assert config["thymis"]["base"] == "thymis-standin"     # the thymis device module is in
    assert built.drv_path.endswith(".drv") and built.duration > 0
    phases = [call for call in recorder.progress_calls if call[0] == "building"]
    assert phases and phases[-1][1] == phases[-1][2] >= 1
    assert any("building '" in line for line in recorder.lines)
    assert "stand-in toplevel" in built.log


def test_regenerate_is_idempotent_and_changes_only_one_device(tmp_path, standins):
    project = tmp_path / "project"

    def devices(size_of_dev2: str):
        return [device(f"dev{i}", own(f'settings.size = lib.mkOverride 80 "{size_of_dev2 if i == 2 else "s"}";'),
                       own("settings.other = 1;", "testpkg.other.Thing"),
                       tagged("all", "settings.shared = true;"))
                for i in range(1, 4)]

    first = generate_project(project, devices=devices("s"), inputs=[], thymis_url=standins.thymis_url)
    again = generate_project(project, devices=devices("s"), inputs=[], thymis_url=standins.thymis_url)
    assert again.changed is False and again.commit == first.commit and again.files_changed == []
    assert head_commit(project) == first.commit

    untouched = {p: (project / p).stat().st_mtime_ns for p in (f"hosts/dev1/{MOD}.nix", "flake.nix", "flake.lock")}
    changed = generate_project(project, devices=devices("xl"), inputs=[], thymis_url=standins.thymis_url)
    assert {p: (project / p).stat().st_mtime_ns for p in untouched} == untouched  # not rewritten
    assert changed.changed and changed.commit != first.commit
    assert changed.files_changed == [f"hosts/dev2/{MOD}.nix"]
    assert changed_paths(project, first.commit, changed.commit) == {f"hosts/dev2/{MOD}.nix"}
    assert changed.message.startswith("device dev2 changed")

    # Removing a device and a module deletes their files and says so.
    fewer = devices("xl")[:2]
    fewer[1].files = [f for f in fewer[1].files if f.module_type == MOD]
    removed = generate_project(project, devices=fewer, inputs=[], thymis_url=standins.thymis_url)
    assert "device dev3 removed" in removed.message and "device dev2 changed" in removed.message
    assert not (project / "hosts" / "dev3").exists()
    assert not (project / "hosts/dev2/testpkg.other.Thing.nix").exists()
    assert "dev3" not in (project / "flake.nix").read_text()
    assert subprocess.run(["git", "-C", str(project), "status", "--porcelain"], capture_output=True,
                          text=True).stdout == ""


def test_preview_shows_files_and_diff(tmp_path, standins):
    project = tmp_path / "project"
    before = [device("dev1", own('settings.size = lib.mkOverride 80 "s";'), tagged("t", "settings.t = 1;"))]
    first = generate_project(project, devices=before, inputs=[], thymis_url=standins.thymis_url)
    after = [device("dev1", own('settings.size = lib.mkOverride 80 "xl";'), tagged("t", "settings.t = 1;"))]
    preview = preview_device(project, render_project(after, [], standins.thymis_url), "dev1", against=first.commit)
    assert set(preview.files) == {"flake.nix", f"hosts/dev1/{MOD}.nix", f"tags/t/{MOD}.nix"}
    assert f"--- a/hosts/dev1/{MOD}.nix" in preview.diff
    assert '-settings.size = lib.mkOverride 80 "s";' in preview.diff
    assert '+settings.size = lib.mkOverride 80 "xl";' in preview.diff
    assert "tags/t/" not in preview.diff
    unchanged = preview_device(project, render_project(before, [], standins.thymis_url), "dev1",
                               against=first.commit)
    assert unchanged.diff == ""


def test_module_using_an_external_input_builds(tmp_path, standins, ext_repo):
    project = tmp_path / "project"
    body = ("imports = [ inputs.ext.nixosModules.greeter ];\n"
            "settings.fromInput = inputs.ext.value;\n"
            "settings.greetingFile = inputs.ext.packages.${pkgs.system}.greeting;\n"
            'greeter.greeting = lib.mkOverride 80 "hello from the device";')
    result = generate_project(project, devices=[device("dev1", own(body, "ext_modules.greeter.Greeter"))],
                              inputs=[FlakeInput("ext", ext_repo)], thymis_url=standins.thymis_url)
    lock = json.loads((project / "flake.lock").read_text())
    assert lock["nodes"][lock["nodes"]["root"]["inputs"]["ext"]]["locked"]["rev"] == ext_repo.rsplit("=", 1)[1]
    config = toplevel_config(build(project, result.commit, "dev1").store_path)
    assert config["settings"]["fromInput"] == "from-ext"
    assert config["greeter"] == {"enabled": True, "greeting": "hello from the device"}
    assert open(config["settings"]["greetingFile"]).read().strip() == "from-ext"


def test_thymis_override_from_an_external_flake_is_what_the_lock_resolves(tmp_path, standins, ext_with_thymis,
                                                                          ext_repo):
    project = tmp_path / "project"
    inputs = [FlakeInput("forked", ext_with_thymis, has_thymis_input=True), FlakeInput("ext", ext_repo)]
    result = generate_project(project, devices=[device("dev1", own("settings.a = 1;"))], inputs=inputs,
                              thymis_url=standins.thymis_url)
    assert 'thymis.follows = "forked/thymis";' in (project / "flake.nix").read_text()
    lock = json.loads((project / "flake.lock").read_text())
    root = lock["nodes"][lock["root"]]["inputs"]
    assert root["thymis"] == ["forked", "thymis"]
    assert root["nixpkgs"] == ["forked", "thymis", "nixpkgs"]
    forked_thymis = lock["nodes"][lock["nodes"][root["forked"]]["inputs"]["thymis"]]
    assert "thymis-fork" in forked_thymis["locked"]["url"]
    config = toplevel_config(build(project, result.commit, "dev1").store_path)
    assert config["thymis"]["base"] == "thymis-fork"


def test_thymis_input_replaced_by_a_repository_named_thymis(tmp_path, standins, thymis_fork):
    project = tmp_path / "project"
    result = generate_project(project, devices=[device("dev1", own("settings.a = 1;"))],
                              inputs=[FlakeInput("thymis", thymis_fork)], thymis_url=standins.thymis_url)
    text = (project / "flake.nix").read_text()
    assert f'thymis.url = "{thymis_fork}";' in text and standins.thymis_url not in text
    assert toplevel_config(build(project, result.commit, "dev1").store_path)["thymis"]["base"] == "thymis-fork"


def test_two_thymis_overrides_are_an_error_until_one_is_chosen(tmp_path, standins):
    inputs = [FlakeInput("one", "git+file:///x/one", has_thymis_input=True),
              FlakeInput("two", "git+file:///x/two", has_thymis_input=True)]
    with pytest.raises(ThymisOverrideConflict) as error:
        render_project([device("dev1")], inputs, standins.thymis_url)
    assert "'one'" in str(error.value) and "'two'" in str(error.value)
    assert error.value.candidates == ["one", "two"]
    chosen = render_project([device("dev1")], inputs, standins.thymis_url, thymis_from="two")
    assert 'thymis.follows = "two/thymis";' in chosen.files["flake.nix"]


def test_names_and_strings_are_quoted(tmp_path, standins):
    tricky = 'git+file:///x/a"b${builtins.abort "no"}\\c?rev=1'
    rendered = render_project([device("dev-1", own("settings.a = 1;"))],
                              [FlakeInput("my-repo", tricky, follows={"nixpkgs": "nixpkgs"})], standins.thymis_url)
    flake = tmp_path / "flake.nix"
    flake.write_text(rendered.files["flake.nix"])
    value = subprocess.run(["nix-instantiate", "--eval", "--json", "--strict", "-E",
                            f"let f = import {flake}; in "
                            "[ f.inputs.my-repo.url f.inputs.my-repo.inputs.nixpkgs.follows ]"],
                           check=True, capture_output=True, text=True).stdout
    assert json.loads(value) == [tricky, "nixpkgs"]
    for bad in ('dev"1', "../etc", "a b", "let", ""):
        with pytest.raises(GenerationError):
            render_project([device(bad)], [], standins.thymis_url)
    with pytest.raises(GenerationError):
        render_project([device("d", own("x = 1;", "../../evil"))], [], standins.thymis_url)
    with pytest.raises(GenerationError):
        render_project([device("d")], [FlakeInput("nixpkgs", "git+file:///x")], standins.thymis_url)
    with pytest.raises(GenerationError, match="differs between devices"):
        render_project([device("a", tagged("t", "x = 1;")), device("b", tagged("t", "x = 2;"))], [],
                       standins.thymis_url)


def test_build_errors_point_at_the_module(tmp_path, standins):
    project = tmp_path / "project"
    broken = [device("dev1", own("settings.a = lib.mkOverride 80 undefinedThing;", "testpkg.broken.Broken"))]
    result = generate_project(project, devices=broken, inputs=[], thymis_url=standins.thymis_url)
    with pytest.raises(BuildError) as error:
        build(project, result.commit, "dev1")
    message = str(error.value)
    assert "undefined variable 'undefinedThing'" in message
    assert "module testpkg.broken.Broken on device dev1 (hosts/dev1/testpkg.broken.Broken.nix, line 4)" in message
    assert [(loc.kind, loc.owner, loc.module_type) for loc in error.value.locations] == \
        [("device", "dev1", "testpkg.broken.Broken")]
    assert error.value.log

    conflict = [device("dev1", own('settings.color = lib.mkOverride 90 "red";'),
                       tagged("t1", 'settings.color = lib.mkOverride 90 "blue";'))]
    result = generate_project(project, devices=conflict, inputs=[], thymis_url=standins.thymis_url)
    with pytest.raises(BuildError) as error:
        build(project, result.commit, "dev1")
    assert error.value.option == "settings.color"
    assert {(loc.kind, loc.owner) for loc in error.value.locations} == {("device", "dev1"), ("tag", "t1")}
    assert "module testpkg.settings.Values on tag t1" in str(error.value)

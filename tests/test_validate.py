"""validate_checkout on real repository trees: every step, every reason."""

import os

import pytest

from pipeline.packages import sandbox_third_party
from pipeline.validate import validate_checkout
from tests.support import repo_trees
from tests.support.nix import needs_nix


def states(report):
    return {s.step: s.state for s in report.steps}


def detail(report, step):
    return report.step(step).detail


@needs_nix
def test_valid_repository_passes_every_step(tmp_path):
    seen = []
    report = validate_checkout(repo_trees.valid_repo(tmp_path / "repo"),
                               on_step=lambda s: seen.append((s.step, s.state)))
    assert [s.step for s in report.steps] == ["marker", "flake", "signature", "modules", "unique"]
    assert states(report) == {"marker": "passed", "flake": "passed", "signature": "skipped", "modules": "passed",
                              "unique": "passed"}
    assert report.ok and report.packages == ["demo_modules"]
    assert [m["type"] for m in report.modules] == ["demo_modules.modules.Greeter", "demo_modules.modules.Users"]
    assert report.flake == {"description": "Test modules", "inputs": ["nixpkgs", "thymis"], "has_thymis_input": True}
    assert seen == [
        ("marker", "running"), ("marker", "passed"), ("flake", "running"), ("flake", "passed"),
        ("signature", "skipped"), ("modules", "running"), ("modules", "passed"), ("unique", "running"),
        ("unique", "passed"),
    ]
    assert report.to_dict()["ok"] is True


@needs_nix
def test_old_api_repository_passes(tmp_path):
    report = validate_checkout(repo_trees.old_api_repo(tmp_path / "repo"))
    assert report.ok and len(report.modules) == 2 and {m["api"] for m in report.modules} == {"2024"}


@needs_nix
def test_repository_without_python_packages(tmp_path):
    report = validate_checkout(repo_trees.make_repo(tmp_path / "repo"))
    assert report.ok
    assert detail(report, "modules") == "no Python modules"
    assert detail(report, "unique") == "no Python packages to check"


# --- marker ---------------------------------------------------------------------

@needs_nix
def test_no_readme(tmp_path):
    report = validate_checkout(repo_trees.make_repo(tmp_path / "repo", readme=None))
    assert states(report)["marker"] == "failed" and detail(report, "marker") == "no README.md at the repository root"
    assert states(report)["flake"] == "passed"  # static checks still run
    assert not report.ok


@needs_nix
def test_readme_without_marker(tmp_path):
    repo = repo_trees.valid_repo(tmp_path / "repo")
    (repo / "README.md").write_text("Contains Thymis Modules, but not in the exact spelling.\n")
    report = validate_checkout(repo)
    assert detail(report, "marker") == 'README.md does not contain the text "contains thymis modules"'
    assert states(report) == {"marker": "failed", "flake": "passed", "signature": "skipped", "modules": "skipped",
                              "unique": "passed"}
    assert detail(report, "modules") == "skipped: the marker step failed"
    assert report.modules == []


@needs_nix
def test_readme_symlinked_out_of_the_tree(tmp_path):
    outside = tmp_path / "outside.md"
    outside.write_text("contains thymis modules\n")
    repo = repo_trees.valid_repo(tmp_path / "repo")
    (repo / "README.md").unlink()
    (repo / "README.md").symlink_to(outside)
    report = validate_checkout(repo)
    assert states(report)["marker"] == "failed"
    assert detail(report, "marker").startswith("README.md is a symlink")


@needs_nix
def test_readme_is_read_only_up_to_a_limit(tmp_path):
    repo = repo_trees.make_repo(tmp_path / "repo", readme="x" * (2 * 1024 * 1024) + "contains thymis modules\n")
    assert "in its first 1 MiB" in detail(validate_checkout(repo), "marker")


# --- flake ----------------------------------------------------------------------

@needs_nix
def test_no_flake(tmp_path):
    repo = repo_trees.make_repo(tmp_path / "noflake", flake=None, files={"some_pkg/__init__.py": ""})
    report = validate_checkout(repo)
    assert detail(report, "flake") == "no flake.nix at the repository root"
    assert detail(report, "modules") == "skipped: the flake step failed"


@needs_nix
def test_flake_syntax_error_reports_line_and_column(tmp_path):
    flake = '{\n  description = "x";\n  outputs = { self }: {\n    broken = ;\n  };\n}\n'
    report = validate_checkout(repo_trees.make_repo(tmp_path / "repo", flake=flake))
    text = detail(report, "flake")
    assert states(report)["flake"] == "failed"
    assert text.startswith("flake.nix:4:14: syntax error, unexpected ';'")
    assert "4|     broken = ;\n |              ^" in text  # Nix's excerpt, caret under the column
    assert str(tmp_path) not in text


@needs_nix
def test_flake_that_is_not_an_attribute_set(tmp_path):
    report = validate_checkout(repo_trees.make_repo(tmp_path / "repo", flake="{ pkgs }: { }\n"))
    assert detail(report, "flake") == "flake.nix is not an attribute set"


@needs_nix
def test_flake_without_outputs(tmp_path):
    report = validate_checkout(repo_trees.make_repo(tmp_path / "repo", flake='{ description = "no outputs"; }\n'))
    assert detail(report, "flake") == "flake.nix has no outputs function"
    report = validate_checkout(repo_trees.make_repo(tmp_path / "r2", flake="{ outputs = 5; }\n"))
    assert detail(report, "flake").startswith("flake.nix has no outputs function")


@needs_nix
def test_flake_cannot_read_files_outside_the_checkout(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    flake = f'{{ description = builtins.readFile {secret}; outputs = {{ self }}: {{ }}; }}\n'
    report = validate_checkout(repo_trees.make_repo(tmp_path / "repo", flake=flake))
    assert states(report)["flake"] == "failed"
    assert "forbidden in restricted mode" in detail(report, "flake")
    assert "top secret" not in detail(report, "flake")


def test_flake_is_skipped_without_nix(tmp_path):
    report = validate_checkout(repo_trees.valid_repo(tmp_path / "repo"),
                               nix_instantiate="nix-instantiate-not-installed")
    assert states(report)["flake"] == "skipped"
    assert detail(report, "flake") == "nix-instantiate-not-installed is not installed, so flake.nix was not checked"
    assert states(report)["modules"] == "passed" and report.ok


# --- modules --------------------------------------------------------------------

@pytest.mark.parametrize(
    "body, expected",
    [
        ("import os\n\nraise RuntimeError('boom')\n", "bad_pkg/modules.py, line 3"),
        ("while True:\n    pass\n", "timed out after 2 s"),
        ("import os\nos._exit(3)\n", "sandbox exited with code 3"),
        ("hog = []\nwhile True:\n    hog.append(bytearray(8 * 1024 * 1024))\n", "memory limit 256 MiB"),
        ("print('surprise')\n", "module printed to stdout: 'surprise'"),
    ],
    ids=["raises", "loops", "exits", "allocates", "prints"],
)
def test_misbehaving_modules_fail_the_step(tmp_path, body, expected):
    repo = repo_trees.single_module_repo(tmp_path / "repo", "bad_pkg", body)
    report = validate_checkout(repo, sandbox_timeout=2, sandbox_memory_mb=256, nix_instantiate="nix-instantiate-absent")
    assert states(report)["modules"] == "failed"
    assert expected in detail(report, "modules")
    assert states(report)["unique"] == "passed"
    assert not report.ok


def test_package_without_modules_is_a_warning(tmp_path):
    repo = repo_trees.single_module_repo(tmp_path / "repo", "empty_pkg", "VALUE = 1\n")
    report = validate_checkout(repo, nix_instantiate="nix-instantiate-absent")
    assert states(report)["modules"] == "warning"
    assert detail(report, "modules") == "no modules found in package `empty_pkg`"
    assert report.ok


# --- unique ---------------------------------------------------------------------

def test_package_named_like_a_stdlib_module(tmp_path):
    repo = repo_trees.single_module_repo(tmp_path / "repo", "json", "X = 1\n")
    report = validate_checkout(repo, nix_instantiate="nix-instantiate-absent")
    assert detail(report, "unique") == "package `json` clashes with the Python standard-library module `json`"
    assert states(report)["modules"] == "skipped" and "`json`" in detail(report, "modules")


def test_two_repositories_with_the_same_package(tmp_path):
    first = repo_trees.valid_repo(tmp_path / "first", package="shared_pkg")
    second = repo_trees.valid_repo(tmp_path / "second", package="shared_pkg")
    one = validate_checkout(first, nix_instantiate="nix-instantiate-absent")
    assert one.ok
    two = validate_checkout(second, taken_packages={p: "First Repo" for p in one.packages},
                            nix_instantiate="nix-instantiate-absent")
    assert detail(two, "unique") == "package `shared_pkg` is already provided by repository `First Repo`"
    assert states(two)["modules"] == "passed"  # each sandbox only sees its own checkout
    assert not two.ok


def test_package_named_like_the_sdk(tmp_path):
    repo = repo_trees.single_module_repo(tmp_path / "repo", "thymis_controller", "X = 1\n")
    report = validate_checkout(repo, nix_instantiate="nix-instantiate-absent")
    assert detail(report, "unique") == ("package `thymis_controller` clashes with the controller's module SDK "
                                        "`thymis_controller`")


@pytest.mark.parametrize("name", ["models", "deploy", "jobs", "auth", "views", "pipeline", "flask", "peewee"])
def test_controller_packages_do_not_clash(tmp_path, name):
    """Repository code never shares an interpreter with the web application, so its names are free to use."""
    repo = repo_trees.single_module_repo(tmp_path / "repo", name, "X = 1\n")
    report = validate_checkout(repo, nix_instantiate="nix-instantiate-absent")
    assert states(report)["unique"] == "passed", detail(report, "unique")
    assert detail(report, "unique") == f"package names are unique: `{name}`"


@pytest.mark.parametrize(("name", "reason"), [
    ("json", "clashes with the Python standard-library module `json`"),
    ("sys", "clashes with the Python standard-library module `sys`"),
    ("pydantic", "clashes with the sandbox's third-party package `pydantic`"),
    ("jinja2", "clashes with the sandbox's third-party package `jinja2`"),
    ("markupsafe", "clashes with the sandbox's third-party package `markupsafe`"),
    ("pydantic_core", "clashes with the sandbox's third-party package `pydantic_core`"),
])
def test_what_the_sandbox_provides_clashes(tmp_path, name, reason):
    repo = repo_trees.single_module_repo(tmp_path / "repo", name, "X = 1\n")
    report = validate_checkout(repo, nix_instantiate="nix-instantiate-absent")
    assert detail(report, "unique") == f"package `{name}` {reason}"
    assert not report.ok


def test_every_package_of_the_sandbox_environment_is_refused():
    """The names come from sandbox/requirements.txt, the file the sandbox's environment is installed from."""
    from pathlib import Path
    requirements = Path(__file__).resolve().parent.parent / "sandbox" / "requirements.txt"
    pinned = [line.split("==")[0].lower().replace("-", "_") for line in requirements.read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    assert "pydantic" in pinned and "jinja2" in pinned
    assert set(pinned) <= sandbox_third_party()


def test_sandbox_requirements_file_names_are_read(tmp_path):
    (tmp_path / "requirements.txt").write_text(
        "# pinned\npydantic==2.10.4 --hash=sha256:00\nPyYAML>=6 ; python_version>'3'\nsome-Thing[extra]==1\n")
    names = sandbox_third_party(tmp_path)
    assert {"pydantic", "yaml", "some_thing", "jinja2"} <= names
    assert "models" not in names


def test_hidden_tests_and_symlinked_directories_are_not_packages(tmp_path):
    repo = repo_trees.make_repo(
        tmp_path / "repo",
        files={".hidden/__init__.py": "", "tests/__init__.py": "", "real_pkg/__init__.py": "",
               "not-a-name/__init__.py": ""},
    )
    os.symlink(repo / "real_pkg", repo / "linked_pkg")
    report = validate_checkout(repo, nix_instantiate="nix-instantiate-absent")
    assert report.packages == ["real_pkg"]
    assert "`not-a-name` is not a valid Python package name" in detail(report, "unique")


@needs_nix
def test_repository_package_named_like_a_controller_package_loads_in_the_sandbox(tmp_path):
    """`models` is this application's own package; in the sandbox the repository's `models` is the one imported."""
    report = validate_checkout(repo_trees.valid_repo(tmp_path / "repo", package="models"))
    assert report.ok, [(s.step, s.detail) for s in report.steps]
    assert [m["type"] for m in report.modules] == ["models.modules.Greeter", "models.modules.Users"]

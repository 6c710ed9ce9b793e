"""Settings defaults that matter for safety."""
from settings import default_thymis_flake_url


def test_own_flake_of_a_checkout_is_referenced_through_git(tmp_path):
    # git+file takes tracked files only: a path: URL would copy ./data (database, keys) into the Nix store.
    (tmp_path / "flake.nix").write_text("{ outputs = { self }: { }; }\n")
    assert default_thymis_flake_url(tmp_path) == f"path:{tmp_path}"
    (tmp_path / ".git").mkdir()
    assert default_thymis_flake_url(tmp_path) == f"git+file://{tmp_path}"
    (tmp_path / "flake.nix").unlink()
    assert default_thymis_flake_url(tmp_path) == ""

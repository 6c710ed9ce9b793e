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


def test_secret_files_are_never_seen_half_written(tmp_path):
    """Workers starting at once agree on one complete secret."""
    import multiprocessing

    from settings import read_or_create_secret
    results = []
    for trial in range(30):
        path = tmp_path / f"secret-{trial}"
        with multiprocessing.get_context("fork").Pool(4) as pool:
            values = pool.map(read_or_create_secret, [path] * 4)
        results.append(values)
        assert len(set(values)) == 1 and values[0] == path.read_text().strip() and len(values[0]) > 20
        assert path.stat().st_mode & 0o777 == 0o600
    assert len({values[0] for values in results}) == 30


def test_thymis_flake_root_names_the_thymis_input_as_thymis_does(tmp_path, monkeypatch):
    """Thymis's THYMIS_FLAKE_ROOT: a checkout of the flake that provides the device module, used as git+file."""
    from settings import load_settings
    monkeypatch.delenv("THYMIS_FLAKE_URL", raising=False)
    (tmp_path / "checkout").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "checkout")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("THYMIS_FLAKE_ROOT", "link")
    assert load_settings().thymis_flake_url == f"git+file://{(tmp_path / 'checkout').resolve()}"
    monkeypatch.setenv("THYMIS_FLAKE_URL", "github:example/other")  # the explicit URL wins
    assert load_settings().thymis_flake_url == "github:example/other"
    monkeypatch.delenv("THYMIS_FLAKE_URL")
    monkeypatch.delenv("THYMIS_FLAKE_ROOT")
    assert load_settings().thymis_flake_url == default_thymis_flake_url()


def test_fetch_limits_come_from_the_environment_and_bad_values_are_named(monkeypatch):
    from settings import load_settings
    defaults = load_settings()
    assert (defaults.fetch_max_bytes, defaults.fetch_max_object_bytes, defaults.checkout_max_bytes,
            defaults.fetch_stall_seconds) == (512 << 20, 64 << 20, 256 << 20, 30.0)
    monkeypatch.setenv("THYMIS_FETCH_MAX_BYTES", "1048576")
    monkeypatch.setenv("THYMIS_FETCH_STALL_SECONDS", "2.5")
    assert (load_settings().fetch_max_bytes, load_settings().fetch_stall_seconds) == (1 << 20, 2.5)
    monkeypatch.setenv("THYMIS_CHECKOUT_MAX_BYTES", "lots")
    import pytest
    with pytest.raises(ValueError, match="THYMIS_CHECKOUT_MAX_BYTES='lots' is not a whole number"):
        load_settings()

"""Secrets at rest, generated keys checked with OpenSSH's own tools, the schema migration."""
import os
import stat
import subprocess

import pytest


def test_secrets_are_encrypted_with_a_0600_key_file(app):
    from repos import vault
    settings = app.config["THYMIS"]
    key_file = settings.project_path / "secret.fernet"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600  # created on first start
    token = vault.encrypt(settings, "s3cret")
    assert "s3cret" not in token and vault.decrypt(settings, token) == "s3cret"
    key_file.unlink()
    vault.ensure_key(settings)  # a different key: the old values cannot be read, and the error says what to do
    with pytest.raises(vault.SecretUnavailable, match="enter the credential again") as caught:
        vault.decrypt(settings, token)
    assert "s3cret" not in str(caught.value)


def test_deploy_keys_are_valid_openssh_keys_with_matching_fingerprints(tmp_path):
    from repos.ssh_keys import generate_ed25519, public_fingerprint, write_private_key
    pair = generate_ed25519("thymis-controller:demo")
    assert "PRIVATE" not in repr(pair)
    key = write_private_key(tmp_path / "key", pair.private_pem)
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    derived = subprocess.run(["ssh-keygen", "-y", "-f", str(key)], capture_output=True, text=True, check=True).stdout
    assert derived.split()[:2] == pair.public_line.split()[:2]
    (tmp_path / "key.pub").write_text(pair.public_line + "\n")
    listed = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(tmp_path / "key.pub")],
                            capture_output=True, text=True, check=True).stdout
    assert listed.split()[1] == public_fingerprint(pair.public_line)


def test_migration_adds_the_access_tables_to_an_existing_database(app):
    from models import database
    from models.migrations import MIGRATIONS, migrate
    with database.connection_context():
        database.execute_sql("DROP TABLE repository_access")
        database.execute_sql("DROP TABLE known_host")
        database.execute_sql("UPDATE schema_version SET version = 2")
        migrate()
        assert {"repository_access", "known_host"} <= set(database.get_tables())
        assert database.execute_sql("SELECT version FROM schema_version").fetchone()[0] == len(MIGRATIONS)

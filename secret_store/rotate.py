"""Key rotation: every stored secret and repository credential re-encrypted under a new Fernet key.

1. the key file gets a new first key (the old ones stay, so every value stays readable meanwhile);
2. every encrypted column is re-encrypted under it, in one transaction;
3. only then are the old keys dropped. A failure in 2 keeps all keys: nothing becomes unreadable, and running
   the command again finishes the job.
"""
from __future__ import annotations

from models import Repository, RepositoryAccess, Secret, database
from repos import vault


def _rows():
    """(what it is, model, row, its encrypted columns) for every row holding an encrypted value."""
    for row in Secret.select():
        yield f"secret {row.name}", Secret, row, ("value",)
    names = {repo.id: repo.name for repo in Repository.select(Repository.id, Repository.name)}
    for row in Repository.select(Repository.id, Repository.name, Repository.webhook_secret).where(
            Repository.webhook_secret.is_null(False)):
        yield f"repository {row.name}", Repository, row, ("webhook_secret",)
    for row in RepositoryAccess.select():
        yield f"repository {names.get(row.repository_id)}", RepositoryAccess, row, ("token", "deploy_private_key")


def rotate_key(settings) -> int:
    """Re-encrypt everything under a new key; returns how many values were re-encrypted."""
    vault.add_primary_key(settings)
    done = 0
    with database.atomic():
        for label, model, row, columns in _rows():
            changed = {}
            for column in columns:
                token = getattr(row, column)
                if token:
                    try:
                        changed[column] = vault.reencrypt(settings, token)
                    except vault.SecretUnavailable as exc:
                        raise vault.SecretUnavailable(f"{label} ({column}): {exc}; the old keys are kept") from None
            if changed:
                model.update(**changed).where(model._meta.primary_key == row._pk).execute()
                done += len(changed)
    vault.drop_old_keys(settings)
    return done

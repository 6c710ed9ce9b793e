"""Repository code in the sandbox cannot read the controller's data folder (session key, database, keys)."""
from tests.conftest import wait_for_job
from tests.support import repo_trees as rb

PEEK = '''
import pathlib
from thymis_controller.modules.modules import Module

DATA = pathlib.Path(DATA_FOLDER)


def _peek():
    seen = []
    for name in ("secret_key", "secret.fernet", "controller.sqlite3"):
        try:
            seen.append(name + "=" + (DATA / name).read_bytes()[:60].hex())
        except OSError as exc:
            seen.append(name + ":" + type(exc).__name__)
    return " ".join(seen)


class Peek(Module):
    display_name = "Peek"
    description = _peek()
'''


def test_module_code_cannot_read_the_data_folder(app, api, git_server):
    data = app.config["THYMIS"].project_path
    secret = (data / "secret_key").read_bytes()[:60].hex()
    source = PEEK.replace("DATA_FOLDER", repr(str(data)))
    name = git_server.new_name("peek")
    git_server.make_repo(name, {"README.md": rb.MARKER_README, "flake.nix": "{ outputs = { self }: { }; }\n",
                                "peek_pkg/__init__.py": "", "peek_pkg/peek.py": source})
    created = api.post("/api/repositories", json={"url": git_server.url(name), "display_name": "Peek"})
    assert wait_for_job(api, created.get_json()["job_id"])["state"] == "succeeded"
    description = next(m for m in api.get("/api/modules").get_json()
                       if m["type"] == "peek_pkg.peek.Peek")["description"]
    assert secret not in description
    assert description == ("secret_key:FileNotFoundError secret.fernet:FileNotFoundError "
                           "controller.sqlite3:FileNotFoundError")

"""Self-healing (issue 14, item 5): a mirror whose pack or index is damaged is moved aside and fetched afresh
(once, the reason in the job's log); a checkout that went missing is exported again from the mirror, or the
repository is marked failed with that reason and the build fails with it (never silently left out)."""
import html
import shutil

import pytest

from tests.conftest import wait_for_job
from tests.support import repo_trees as rb
from tests.test_external_modules import serve, tree

GREETER = "heal_modules.modules.Greeter"


@pytest.fixture
def app_config(standins):
    return {"thymis_flake_url": standins.thymis_url}


@pytest.fixture
def healthy(api, git_server, tmp_path, app):
    name, upstream = serve(git_server, tree(rb.valid_repo, tmp_path, package="heal_modules"))
    created = api.post("/api/repositories", json={"url": git_server.url(name), "display_name": "Heal", "name": "heal"})
    assert wait_for_job(api, created.get_json()["job_id"])["state"] == "succeeded"
    settings = app.config["THYMIS"]
    return upstream, settings.mirror_path("heal"), settings.checkout_root("heal")


@pytest.mark.parametrize("damaged", ["pack", "idx"])
def test_a_damaged_mirror_is_moved_aside_and_fetched_afresh(api, healthy, damaged):
    upstream, mirror, _ = healthy
    for path in (mirror / "objects" / "pack").glob(f"*.{damaged}"):
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    commit = upstream.commit({"heal_modules/more.py": "# more\n"}, message="more")
    job = wait_for_job(api, api.post("/api/repositories/heal/refresh").get_json()["job_id"])
    assert job["state"] == "succeeded", job["log"]
    assert "the mirror failed an integrity check" in job["log"] and "moved aside to heal.git.broken" in job["log"]
    repo = api.get("/api/repositories/heal").get_json()
    assert repo["status"] == "ready" and repo["active_commit"] == commit
    assert (mirror.parent / "heal.git.broken").is_dir()
    again = wait_for_job(api, api.post("/api/repositories/heal/refresh").get_json()["job_id"])
    assert again["state"] == "succeeded" and "integrity" not in again["log"]  # healthy now: nothing moved


def _device(api):
    body = {"name": "hd", "display_name": "HD", "modules": [{"type": GREETER, "settings": {"greeting": "hi"}}]}
    assert api.post("/api/devices", json=body).status_code == 201


def test_a_missing_checkout_is_exported_again(api, healthy):
    _, _, checkouts = healthy
    _device(api)
    active = api.get("/api/repositories/heal").get_json()["active_commit"]
    shutil.rmtree(checkouts)
    preview = api.get("/api/devices/hd/preview")
    assert preview.status_code == 200, preview.get_json()
    assert (checkouts / active / "heal_modules" / "modules.py").is_file()
    assert api.get("/api/repositories/heal").get_json()["status"] == "ready"


def test_a_checkout_that_cannot_be_exported_again_fails_the_repository_and_the_build(api, healthy, client):
    _, mirror, checkouts = healthy
    _device(api)
    shutil.rmtree(checkouts)
    shutil.rmtree(mirror)
    preview = api.get("/api/devices/hd/preview")
    assert preview.status_code == 409
    message = preview.get_json()["error"]["message"]
    assert "checkout of the active commit" in message and "could not be exported again" in message
    repo = api.get("/api/repositories/heal").get_json()
    assert repo["status"] == "failed" and "could not be exported again" in repo["last_error"]
    job = wait_for_job(api, api.post("/api/devices/hd/build").get_json()["job_id"])
    assert job["state"] == "failed" and "could not be exported again" in job["error"]
    page = html.unescape(client.get("/repositories").get_data(as_text=True))
    assert "could not be exported again" in page

"""Jobs bound to their own subject (issue 14, items 1 and 3): ids are never reused, deleting a repository or a
device cancels its job, a job whose subject is gone changes nothing, and concurrent refreshes are 202 or a
409 naming the running job, never a 500."""
import threading
import time

from models import Device, Job, Repository, Tag, database
from tests.conftest import wait_for_job
from tests.support import repo_trees as rb
from tests.test_external_modules import serve, tree

SLEEPS_AT_IMPORT = "import time\ntime.sleep(10)\n"


def wait_for_status(api, name: str, status: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = api.get(f"/api/repositories/{name}").get_json()
        if body.get("status") == status:
            return body
        time.sleep(0.1)
    raise AssertionError(f"repository {name} never became {status}: {body}")


def test_deleted_ids_are_never_given_again(app):
    with database.connection_context():
        for model, fields in ((Repository, {"display_name": "R", "url": "https://example.org/r.git"}),
                              (Device, {"display_name": "D"}), (Tag, {"display_name": "T"})):
            first = model.create(name="x", **fields)
            model.delete().where(model.id == first.id).execute()
            assert model.create(name="x", **fields).id > first.id, model.__name__
        job = Job.create(kind="fetch", state="succeeded")
        Job.delete().where(Job.id == job.id).execute()
        assert Job.create(kind="fetch", state="succeeded").id > job.id


def _add(api, url, display_name, name):
    response = api.post("/api/repositories", json={"url": url, "display_name": display_name, "name": name})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_deleted_repositorys_job_never_takes_over_a_new_one(api, git_server, tmp_path):
    """Issue 14, item 1, as reported: `old` sleeps 10 s at import; delete it while it validates, add
    `brandnew` (and, again, one under the old name): each shows its own commit, never the deleted one's."""
    old_name, old_repo = serve(git_server, tree(rb.single_module_repo, tmp_path, package="old_sleepy",
                                                body=SLEEPS_AT_IMPORT))
    new_name, new_repo = serve(git_server, tree(rb.valid_repo, tmp_path, package="brandnew_modules"))
    same_name, same_repo = serve(git_server, tree(rb.valid_repo, tmp_path, package="again_modules"))
    new_commit, same_commit = new_repo.rev("refs/heads/main"), same_repo.rev("refs/heads/main")
    for added_as, url, commit in (("brandnew", git_server.url(new_name), new_commit),
                                  ("old", git_server.url(same_name), same_commit)):
        created = _add(api, git_server.url(old_name), "Old", "old")
        wait_for_status(api, "old", "validating")
        with database.connection_context():
            old_id = Repository.get(Repository.name == "old").id
        assert api.delete("/api/repositories/old").status_code == 204
        old_job = api.get(f"/api/jobs/{created['job_id']}").get_json()
        assert old_job["state"] == "cancelled" and "removed" in old_job["error"]
        added = _add(api, url, "Brand new", added_as)
        with database.connection_context():
            assert Repository.get(Repository.name == added_as).id > old_id
        assert wait_for_job(api, added["job_id"])["state"] == "succeeded"
        time.sleep(11)  # past the moment the deleted repository's import would have finished
        body = api.get(f"/api/repositories/{added_as}").get_json()
        assert body["status"] == "ready" and body["active_commit"] == commit == body["fetched_commit"], body
        assert body["last_error"] is None
        package = "brandnew_modules" if added_as == "brandnew" else "again_modules"
        assert body["modules"]
        assert {m["type"].split(".")[0] for m in api.get("/api/modules").get_json()
                if m["source"] == added_as} == {package}
        assert api.get(f"/api/jobs/{created['job_id']}").get_json()["state"] == "cancelled"
        assert api.delete(f"/api/repositories/{added_as}").status_code == 204
    assert old_repo.rev("refs/heads/main") not in (new_commit, same_commit)


def test_deleting_a_device_cancels_its_job_and_the_record_ends_failed(app, api):
    release, recorded = threading.Event(), threading.Event()

    def slow_build(ctx):
        from deploy.jobs import _record
        _record(ctx, ctx.payload["device"], "build")
        recorded.set()
        while not release.wait(0.1):
            ctx.progress("building", force=True)

    kinds = app.extensions["jobs"].kinds
    kinds._handlers["build"] = slow_build  # a build that waits: nix is not what this test is about
    assert api.post("/api/devices", json={"name": "pd", "display_name": "PD"}).status_code == 201
    job_id = api.post("/api/devices/pd/build").get_json()["job_id"]
    # Running is not enough: the device must be removed after the build recorded itself (else it never does).
    assert recorded.wait(20)
    assert api.get(f"/api/jobs/{job_id}").get_json()["state"] == "running"
    assert api.delete("/api/devices/pd").status_code == 204
    job = wait_for_job(api, job_id, timeout=10)
    release.set()
    assert job["state"] == "cancelled" and "device pd was removed" in job["error"]
    with database.connection_context():
        from models import Deployment
        record = Deployment.get(Deployment.job == job_id)
    assert record.state == "failed" and "removed" in record.error


def test_concurrent_refreshes_are_accepted_or_409_naming_the_job(api, git_server, tmp_path):
    """Issue 14, item 3: 8 threads refreshing one repository: only 202 and 409, each 409 naming a job."""
    name, _ = serve(git_server, tree(rb.valid_repo, tmp_path, package="raced_modules"))
    created = _add(api, git_server.url(name), "Raced", "raced")
    wait_for_job(api, created["job_id"])
    answers: list[tuple[int, dict]] = []
    lock = threading.Lock()
    stop = time.monotonic() + 8

    def hammer():
        client = api.client.application.test_client(use_cookies=False)
        while time.monotonic() < stop:
            response = client.post("/api/repositories/raced/refresh", headers=api.headers)
            with lock:
                answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = {status for status, _ in answers}
    assert statuses <= {202, 409}, [a for a in answers if a[0] not in (202, 409)][:3]
    assert 202 in statuses and 409 in statuses
    for status, body in answers:
        if status == 409:
            assert "(job " in body["error"]["message"], body
    deadline = time.monotonic() + 60
    while api.get("/api/repositories/raced").get_json()["job_id"] and time.monotonic() < deadline:
        time.sleep(0.1)
    body = api.get("/api/repositories/raced").get_json()
    assert body["status"] == "ready" and body["job_id"] is None, body

"""Lost updates (issue 14, item 2): concurrent edits of different fields both land, and a repository edit
during a fetch never undoes the fetch job's result (nor the job the edit)."""
import threading

from tests.conftest import wait_for_job
from tests.support import repo_trees as rb
from tests.test_external_modules import serve, tree


def _client(api):
    client = api.client.application.test_client(use_cookies=False)
    return lambda method, path, **kw: getattr(client, method)(path, headers=api.headers, **kw)


def _together(*calls):
    """Run the calls at the same moment in threads; their responses, in order."""
    barrier = threading.Barrier(len(calls))
    answers = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        answers[index] = call()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_two_concurrent_device_edits_of_different_fields_both_land(api):
    assert api.post("/api/devices", json={"name": "pd", "display_name": "PD"}).status_code == 201
    one, two = _client(api), _client(api)
    for number in range(25):
        name, target = f"PD {number}", f"ssh://root@host{number}.example.org"
        answers = _together(lambda n=name: one("patch", "/api/devices/pd", json={"display_name": n}),
                            lambda t=target: two("patch", "/api/devices/pd", json={"target": t}))
        assert [a.status_code for a in answers] == [200, 200], [a.get_json() for a in answers]
        body = api.get("/api/devices/pd").get_json()
        assert (body["display_name"], body["target"]) == (name, target), f"round {number}: {body}"


def test_two_concurrent_tag_edits_of_different_fields_both_land(api):
    assert api.post("/api/tags", json={"name": "pt", "display_name": "PT"}).status_code == 201
    one, two = _client(api), _client(api)
    for number in range(10):
        answers = _together(lambda n=number: one("patch", "/api/tags/pt", json={"display_name": f"PT {n}"}),
                            lambda n=number: two("patch", "/api/tags/pt", json={"priority": 100 + n}))
        assert [a.status_code for a in answers] == [200, 200]
        body = api.get("/api/tags/pt").get_json()
        assert (body["display_name"], body["priority"]) == (f"PT {number}", 100 + number)


def test_a_repository_edit_during_a_fetch_keeps_the_fetch_result(api, git_server, tmp_path):
    name, upstream = serve(git_server, tree(rb.valid_repo, tmp_path, package="edited_modules"))
    created = api.post("/api/repositories", json={"url": git_server.url(name), "display_name": "E", "name": "ed"})
    assert wait_for_job(api, created.get_json()["job_id"])["state"] == "succeeded"
    edit = _client(api)
    for number in range(8):
        commit = upstream.commit({"edited_modules/extra.py": f"# round {number}\n"}, message=f"round {number}")
        job_id = api.post("/api/repositories/ed/refresh").get_json()["job_id"]
        edits = 0
        while api.get(f"/api/jobs/{job_id}").get_json()["state"] in ("queued", "running"):
            # Edits back to back while the job runs: one of them straddles the moment the job activates.
            answer = edit("patch", "/api/repositories/ed", json={"display_name": f"Edited {number} {edits}"})
            assert answer.status_code == 200, answer.get_json()
            edits += 1
        last = edit("patch", "/api/repositories/ed", json={"display_name": f"Edited {number}"})
        assert last.status_code == 200 and wait_for_job(api, job_id)["state"] == "succeeded"
        body = api.get("/api/repositories/ed").get_json()
        assert body["status"] == "ready" and body["active_commit"] == commit, f"round {number}: {body}"
        assert body["display_name"] == f"Edited {number}" and body["job_id"] is None and edits > 0

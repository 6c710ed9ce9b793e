"""GET /api/jobs (filters, pages with a Link header), retry, and the jobs page (Flask test client)."""
from models import Job, JobState, database
from tests.conftest import wait_for_job
from tests.support.gitserver import closed_port_url
from views.ui import log_blocks


def _failed_fetch(api, name: str) -> dict:
    body = api.post("/api/repositories", json={"display_name": name, "url": closed_port_url(name)}).get_json()
    return wait_for_job(api, body["job_id"])


def test_jobs_are_listed_newest_first_in_pages_with_a_link_to_the_next(api):
    ids = [_failed_fetch(api, f"list-{i}")["id"] for i in range(3)]
    first = api.get("/api/jobs?per_page=2")
    assert first.status_code == 200 and [j["id"] for j in first.get_json()] == ids[::-1][:2]
    assert first.headers["Link"] == '</api/jobs?page=2&per_page=2>; rel="next"'
    second = api.get("/api/jobs?page=2&per_page=2")
    assert [j["id"] for j in second.get_json()] == ids[:1] and "Link" not in second.headers
    assert "log" not in first.get_json()[0]


def test_jobs_are_filtered_by_kind_state_and_subject(api):
    one, two = _failed_fetch(api, "filter-one"), _failed_fetch(api, "filter-two")
    assert [j["id"] for j in api.get("/api/jobs?subject=filter-one").get_json()] == [one["id"]]
    assert {j["id"] for j in api.get("/api/jobs?kind=fetch&state=failed").get_json()} == {one["id"], two["id"]}
    assert api.get("/api/jobs?kind=build").get_json() == []
    assert api.get("/api/jobs?state=succeeded").get_json() == []
    filtered = api.get("/api/jobs?kind=fetch&per_page=1")
    assert filtered.headers["Link"] == '</api/jobs?kind=fetch&page=2&per_page=1>; rel="next"'


def test_bad_list_parameters_are_422_naming_the_field(api):
    for query, field in (("state=sleeping", "state"), ("page=0", "page"), ("per_page=1000", "per_page"),
                         ("page=x", "page")):
        response = api.get(f"/api/jobs?{query}")
        assert response.status_code == 422 and response.get_json()["error"]["field"] == field, query


def test_retry_starts_the_same_kind_for_the_same_subject(api):
    failed = _failed_fetch(api, "again")
    response = api.post(f"/api/jobs/{failed['id']}/retry")
    assert response.status_code == 202
    retried = wait_for_job(api, response.get_json()["job_id"])
    assert retried["id"] != failed["id"] and (retried["kind"], retried["subject"]) == ("fetch", "again")
    assert api.post("/api/jobs/999999/retry").status_code == 404


def test_retry_of_a_job_still_running_is_a_conflict(api, app):
    with database.connection_context():
        job = Job.create(kind="build", subject="nowhere", state=JobState.RUNNING)
    response = api.post(f"/api/jobs/{job.id}/retry")
    assert response.status_code == 409 and "still running" in response.get_json()["error"]["message"]


def test_the_jobs_page_filters_and_retries_without_javascript(client, api):
    failed = _failed_fetch(api, "paged")
    page = client.get("/jobs?state=failed").get_data(as_text=True)
    assert f'id="job-row-{failed["id"]}"' in page and '<option value="failed" selected>' in page
    assert "No jobs match these filters." in client.get("/jobs?state=succeeded").get_data(as_text=True)
    assert "state must be one of" in client.get("/jobs?state=zzz", follow_redirects=True).get_data(as_text=True)
    retried = client.post(f"/jobs/{failed['id']}/retry", data={"csrf_token": client.csrf})
    assert retried.status_code == 302 and retried.headers["Location"].startswith("/jobs/")
    assert retried.headers["Location"] != f"/jobs/{failed['id']}"


def test_runs_of_nix_progress_lines_are_collapsed():
    log = "nix build .#x\n" + "".join(f"hello> line {i}\n" for i in range(5)) + "built /nix/store/abc-x\n"
    blocks = log_blocks(log)
    assert [(b["collapsed"], len(b["lines"])) for b in blocks] == [(False, 1), (True, 5), (False, 1)]
    assert [b["collapsed"] for b in log_blocks("a> 1\nb> 2\nok")] == [False, False]  # a short run stays open

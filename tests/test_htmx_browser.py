"""In Chromium: a repository row shows its job's progress bar, which polls the job; when the job ends the row
reloads."""
from tests.support.browser import log_in


def test_the_row_shows_the_job_progress_and_reloads_when_the_job_ends(controller, page, stuck_server):
    from playwright.sync_api import expect
    base, password = controller
    log_in(page, base, password)
    page.goto(base + "/repositories")
    page.fill("#field-url", stuck_server.url("slow"))  # accepts the connection, never answers
    page.fill("#field-display_name", "Slow")
    polls = []
    page.on("request", lambda request: polls.append(request.url) if "/progress" in request.url else None)
    page.get_by_role("button", name="Add Repository").click()
    row = page.locator("#repo-slow")
    expect(row.locator(".job-progress progress")).to_be_visible()
    expect(row.locator(".job-state")).to_have_text("running", timeout=30_000)
    page.wait_for_timeout(2_500)
    assert any("/jobs/" in url for url in polls), polls  # the bar polls the job, not the row
    stuck_server.close()  # the pending connection is reset: the fetch fails and the job ends
    expect(row.locator(".status")).to_have_text("failed", timeout=60_000)  # the row reloaded itself
    expect(row.locator(".job-progress")).to_have_count(0)
    expect(row.get_by_role("button", name="Refresh")).to_be_enabled()
    count = len(polls)
    page.wait_for_timeout(2_500)
    assert len(polls) == count, polls[count:]  # polling stopped

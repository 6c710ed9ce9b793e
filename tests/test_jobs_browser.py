"""In Chromium: the top bar's jobs indicator (polls only while a job runs), the jobs page, a job's wrapped log."""
from tests.support.browser import log_in


def test_the_indicator_follows_a_running_job_and_is_silent_when_idle(controller, page, stuck_server):
    from playwright.sync_api import expect
    base, password = controller
    log_in(page, base, password)
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/jobs/indicator" in r.url else None)
    indicator = page.locator("#jobs-indicator")
    expect(indicator).to_have_text("Jobs")
    page.wait_for_timeout(2_500)
    assert asked == []  # nothing runs: no polling
    page.fill("#field-url", stuck_server.url("slow"))
    page.fill("#field-display_name", "Slow")
    page.get_by_role("button", name="Add Repository").click()
    expect(indicator.locator(".count")).to_have_text("1")
    expect(indicator.locator(".latest")).to_have_text("fetch running", timeout=30_000)
    stuck_server.close()
    expect(indicator.locator(".latest")).to_have_text("fetch failed", timeout=60_000)
    expect(indicator.locator(".count")).to_have_count(0)
    count = len(asked)
    page.wait_for_timeout(3_000)
    assert len(asked) == count  # idle again: polling stopped

    indicator.click()
    expect(page.get_by_role("heading", name="Jobs")).to_be_visible()
    page.select_option("select[name=state]", "failed")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(base + "/jobs?kind=&state=failed&subject=")
    row = page.locator("table.jobs tbody tr").first
    expect(row).to_contain_text("fetch")
    row.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="Job 1: fetch slow")).to_be_visible()
    # Loaded again at 390 px, as the layout test does: measured straight after a resize, a loaded machine's
    # Chromium could still report the 1280 px layout.
    page.set_viewport_size({"width": 390, "height": 800})
    page.reload()
    expect(page.get_by_role("heading", name="Job 1: fetch slow")).to_be_visible()
    assert page.evaluate("window.innerWidth") == 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("button", name="Retry").click()
    expect(page.get_by_role("heading", name="Job 2: fetch slow")).to_be_visible()
    expect(page.locator(".flash")).to_have_text("Retrying job 1 as job 2.")

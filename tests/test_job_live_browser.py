"""In Chromium: a running job's page follows its state and log without a reload, stops asking once the job ended,
and an ended job's page never polls (a real fetch job against a server that does not answer until it is closed)."""
import pytest

from tests.support.browser import log_in


@pytest.mark.parametrize("width,scheme", [(1280, "light"), (390, "dark")])
def test_a_running_jobs_log_updates_live_and_polling_stops(controller, page, stuck_server, width, scheme):
    from playwright.sync_api import expect
    base, password = controller
    page.emulate_media(color_scheme=scheme)
    page.set_viewport_size({"width": width, "height": 900})
    asked = []
    page.on("request", lambda r: asked.append(r.url) if r.url.endswith("/live") else None)
    log_in(page, base, password)
    page.fill("#field-url", stuck_server.url("slow"))
    page.fill("#field-display_name", "Slow")
    page.get_by_role("button", name="Add Repository").click()
    expect(page.locator("#repo-slow")).to_be_visible()
    page.goto(base + "/jobs/1")
    live = page.locator("#job-live")
    expect(live.locator(".job-state")).to_have_text("running", timeout=30_000)
    log = live.locator("#job-log")
    expect(log).to_contain_text(f"fetching the remote's default branch from {stuck_server.url('slow')}")
    expect(live.get_by_role("button", name="Cancel this job")).to_be_visible()
    page.evaluate("window.notReloaded = true")
    page.wait_for_timeout(2_500)
    assert asked, "the page of a running job polls"

    stuck_server.close()  # the fetch fails: its log grows, its state changes
    expect(live.locator(".job-state")).to_have_text("failed", timeout=60_000)
    expect(live.locator("#job-log")).to_contain_text("failed: ")
    expect(live.get_by_role("button", name="Retry")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True  # swapped in place, not reloaded
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    count = len(asked)
    page.wait_for_timeout(4_500)
    assert len(asked) == count  # ended: no more polling

    page.reload()  # an ended job's page does not poll at all
    expect(live.locator(".job-state")).to_have_text("failed")
    page.wait_for_timeout(3_000)
    assert len(asked) == count

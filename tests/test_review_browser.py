"""In Chromium, the review flow through the pages: a new commit awaits review, its page shows the commits, the
diff and the devices using the changed module; Approve makes it active; a later commit is Rejected and not
offered again; the audit log shows all of it. The real controller under gunicorn, the real git server."""
from tests.support import repo_trees as rb
from tests.support.browser import log_in

GREETER = "demo_modules.modules.Greeter"


def _refresh(page, row):
    """Refresh the repository and wait for its fetch to end (its last-checked time changes)."""
    from playwright.sync_api import expect
    before = row.locator("time").inner_text()
    row.get_by_role("button", name="Refresh").click()
    expect(row.locator("time")).not_to_have_text(before, timeout=60_000)
    expect(row.get_by_role("button", name="Refresh")).to_be_enabled(timeout=60_000)


def test_review_approve_reject_and_the_audit_log(controller, page, git_server, tmp_path):
    from playwright.sync_api import expect
    root = rb.valid_repo(tmp_path / "tree")
    files = {str(p.relative_to(root)): p.read_text() for p in root.rglob("*") if p.is_file()}
    server = git_server.make_repo("reviewed", files)
    base, password = controller
    log_in(page, base, password)
    page.fill("#field-url", git_server.url("reviewed"))
    page.fill("#field-display_name", "Reviewed")
    page.get_by_role("button", name="Add Repository").click()
    row = page.locator("#repo-reviewed")
    expect(row.locator(".status")).to_have_text("ready", timeout=60_000)
    first = server.rev("refs/heads/main")

    page.goto(base + "/devices")  # a device that uses the module the next commit changes
    page.fill("#field-display_name", "Kiosk")
    page.fill("#field-name", "kiosk")
    page.get_by_role("button", name="Create device").click()
    page.select_option("#add-module", label="Greeter")
    page.get_by_role("button", name="Add module").click()
    expect(page.locator("#modules section.module")).to_have_count(1)

    page.goto(base + "/repositories/reviewed/edit")
    page.select_option("#field-review", "required")
    page.get_by_role("button", name="Save").click()
    expect(row.locator(".status")).to_have_text("ready", timeout=60_000)  # the active commit stays

    enable = 'nix_attr_name="demo.enable")\n'
    changed = files["demo_modules/modules.py"].replace(enable, enable + (
        '    volume = Setting(display_name="Volume", type="int", default=3, order=50, nix_attr_name="demo.volume")\n'))
    second = server.commit({"demo_modules/modules.py": changed}, "Greeter: a volume setting")
    _refresh(page, row)
    expect(row.locator(".status")).to_have_text("awaiting_review")
    row.get_by_role("link", name="Review").click()
    expect(page.get_by_role("heading", name="Review Reviewed")).to_be_visible()
    expect(page.locator(f"#commit-{second[:12]}")).to_contain_text("Greeter: a volume setting")
    expect(page.locator(".file-change summary")).to_contain_text(["demo_modules/modules.py — modified (python)"])
    expect(page.locator("pre.diff .diff-add").filter(has_text="volume = Setting")).to_have_count(1)
    expect(page.locator(".module-changes")).to_contain_text(f"Settings of {GREETER}: added volume")
    expect(page.locator("#affected-devices li")).to_have_text([f"Kiosk kiosk: {GREETER} (changes)"])
    page.get_by_role("button", name="Approve").click()
    expect(row.locator(".status")).to_have_text("ready")
    expect(row.locator(".commit")).to_contain_text(f"active {second[:7]}")

    third = server.commit({"README.md": files["README.md"] + "\nA third change.\n"}, "Third change")
    _refresh(page, row)
    expect(row.locator(".status")).to_have_text("awaiting_review")
    row.get_by_role("link", name="Review").click()
    expect(page.locator(f"#commit-{third[:12]}")).to_contain_text("Third change")
    page.get_by_role("button", name="Reject").click()
    expect(row.locator(".status")).to_have_text("ready")
    _refresh(page, row)  # the rejected commit is not offered again
    expect(row.locator(".status")).to_have_text("ready")
    expect(row.get_by_role("link", name="Review")).to_have_count(0)
    expect(row.locator(".commit")).to_contain_text(f"active {second[:7]}")

    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    entries = page.locator("table.audit tbody tr")
    expect(entries.locator("td:nth-child(2)")).to_have_text(["rejection", "activation", "approval", "activation"])
    expect(entries.nth(0)).to_contain_text(third[:12])
    expect(entries.nth(1)).to_contain_text("how: approved")
    expect(entries.nth(1)).to_contain_text("session")
    expect(entries.nth(3)).to_contain_text("how: auto")
    expect(entries.nth(3)).to_contain_text(first[:12])
    page.select_option("#filter-kind", "rejection")  # htmx reloads the list only
    expect(entries).to_have_count(1)
    expect(entries.nth(0)).to_contain_text("rejection")

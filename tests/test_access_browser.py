"""A person in headless Chromium sets up an SSH deploy key for a private repository served by a real sshd."""
import re

from tests.support.browser import log_in


def test_generate_a_deploy_key_test_the_connection_and_fetch(controller, page, git_server, sshd):
    from playwright.sync_api import expect
    base, password = controller
    repo = git_server.make_repo("browser-ssh", {"README.md": "This repository contains thymis modules.\n",
                                                "flake.nix": '{ outputs = { self }: { }; }\n'})
    commit = repo.rev("refs/heads/main")

    log_in(page, base, password)
    page.fill("#field-url", sshd.url(git_server.root / "browser-ssh.git"))
    page.fill("#field-display_name", "SSH Demo")
    page.get_by_role("button", name="Add Repository").click()
    row = page.locator("#repo-ssh-demo")
    expect(row.locator(".status")).to_have_text("failed", timeout=60_000)  # no access configured yet

    row.get_by_role("link", name="Edit").click()
    page.get_by_label("SSH deploy key").check()
    deploy_key = page.locator("#deploy-key")
    expect(deploy_key).to_contain_text("no deploy key yet")
    deploy_key.get_by_role("button", name="Generate deploy key").click()
    public_key = page.locator("#deploy-public-key")
    expect(public_key).to_have_value(re.compile(r"^ssh-ed25519 \S+ thymis-controller:ssh-demo$"))
    expect(deploy_key).to_contain_text("read-only deploy key")

    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    deploy_key.get_by_role("button", name="Copy").click()
    expect(deploy_key.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == public_key.input_value()

    result = page.locator("#connection-result")
    page.get_by_role("button", name="Test connection").click()
    expect(result).to_contain_text("authentication failed")
    sshd.authorize(public_key.input_value())
    page.get_by_role("button", name="Test connection").click()
    expect(result).to_contain_text(f"Connected: refs/heads/main is at {commit[:12]}")
    expect(page.locator("#host-keys")).to_contain_text(sshd.fingerprint)  # recorded by the first fetch

    page.get_by_role("button", name="Save").click()
    row = page.locator("#repo-ssh-demo")
    expect(row.locator(".status")).to_have_text(re.compile("fetched|ready"), timeout=60_000)
    expect(row.locator(".commit")).to_contain_text(commit[:7])

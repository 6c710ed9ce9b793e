"""/healthz and the Overview say whether the `thymis` flake and its nixpkgs can be fetched (issue 15), from a check
that runs in the background: /healthz never waits for it, and a result is reused until it is stale.

Real nix: the thymis STAND-IN (reachable: its nixpkgs is the local nixpkgs STAND-IN), a flake whose nixpkgs is on
GitHub (this machine is offline), and a server that accepts connections and never answers (a hang).
"""
import socket
import threading
import time

import pytest

from deploy import reachability as module
from tests.conftest import login
from tests.support.git import pinned, work_tree

GITHUB_NIXPKGS = '{ inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable"; outputs = { self, nixpkgs }: { }; }\n'


def healthz(app):
    started = time.monotonic()
    answer = app.test_client().get("/healthz")
    assert answer.status_code == 200
    return answer.get_json()["thymis_flake"], time.monotonic() - started


def settled(app, url, timeout=60):
    module.reachability.wait(url, timeout)
    return healthz(app)[0]


def test_the_stand_in_is_reachable_and_the_result_is_reused(app_factory, standins):
    app = app_factory(thymis_flake_url=standins.thymis_url)
    first, seconds = healthz(app)
    assert first["state"] in ("checking", "reachable") and seconds < 1.0
    found = settled(app, standins.thymis_url)
    assert found["state"] == "reachable" and found["reachable"] is True, found
    assert found["message"].startswith("the thymis flake ") and found["message"].endswith(
        " and its nixpkgs can be fetched")
    again = [healthz(app)[0] for _ in range(20)]
    assert {a["checked_at"] for a in again} == {found["checked_at"]}   # not fetched on every request
    assert not any("Device builds will fail" in w for w in _warnings(app))


def _warnings(app):
    from configs.fleet import warnings
    from models import database
    with database.connection_context():
        return warnings(app.config["THYMIS"].thymis_flake_url)


def test_an_offline_nixpkgs_is_one_sentence_on_healthz_and_the_overview(app_factory, tmp_path, announced):
    folder = tmp_path / "thymis-offline"
    url = pinned(folder, work_tree(folder, {"flake.nix": GITHUB_NIXPKGS}))
    app = app_factory(thymis_flake_url=url)
    found = settled(app, url)
    assert found["state"] == "unreachable" and found["reachable"] is False
    assert found["message"].endswith("or its nixpkgs cannot be reached: could not fetch github:NixOS/nixpkgs: no "
                                     "network; set THYMIS_FLAKE_URL to a local flake or configure a substituter")
    browser = app.test_client()
    assert login(browser, announced[0]).status_code == 302
    page = browser.get("/").get_data(as_text=True)
    assert "Device builds will fail: the thymis flake" in page and "could not fetch" in page


def test_not_configured(app_factory):
    app = app_factory(thymis_flake_url="")
    found, _ = healthz(app)
    assert found == {"state": "not-configured", "reachable": None, "checked_at": None,
                     "message": "no thymis flake is configured: set THYMIS_FLAKE_URL"}


@pytest.fixture
def silent_server():
    """A TCP server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held, stop = [], threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_hanging_fetch_never_makes_healthz_wait(app_factory, silent_server, monkeypatch):
    monkeypatch.setattr(module, "CHECK_TIMEOUT", 3.0)
    url = f"git+http://127.0.0.1:{silent_server}/thymis"
    started = time.monotonic()
    app = app_factory(thymis_flake_url=url)        # starting the controller starts the first check
    timings = [healthz(app)[1] for _ in range(10)]
    assert max(timings) < 1.0, timings
    assert healthz(app)[0]["state"] == "checking"       # the check is still hanging in the background
    found = settled(app, url, timeout=30)
    assert time.monotonic() - started >= 3.0
    assert found["state"] == "unreachable"
    assert "could not be fetched within 3 s (no network?)" in found["message"]

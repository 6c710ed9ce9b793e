"""A device save with and without the evaluation against the thymis flake's option types (issue 15).

The controller's app (create_app) with the thymis STAND-IN (tests/support/nix.py: the real nixpkgs lib), one
device with the core module and a Custom Nix module; each save changes one setting of each (so both are
rendered in the sandbox, parsed, and, when on, evaluated). Prints the median and min of N saves per mode,
the modes interleaved. Run: .venv/bin/python bench/save_check_bench.py [N]
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.git import pinned, work_tree  # noqa: E402  (after the path setup)
from tests.support.nix import NIX_CONFIG, nixpkgs_standin, thymis_standin  # noqa: E402

CORE = "thymis_controller.modules.thymis.ThymisDevice"
CUSTOM = "thymis_controller.modules.custom_nix.CustomNixModule"


def main(rounds: int) -> None:
    os.environ["NIX_CONFIG"] = NIX_CONFIG
    root = Path(tempfile.mkdtemp(prefix="save-check-bench-"))
    nixpkgs = nixpkgs_standin(root / "nixpkgs")
    url = thymis_standin(root / "thymis", pinned(nixpkgs, work_tree(nixpkgs)))
    from app import create_app
    from auth.tokens import create_token
    from deploy.reachability import reachability
    from models import database
    app = create_app({"project_path": root / "data", "thymis_flake_url": url, "start_job_worker": False})
    print("thymis flake:", reachability.wait(url, 120).state)
    with database.connection_context():
        token = create_token("bench")
    client = app.test_client(use_cookies=False)
    headers = {"Authorization": f"Bearer {token}"}
    client.post("/api/devices", headers=headers, json={"name": "pi", "display_name": "Pi", "target": "local"})
    times: dict[bool, list[float]] = {True: [], False: []}
    for i in range(rounds * 2):
        mode = i % 2 == 0
        app.config["THYMIS"].option_check = mode
        code = f'thymis.test.failSwitch = false;\nenvironment.etc.n.text = "{i}";'
        body = {"modules": [{"type": CORE, "settings": {"device_name": f"pi{i}"}},
                            {"type": CUSTOM, "settings": {"nix_code": code}}]}
        started = time.perf_counter()
        answer = client.patch("/api/devices/pi", headers=headers, json=body)
        times[mode].append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.get_json()
    for mode, values in times.items():
        print(f"option check {'on ' if mode else 'off'}: median {statistics.median(values) * 1000:.0f} ms, "
              f"min {min(values) * 1000:.0f} ms over {len(values)} saves")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)

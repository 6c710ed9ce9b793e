"""Shared test helpers and fixtures, loaded by tests/conftest.py through ``pytest_plugins``.

processes   free ports, starting a process and waiting until it answers, terminate-then-kill
git         building git repositories with the git CLI (bare server repositories and work trees)
repo_trees  the contents of test repositories of modules (plain folders)
gitserver   the smart-HTTP git server, git daemon, a port that never answers, a closed port
sshd        one real OpenSSH server on loopback (git over SSH, deploys over SSH)
nix         nix helpers, the real nixpkgs library, the nixpkgs and thymis STAND-INs
deploy      fixtures of the deploy tests (external repositories, activation log, Recorder)
controller  the real controller under gunicorn
browser     headless Chromium through Playwright
openapi_check  every response of the test clients checked against the API document (installed by app_factory)
"""

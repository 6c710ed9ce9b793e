"""Starting nix the same way everywhere, and saying in one sentence why a fetch during a build failed.

``nix(...)`` prefixes every ``nix`` call with ``--extra-experimental-features 'nix-command flakes'``: a stock
Debian or NixOS nix has them off, and the controller must not depend on the operator's nix.conf or
NIX_CONFIG. ``version()`` is what /healthz reports. ``fetch_failure(text)`` turns nix's "unable to download
'<url>': <curl reason>" (repeated once per retry) into "could not fetch github:NixOS/nixpkgs: no network; ...".
"""
from __future__ import annotations

import functools
import re
import subprocess

FEATURES = ("--extra-experimental-features", "nix-command flakes")
FLAKE_HINT = "set THYMIS_FLAKE_URL to a local flake or configure a substituter"

_DOWNLOAD = re.compile(r"unable to download '(?P<url>[^']+)': (?P<reason>[^;\n]+?)(?: \(\d+\))?(?:;|$)", re.MULTILINE)
_GIT_FETCH = re.compile(r"(?:failed to fetch|fetching Git repository) '(?P<url>[^']+)'.*?(?P<reason>Could not resolve "
                        r"host|Connection refused|Network is unreachable|timed out)", re.DOTALL | re.IGNORECASE)
_REASONS = [
    (re.compile(r"resolve host|Could not resolve", re.IGNORECASE), "no network"),
    (re.compile(r"Network is unreachable|No route to host", re.IGNORECASE), "no network"),
    (re.compile(r"Couldn't connect|Connection refused|Failed to connect", re.IGNORECASE),
     "the server cannot be reached"),
    (re.compile(r"Timeout|timed out", re.IGNORECASE), "the connection timed out"),
    (re.compile(r"HTTP error 404", re.IGNORECASE), "it does not exist (HTTP 404)"),
    (re.compile(r"HTTP error (40[13])", re.IGNORECASE), "access denied"),
]
_GITHUB = [re.compile(r"https://api\.github\.com/repos/([^/]+)/([^/]+)"),
           re.compile(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/(?:archive|tarball)"),
           re.compile(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?$")]


def nix(*args: str) -> list[str]:
    """The argv of a ``nix`` call with the experimental features the controller needs."""
    return ["nix", *FEATURES, *args]


@functools.lru_cache(maxsize=1)
def version() -> str | None:
    """The installed nix's version ("2.8.0"), or None when nix is missing or does not answer."""
    try:
        out = subprocess.run(["nix", "--version"], capture_output=True, text=True, timeout=10,
                             stdin=subprocess.DEVNULL, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"(\d+\.\d+(?:\.\d+)?\S*)", out)
    return match.group(1) if match else None


def _flake_ref(url: str) -> str:
    for pattern in _GITHUB:
        match = pattern.match(url)
        if match:
            return f"github:{match.group(1)}/{match.group(2)}"
    return url


def fetch_failure(text: str) -> str | None:
    """One sentence for a failed download in nix's output, or None if the output names none."""
    match = _DOWNLOAD.search(text) or _GIT_FETCH.search(text)
    if not match:
        return None
    raw = match.group("reason").strip()
    reason = next((plain for pattern, plain in _REASONS if pattern.search(raw)), raw)
    return f"could not fetch {_flake_ref(match.group('url'))}: {reason}; {FLAKE_HINT}"


def is_retry_warning(text: str) -> bool:
    """nix's "unable to download '...': ...; retrying in N ms" warnings (one per attempt)."""
    return "unable to download" in text and "retrying in" in text

"""Slowing down password guessing: after too many failed logins from one address, refuse for a while."""
from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

MAX_FAILURES = 10
WINDOW_SECONDS = 60.0


class LoginThrottle:
    def __init__(self, max_failures: int = MAX_FAILURES, window: float = WINDOW_SECONDS, clock=time.monotonic):
        self.max_failures = max_failures
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str) -> deque:
        failures = self._failures[key]
        while failures and self.clock() - failures[0] > self.window:
            failures.popleft()
        return failures

    def wait_seconds(self, key: str) -> int:
        """0 when a login may be tried, else how long to wait."""
        with self._lock:
            failures = self._recent(key)
            if len(failures) < self.max_failures:
                return 0
            return max(1, int(self.window - (self.clock() - failures[0]) + 0.999))

    def failed(self, key: str) -> None:
        with self._lock:
            self._recent(key).append(self.clock())

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


login_throttle = LoginThrottle()
# Forge webhooks (views/api_hooks.py): refused deliveries from one address; a forge's correct ones never count.
webhook_throttle = LoginThrottle(max_failures=30)

"""JSON request bodies are parsed with a nesting limit: a deeply nested body is invalid input, not a crash."""
from __future__ import annotations

from flask.json.provider import DefaultJSONProvider

MAX_DEPTH = 64


def _too_deep(value, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict):
            current = list(current.values())
        if isinstance(current, list):
            if depth > limit:
                return True
            stack.extend((item, depth + 1) for item in current)
    return False


class SafeJSONProvider(DefaultJSONProvider):
    """Flask's JSON, whose ``loads`` raises ValueError (never RecursionError) for a body nested too deeply."""

    def loads(self, s, **kwargs):
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError(f"the JSON is nested deeper than {MAX_DEPTH} levels") from None
        if _too_deep(value, MAX_DEPTH):
            raise ValueError(f"the JSON is nested deeper than {MAX_DEPTH} levels")
        return value

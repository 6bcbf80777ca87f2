"""JSON for the harness hooks, without importing ``json`` (which imports ``re`` and compiles
its patterns: a large share of a guard call, made before and after every tool call).

The reading and the string escaping are CPython's own C code (``_json``, what ``json``
uses underneath), so the answers are ``json.loads``'s and ``json.dumps``'s (an oracle test
compares them); where ``_json`` is missing (another interpreter), ``json`` itself is used.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

WHITESPACE = " \t\n\r"


class _Context:
    """What ``_json.make_scanner`` reads from ``json.JSONDecoder``: strict, plain types."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    @staticmethod
    def parse_constant(name: str) -> float:
        return float({"NaN": "nan", "Infinity": "inf", "-Infinity": "-inf"}[name])


def loads(text: str) -> Any:
    """``json.loads(text)`` (a ValueError for what is not one JSON document)."""
    try:
        import _json
    except ImportError:
        import json

        return json.loads(text)
    start = len(text) - len(text.lstrip(WHITESPACE))
    try:
        value, end = _json.make_scanner(_Context())(text, start)  # type: ignore[arg-type]  # duck-typed, as json does
    except StopIteration as exc:
        raise ValueError(f"not JSON: expecting a value at character {exc.value}") from None
    except (ValueError, SystemError):
        # the C scanner reports an error through json.decoder (and without it, not at all):
        # the error path can afford json's own message
        import json

        json.loads(text)
        raise ValueError("not JSON") from None
    if text[end:].strip(WHITESPACE):
        raise ValueError(f"not JSON: extra data at character {end}")
    return value


def dumps(value: Any) -> str:
    """``json.dumps(value)`` for the plain data a hook prints (dict, list, str, int, bool, None)."""
    try:
        from _json import encode_basestring_ascii as quote
    except ImportError:
        import json

        return json.dumps(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return str(quote(value))
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, dict):
        return "{" + ", ".join(f"{quote(str(k))}: {dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(dumps(v) for v in value) + "]"
    raise TypeError(f"{type(value).__name__} is not plain hook data")

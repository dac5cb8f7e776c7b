"""Storage limits: what any stored value, name or message may hold, on every tier.

Why: a value the engine accepts must be one every store can write and read back, or one
input stops all work. Before these checks a list nested ~985 deep was accepted, then
``json.loads`` raised ``RecursionError`` in every worker's claim; a lone surrogate
(``"\\ud800"``) passed the type check and failed the UTF-8 write in a loop; a child key of
201 characters or a NUL in a label was fine on SQLite and a ``DataError`` on PostgreSQL.
The limits below are the same on SQLite, PostgreSQL and the simulation, and a violation
is a ``StorageLimitError`` naming the value and the path inside it, raised at the
boundary (submit, step context and outputs, child launches, calculation results).

The limits (documented in ``docs/limits.md``):

- nesting depth of containers at most ``MAX_DEPTH`` (200; ``[[1]]`` has depth 2);
- encoded size (UTF-8 JSON) of one value at most ``MAX_ENCODED_BYTES`` (16 MiB);
- no string anywhere (keys included) with a lone surrogate (not encodable as UTF-8);
- integers of at most ``MAX_INT_DIGITS`` decimal digits (Python's own conversion limit);
- names (labels, child keys) at most ``MAX_NAME_LENGTH`` (200) characters (type strings
  ``MAX_TYPE_LENGTH``, 400), no NUL, no lone surrogate.

Containers are walked generically (mappings, lists, tuples, sets) and without recursion,
so a value nested 100,000 deep is refused in linear time, not with a ``RecursionError``.
Whether a leaf can be stored is asked of one function, ``leaf_problem``: a typed codec
that stores more leaf types plugs in there (``set_leaf_check``).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from reference_engine.core.codec import is_array
from reference_engine.errors import StorageLimitError

MAX_DEPTH = 200
MAX_ENCODED_BYTES = 16 * 1024 * 1024
MAX_NAME_LENGTH = 200
MAX_TYPE_LENGTH = 400
MAX_INT_DIGITS = 4000  # below CPython's int<->str limit (4300), so dumps never refuses

_INT_BITS = int(MAX_INT_DIGITS * 3.3219280948873626)  # digits * log2(10)
_CONTAINERS = (dict, list, tuple, set, frozenset)


def _surrogate_free(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def default_leaf_problem(value: object) -> str | None:
    """Why this leaf cannot be stored, or None. Types are ``values.check_value``'s job."""
    if isinstance(value, str):
        if not _surrogate_free(value):
            return (f"is a string with a lone surrogate ({value!r:.60}), which UTF-8 cannot "
                    "encode; pass valid Unicode text (bytes as base64 or hex)")
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > _INT_BITS:
        return f"is an integer of more than {MAX_INT_DIGITS} digits; store it as a string"
    return None


leaf_problem: Callable[[object], str | None] = default_leaf_problem


def set_leaf_check(check: Callable[[object], str | None]) -> None:
    """Install the "is this leaf storable" rule of a typed codec (one function)."""
    global leaf_problem
    leaf_problem = check


def _render(path: tuple[Any, ...] | None) -> str:
    """``['a'][0]['b']``; a path longer than 8 items keeps its ends, so the message of
    a value nested 200 deep stays one readable line."""
    parts: list[str] = []
    while path is not None:
        path, key = path
        parts.append(f"[{key!r:.40}]")
    parts.reverse()
    if len(parts) > 8:
        parts = [*parts[:4], f"[...{len(parts) - 6} more...]", *parts[-2:]]
    return "".join(parts)


def check_limits(value: object, where: str) -> None:
    """Raise ``StorageLimitError`` naming ``where`` and the path if ``value`` breaks a limit.

    Iterative depth-first walk; paths are linked tuples, rendered only on error.
    """
    stack: list[tuple[object, int, tuple[Any, ...] | None]] = [(value, 0, None)]
    size = 0
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, _CONTAINERS):
            if depth >= MAX_DEPTH:
                raise StorageLimitError(
                    where, _render(path), f"is nested deeper than {MAX_DEPTH} levels",
                    "flatten it (e.g. a list of records instead of nested lists)")
            size += 2
            if isinstance(item, dict):
                for key, child in item.items():
                    problem = leaf_problem(key)
                    if problem is not None:
                        raise StorageLimitError(where, _render(path),
                                                f"has a key that {problem}", "")
                    size += len(key) + 4 if isinstance(key, str) else 24
                    stack.append((child, depth + 1, (path, key)))
            else:
                for index, child in enumerate(item):
                    stack.append((child, depth + 1, (path, index)))
        else:
            problem = leaf_problem(item)
            if problem is not None:
                raise StorageLimitError(where, _render(path), problem, "")
            size += len(item) + 2 if isinstance(item, str) else 24
    # ``size`` is a cheap estimate (characters, not bytes); measure only near the limit.
    if size * 4 > MAX_ENCODED_BYTES:
        encoded = _encoded_size(value)
        if encoded > MAX_ENCODED_BYTES:
            raise StorageLimitError(
                where, "", f"encodes to {encoded} bytes, over the {MAX_ENCODED_BYTES} limit",
                "keep large data in files and store their paths")


def _encoded_size(value: object) -> int:
    from reference_engine.core.values import dumps

    try:
        return len(dumps(value).encode("utf-8"))
    except (TypeError, ValueError):  # not JSON-like: check_value names it next
        return 0


def check_name(name: object, what: str, limit: int = MAX_NAME_LENGTH) -> None:
    """A label, child key or output name: a str of 1..limit characters, no NUL or surrogate.

    Why these limits: PostgreSQL stores labels and keys in ``VARCHAR(200)`` columns and
    rejects NUL in text; SQLite enforces neither, and the same name must work on both.
    """
    if not isinstance(name, str):
        raise StorageLimitError(what, "", f"is a {type(name).__name__} ({name!r:.60})",
                                "use a str")
    if len(name) > limit:
        raise StorageLimitError(what, "", f"is {len(name)} characters long ({name[:40]!r}...),"
                                f" over the limit of {limit}", "use a shorter name")
    if "\x00" in name:
        raise StorageLimitError(what, "", f"{name!r:.80} contains a NUL character",
                                "remove it")
    if not _surrogate_free(name):
        raise StorageLimitError(what, "", f"{name!r:.80} contains a lone surrogate",
                                "use valid Unicode text")


def check_stored(value: object, where: str) -> None:
    """Every check a value passes before it is stored: limits first, then types.

    Limits first: ``values.check_value`` walks recursively and would raise a bare
    ``RecursionError`` on a value nested a thousand deep. Before both, one walk that
    only answers "certainly fine" (``_fine_size``): every transition checks the whole
    context, so this runs thousands of times per scenario, and two generic walks that
    build a path per item cost as much as the rest of the step. Whatever it is not
    sure of (a subclass, a deep or large value, a lone surrogate, a big int, a typed
    codec's own leaf rule) goes through the two checks below, which name the problem.
    """
    from reference_engine.core.values import check_value

    if leaf_problem is default_leaf_problem:
        size = _fine_size(value, 0)
        if size >= 0 and size * 4 <= MAX_ENCODED_BYTES:
            return
    check_limits(value, where)
    check_value(value, where)


_FAST_DEPTH = 64  # deeper values take the checking walks (no deep recursion here)


def _fine_size(value: object, depth: int) -> int:
    """``check_limits``'s size estimate of ``value`` if both it and ``check_value``
    certainly accept it; -1 when unsure. Exact types only, so a container here is what
    both walks see; the estimate is counted as ``check_limits`` counts it."""
    kind = type(value)
    if kind is str:
        return len(value) + 2 if value.isascii() or _surrogate_free(value) else -1  # type: ignore[arg-type]
    if kind is int:
        return 24 if value.bit_length() <= _INT_BITS else -1  # type: ignore[attr-defined]
    if kind is float or kind is bool or value is None or kind in _TYPED_LEAVES:
        return 24
    if depth >= _FAST_DEPTH:
        return -1
    if kind is dict:
        size = 2
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is str:
                if not (key.isascii() or _surrogate_free(key)):
                    return -1
                size += len(key) + 4
            elif _fine_size(key, depth + 1) < 0:  # is_value's walk of a tuple key, etc.
                return -1
            else:
                size += 24
            sub = _fine_size(item, depth + 1)
            if sub < 0:
                return -1
            size += sub
        return size
    if kind is list or kind is tuple or kind is set or kind is frozenset:
        size = 2
        for item in value:  # type: ignore[attr-defined]
            sub = _fine_size(item, depth + 1)
            if sub < 0:
                return -1
            size += sub
        return size
    if kind is _dt.datetime:
        tz = value.tzinfo  # type: ignore[attr-defined]  # a datetime, checked above
        return 24 if tz is None or type(tz) is _dt.timezone else -1
    # A numeric array is one leaf to both walks (``is_storable``; 24 to the estimate).
    # Last, as the rarest kind; without it a context holding an array took both slow
    # walks at every step (most of the slow-path calls of generated scenarios).
    return 24 if is_array(value) else -1


_TYPED_LEAVES = frozenset({bytes, Decimal})


def safe_text(text: str) -> str:
    """A message or traceback made writable everywhere: NUL and lone surrogates escaped.

    Messages quote user exceptions and values; storing them must never fail the write
    that excepts the process (that would re-run the body forever).
    """
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    if _surrogate_free(text):
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


"""Engine-assigned process ids and cache keys in a failure's signature, replaced by names
a rerun keeps.

Why: ``wfconform replay`` must say whether *the same* failure happened again, and an
engine may number its processes differently on every run (UUIDs, a sequence shared
with other users of the database). Compared literally, "step A/s1 ran 2 times in
process 1f0c..." never reproduces. So before two signatures are compared, every engine
id in them becomes a name derived from what the process *is*:

- ``<id:PATH>``: the scenario path the engine reports for the process (the ``path`` of
  its ``process`` line, else of a ``terminal`` or ``heal_wait`` line);
  ``<id:PATH#2>``, ``#3``, ... for further processes at one path (a duplicate launch),
  numbered by first appearance in the run's history, which follows the run's own
  order of events and not how the engine sorts its ids;
- ``<id:#N>``: a process with no known path, numbered by first appearance.

Ids are recognised in the id fields of history lines (``ID_FIELDS``; ``id`` only on
``process`` lines, elsewhere it is an event row number) and, where sentences and free
text (a stuck process's diagnosis) quote them, as whole words: anywhere for an id that
is not a plain number (a UUID cannot be mistaken for a count), and only after a word
that introduces an id (``process 7``, ``children [3, 4]``, ``source 5``) for a plain
number, so "ran 2 times" keeps its 2. A list of names in prose is sorted, so a check
that lists ids in the engine's order still reads the same.

Cache keys (``cache_key``, ``cached_from_key``: the storage key an engine derived for a
result, e.g. Prefect's, which mixes in a per-run namespace) change on every run too, so
they are named the same way, by the result they name:

- ``<key:PATH>``: the path of the first process (in line order) that stored its result
  under the key without being a hit (``PATH#2``, ... for further keys first stored at
  one path);
- ``<key:#N>``: a key no such line shows (only hits of it, e.g. a witness that holds the
  hit alone), numbered by first appearance.

So a rerun whose keys differ only in value reproduces, and one whose keys are shared
differently (a hit of another process's result, two processes under one key that were
under two) does not. In prose a key is named as a whole word wherever it stands when
it looks like a digest (``_HASH_LIKE``: 16 or more hex digits), else only
right after the word ``key``.

Limits: an id quoted in prose after a word not in ``_ID_WORDS`` stays literal (a
plain-number id only), as does a key that is no digest quoted other than after ``key``; two
processes with the same path are told apart by history order, so an engine that starts
them in a different order each run swaps their names (so for keys first stored by them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["ID_FIELDS", "KEY_FIELDS", "IdNames", "json_objects"]

ID_FIELDS = frozenset({"id", "process", "parent", "children", "restart_of", "cached_from",
                       "of_process", "attempt_of"})
"""History fields whose values are engine process ids (``id``: on ``process`` lines only)."""
KEY_FIELDS = frozenset({"cache_key", "cached_from_key"})
"""History fields whose values are cache keys (``process`` lines)."""

_ID_WORDS = (r"process(?:es|\(es\))?|ids?|source|child(?:ren)?|parent|restart_of|hit|from"
             r"|of_process")
_ITEM = r"'?[\w-]+'?"
_SLOT = re.compile(rf"\b(?:{_ID_WORDS})\s+\[?(?:{_ITEM})(?:,\s*{_ITEM})*")
_WORD = re.compile(r"[\w-]+")
_NAME = r"'?<(?:id|key):[^<>]*>'?"
_NAME_LIST = re.compile(rf"{_NAME}(?:, {_NAME})+")
_PATH_KINDS = ("terminal", "op")  # lines that carry a process's path besides ``process``
_HASH_LIKE = re.compile(r"[0-9a-fA-F-]{16,}")
"""A key named wherever it stands as a whole word: a digest (hex, 16 characters or more),
which no ordinary word is; any other key only in its slot (``key 'k'``)."""
_KEY_SLOT = re.compile(r"\bkey\s+(?:'([^']*)'|\"([^\"]*)\"|([\w-]+))")


def _ids_of(line: Mapping[str, Any]) -> list[str]:
    """The engine ids in one line's id fields, in the order its sorted keys give."""
    found: list[str] = []
    for key in sorted(line):
        if key not in ID_FIELDS or (key == "id" and line.get("type") != "process"):
            continue
        value = line[key]
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, (str, int)) and not isinstance(item, bool):
                found.append(str(item))
    return found


class IdNames:
    """The names of one run's engine ids and cache keys (see the module docstring);
    applies them to text."""

    def __init__(self, lines: Iterable[Mapping[str, Any]],
                 key_lines: Iterable[Mapping[str, Any]] | None = None, *,
                 ids: bool = True) -> None:
        """``lines``: the run's history lines in order (or only witness lines), as dicts.

        Cache keys are named from ``key_lines`` when given (``()``: none named), else from
        ``lines``; ``ids=False`` names no ids (for text whose ids are named already)."""
        lines = list(lines)
        self.key_names = _key_names(lines if key_lines is None else key_lines)
        order: dict[str, None] = {}  # first appearance, as an ordered set
        paths: dict[str, str] = {}
        for line in lines if ids else ():
            for process_id in _ids_of(line):
                order.setdefault(process_id, None)
            path, kind = line.get("path"), line.get("type")
            if isinstance(path, str) and kind == "process" and "id" in line:
                paths[str(line["id"])] = path
            elif isinstance(path, str) and kind in _PATH_KINDS and "process" in line:
                paths.setdefault(str(line["process"]), path)
        self.names = _named_by_path("id", order, paths)
        words = sorted((i for i in self.names if not i.isdigit()), key=len, reverse=True)
        self._words = _whole_words(words)
        self._key_words = _whole_words(sorted(
            (k for k in self.key_names if _HASH_LIKE.fullmatch(k)), key=len, reverse=True))

    @classmethod
    def of_texts(cls, texts: Iterable[str]) -> IdNames:
        """From JSON lines (a history file's, or witness lines); other text is skipped."""
        return cls(json_objects(texts))

    def prose(self, text: str) -> str:
        """``text`` with the ids and keys it quotes replaced (module docstring: which are)."""
        # keys first: a key may hold an id (``<uuid>:<hash>``), which would be half named
        if self.key_names:
            text = _KEY_SLOT.sub(self._key_slot, text)
        if self._key_words is not None:
            text = self._key_words.sub(lambda m: self.key_names[m.group(0)], text)
        if self._words is not None:
            text = self._words.sub(lambda m: self.names[m.group(0)], text)
        text = _SLOT.sub(self._slot, text)
        return _NAME_LIST.sub(_sorted_list, text)

    def _key_slot(self, match: re.Match[str]) -> str:
        group = next(g for g in (1, 2, 3) if match.group(g) is not None)
        name = self.key_names.get(match.group(group))
        if name is None:
            return match.group(0)
        start, end = match.span(group)
        return match.string[match.start():start] + name + match.string[end:match.end()]

    def _slot(self, match: re.Match[str]) -> str:
        return _WORD.sub(lambda m: self.names.get(m.group(0), m.group(0))
                         if m.group(0).isdigit() else m.group(0), match.group(0))

    def line(self, text: str) -> str:
        """A witness line (compact JSON with sorted keys) with its ids and keys named; id and
        key fields by field, other strings as prose. Text that is not a JSON object is
        treated as prose."""
        try:
            data = json.loads(text)
        except ValueError:
            return self.prose(text)
        if not isinstance(data, dict):
            return self.prose(text)
        named = {key: self._value(key, value, data.get("type")) for key, value in data.items()}
        return json.dumps(named, sort_keys=True, separators=(",", ":"))

    def _value(self, key: str, value: Any, kind: Any) -> Any:
        if key in KEY_FIELDS and isinstance(value, str):
            return self.key_names.get(value, value)
        if key in ID_FIELDS and (key != "id" or kind == "process"):
            if isinstance(value, list):
                return [self.names.get(str(v), v) for v in value]
            if isinstance(value, (str, int)) and not isinstance(value, bool):
                return self.names.get(str(value), value)
            return value
        return self.prose(value) if isinstance(value, str) else value


def json_objects(texts: Iterable[str]) -> list[dict[str, Any]]:
    """The JSON objects among ``texts`` (history or witness lines), parsed; the rest skipped."""
    found = []
    for text in texts:
        try:
            data = json.loads(text)
        except ValueError:
            continue
        if isinstance(data, dict):
            found.append(data)
    return found


def _key_names(lines: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """The names of the cache keys in ``lines`` (module docstring: ``<key:PATH>``, else
    ``<key:#N>``).

    Keys stand on ``process`` lines, which come in the engine's listing order (by UUID,
    say), not in time order. So a key's writer is, of the processes that stored under
    it, the one whose id appears first in the lines (the time-ordered ones come first,
    as for ids), and keys are taken in their writers' order: a key two processes stored
    under keeps one name across reruns that list them differently."""
    lines = list(lines)
    rank: dict[str, int] = {}
    for line in lines:
        for process_id in _ids_of(line):
            rank.setdefault(process_id, len(rank))
    first: dict[str, int] = {}
    writers: dict[str, tuple[int, str]] = {}
    for position, line in enumerate(lines):
        for field in sorted(KEY_FIELDS):
            if isinstance(line.get(field), str):
                first.setdefault(line[field], position)
        key, path = line.get("cache_key"), line.get("path")
        if (isinstance(key, str) and isinstance(path, str) and line.get("cached_from") is None
                and line.get("cached_from_key") is None):
            order = rank.get(str(line.get("id")), len(rank))
            if key not in writers or order < writers[key][0]:
                writers[key] = (order, path)
    unknown = len(rank)
    keys = sorted(first, key=lambda k: (writers[k][0] if k in writers else unknown, first[k]))
    return _named_by_path("key", keys, {key: path for key, (_, path) in writers.items()})


def _named_by_path(tag: str, order: Iterable[str], paths: Mapping[str, str]) -> dict[str, str]:
    """``<tag:PATH>`` for each of ``order`` by its path (``PATH#2``, ... for later ones of
    one path), ``<tag:#N>`` for those without one, numbered by first appearance."""
    names: dict[str, str] = {}
    seen: dict[str, int] = {}
    anonymous = 0
    for item in order:
        path = paths.get(item)
        if path is None:
            anonymous += 1
            names[item] = f"<{tag}:#{anonymous}>"
            continue
        seen[path] = seen.get(path, 0) + 1
        names[item] = f"<{tag}:{path}#{seen[path]}>" if seen[path] > 1 else f"<{tag}:{path}>"
    return names


def _whole_words(words: list[str]) -> re.Pattern[str] | None:
    """A pattern of ``words`` (longest first) standing as whole words, or None if none."""
    if not words:
        return None
    return re.compile(r"(?<![\w-])(?:" + "|".join(map(re.escape, words)) + r")(?![\w-])")


def _sorted_list(match: re.Match[str]) -> str:
    return ", ".join(sorted(match.group(0).split(", ")))

"""The Prefect adapter's view reads every run, not the server's first page of 200.

Pure logic: ``read_all`` against a stand-in of the client's ``read_task_runs`` that
serves pages as the server does (newest id first, at most ``limit``), including a run
created between two pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.adapters.prefect.observe import PAGE, read_all


@dataclass
class _Run:
    id: str


class _Server:
    """Runs ``r0000``.. newest first; ``arrive_after_first_page`` are made between pages."""

    def __init__(self, count: int, arrive_after_first_page: int = 0) -> None:
        self.runs = [_Run(f"r{i:04d}") for i in range(count)]
        self.arriving = arrive_after_first_page
        self.requests: list[tuple[int, int, dict[str, Any]]] = []

    def read(self, *, limit: int, offset: int, **query: Any) -> list[_Run]:
        self.requests.append((limit, offset, query))
        ordered = sorted(self.runs, key=lambda r: r.id, reverse=True)
        page = ordered[offset:offset + limit]
        if len(self.requests) == 1 and self.arriving:
            self.runs += [_Run(f"s{i:04d}") for i in range(self.arriving)]  # newer ids
        return page


def test_more_runs_than_one_page_are_all_read_each_once() -> None:
    server = _Server(PAGE * 2 + 37)
    runs = read_all(server.read, flow_run_filter="F")
    assert sorted(r.id for r in runs) == sorted(r.id for r in server.runs)
    assert [(limit, offset) for limit, offset, _ in server.requests] == [
        (PAGE, 0), (PAGE, PAGE), (PAGE, 2 * PAGE)]
    assert all(query == {"flow_run_filter": "F"} for _, _, query in server.requests)


def test_a_run_made_between_pages_repeats_one_but_skips_none() -> None:
    server = _Server(PAGE + 5, arrive_after_first_page=3)
    runs = read_all(server.read)
    ids = [r.id for r in runs]
    assert len(ids) == len(set(ids))
    first = {f"r{i:04d}" for i in range(PAGE + 5)}
    assert first <= set(ids)  # every run that existed at the first request


def test_exactly_one_full_page_asks_once_more_and_stops() -> None:
    server = _Server(PAGE)
    assert len(read_all(server.read)) == PAGE
    assert len(server.requests) == 2

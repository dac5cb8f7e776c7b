"""Reads AiiDA's provenance graph back as the harness's `ProcessView`s.

Every process node of the current scenario (pk above the watermark taken at `open`)
becomes one view. Its *path* (the scenario place) comes from the graph, not from node
labels, because AiiDA copies a cache source's label onto the hit: a top-level process
is named by the adapter's launch record, a child by its parent's path plus the
`call_link_label` the WorkChain gave it (see `workchain.encode_link`).

`cached_from` is AiiDA's own record (`_aiida_cached_from` extra, a UUID) turned into
the source's id; `restart_of` is the adapter's record of which handle a relaunch came
from, because AiiDA keeps no link between a process and its restart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiida import orm
from aiida.common.links import LinkType

from harness.adapter import ProcessView
from harness.adapters.aiida.values import from_node, pk
from harness.adapters.aiida.workchain import (
    ScenarioWorkChain,
    decode_link,
    workflow_outputs,
)

__all__ = ["max_pk", "observe_nodes", "process_nodes"]

_VALUE_TYPES = (orm.Bool, orm.Int, orm.Float, orm.Str, orm.List, orm.Dict)
_CALLS = (LinkType.CALL_CALC, LinkType.CALL_WORK)


def max_pk() -> int:
    """The highest node pk so far (0 for an empty database): the next scenario's watermark."""
    query = orm.QueryBuilder().append(orm.Node, project=["id"])
    query.order_by({orm.Node: {"id": "desc"}}).limit(1)
    rows = query.all()
    return int(rows[0][0]) if rows else 0


def process_nodes(watermark: int) -> list[orm.ProcessNode]:
    """Every process node created after `watermark`, oldest first."""
    query = orm.QueryBuilder().append(orm.ProcessNode, filters={"id": {">": watermark}})
    return sorted((row[0] for row in query.all()), key=pk)


def _value(node: Any) -> Any:
    return from_node(node) if isinstance(node, orm.Data) else node


def _outputs(node: orm.ProcessNode) -> dict[str, Any] | None:
    if isinstance(node, orm.WorkflowNode):
        if not node.is_finished:
            return None
        return {name: _value(item) for name, item in workflow_outputs(node).items()}
    outputs = {}
    for link in node.base.links.get_outgoing(link_type=LinkType.CREATE).all():
        if type(link.node) in _VALUE_TYPES or type(link.node) is orm.Data:
            outputs[link.link_label] = from_node(link.node)
    return outputs


def _state(node: orm.ProcessNode) -> str:
    return node.process_state.value if node.process_state is not None else "created"


class _Paths:
    """Path of every node, memoised (children reuse their parent's)."""

    def __init__(self, launches: Mapping[int, str]) -> None:
        self.launches = launches
        self.memo: dict[int, str | None] = {}

    def of(self, node: orm.ProcessNode) -> str | None:
        if pk(node) not in self.memo:
            self.memo[pk(node)] = self._compute(node)
        return self.memo[pk(node)]

    def _compute(self, node: orm.ProcessNode) -> str | None:
        if pk(node) in self.launches:
            return self.launches[pk(node)]
        incoming = node.base.links.get_incoming(link_type=_CALLS).all()
        if not incoming:
            return None
        parent = incoming[0].node
        parent_path = self.of(parent) if isinstance(parent, orm.ProcessNode) else None
        relative = decode_link(incoming[0].link_label)
        if parent_path is None or relative is None:
            return None
        return f"{parent_path}/{relative}"


def _name(node: orm.ProcessNode, path: str | None) -> str:
    if isinstance(node, orm.WorkflowNode) and node.process_label == ScenarioWorkChain.__name__:
        return str(node.inputs.workflow.value)
    if path is not None and ":" in path.rpartition("/")[2]:
        return path.rpartition(":")[2]
    return node.process_label or "?"


def observe_nodes(watermark: int, launches: Mapping[int, str],
                  restarts: Mapping[int, int]) -> tuple[ProcessView, ...]:
    """One `ProcessView` per process node of the scenario (see the module docstring)."""
    paths = _Paths(launches)
    views = []
    for node in process_nodes(watermark):
        path = paths.of(node)
        incoming = node.base.links.get_incoming(link_type=_CALLS).all()
        source = node.base.extras.get("_aiida_cached_from", None)
        views.append(ProcessView(
            id=str(node.pk), path=path,
            kind="workflow" if isinstance(node, orm.WorkflowNode) else "calculation",
            name=_name(node, path), state=_state(node), exit_status=node.exit_status,
            outputs=_outputs(node),
            parent=str(incoming[0].node.pk) if incoming else None,
            children=tuple(str(child.pk) for child in sorted(node.called, key=pk)),
            restart_of=str(restarts[pk(node)]) if pk(node) in restarts else None,
            cached_from=str(orm.load_node(source).pk) if source else None,
        ))
    return tuple(views)

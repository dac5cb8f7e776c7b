"""wfconform's pytest plugin: options to choose the engine and tier under test.

Only hooks and options live here; the heavy machinery is imported lazily by fixtures.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("wfconform", "workflow-engine conformance")
    group.addoption(
        "--engine",
        default="reference",
        help="adapter under test: 'reference', 'aiida' or 'pkg.module:Adapter'",
    )
    group.addoption(
        "--tier",
        default="embedded",
        help="engine tier: 'embedded' (default, no services), 'sim' or 'real'",
    )
    group.addoption("--wfconform-postgres-url", default=None, metavar="URL",
                    help="PostgreSQL for the real tier (default: $WFCONFORM_POSTGRES_URL, "
                         "else a throwaway server); each xdist worker gets a database")
    group.addoption("--wfconform-rabbitmq-url", default=None, metavar="URL",
                    help="RabbitMQ for the real tier (default: $WFCONFORM_RABBITMQ_URL, "
                         "else a throwaway node); each xdist worker gets a vhost")

# ruff: noqa: E501  (verbatim broker log lines)
"""Reading RabbitMQ's consumer timeouts back from its log (pure; no broker, no AiiDA).

The sample lines are verbatim from a throwaway RabbitMQ 3.10.8 node whose consumer held
a delivery past a 2 s `consumer_timeout` (the node logs one warning, then the channel
error as two lines sharing a time and channel process).
"""

from __future__ import annotations

import datetime

from harness.adapters.aiida.services import parse_consumer_timeouts

LOG = """\
2026-12-04 01:13:03.709499+00:00 [info] <0.741.0> connection <0.741.0> (127.0.0.1:56280 -> 127.0.0.1:55765): user 'guest' authenticated and granted access to vhost '/'
2026-12-04 01:13:06.215314+00:00 [warning] <0.751.0> Consumer 1 on channel 1 has timed out waiting for delivery acknowledgement. Timeout used: 2000 ms. This timeout value can be configured, see consumers doc guide to learn more
2026-12-04 01:13:06.215857+00:00 [error] <0.751.0> Channel error on connection <0.741.0> (127.0.0.1:56280 -> 127.0.0.1:55765, vhost: '/', user: 'guest'), channel 1:
2026-12-04 01:13:06.215857+00:00 [error] <0.751.0> operation none caused a channel exception precondition_failed: delivery acknowledgement on channel 1 timed out. Timeout value used: 2000 ms. This timeout value can be configured, see consumers doc guide to learn more
2026-12-04 01:13:07.100000+00:00 [error] <0.760.0> Channel error on connection <0.742.0> (127.0.0.1:56290 -> 127.0.0.1:55765, vhost: '/', user: 'guest'), channel 1:
2026-12-04 01:13:07.100000+00:00 [error] <0.760.0> operation basic.ack caused a channel exception precondition_failed: unknown delivery tag 1
2026-12-04 01:13:08.222844+00:00 [error] <0.763.0> Channel error on connection <0.741.0> (127.0.0.1:56280 -> 127.0.0.1:55765, vhost: '/', user: 'guest'), channel 1:
2026-12-04 01:13:08.222844+00:00 [error] <0.763.0> operation none caused a channel exception precondition_failed: delivery acknowledgement on channel 1 timed out. Timeout value used: 2000 ms. This timeout value can be configured, see consumers doc guide to learn more
"""


def test_each_consumer_timeout_is_found_with_its_time_and_peer_port() -> None:
    found = parse_consumer_timeouts(LOG)
    assert [(port, round(at, 3)) for at, port, _ in found] == [
        (56280, _epoch("2026-12-04 01:13:06.215857+00:00")),
        (56280, _epoch("2026-12-04 01:13:08.222844+00:00")),
    ]
    assert all("delivery acknowledgement on channel 1 timed out" in text for *_, text in found)


def test_other_channel_errors_are_no_consumer_timeouts() -> None:
    other = "\n".join(line for line in LOG.splitlines() if "<0.760.0>" in line)
    assert other and parse_consumer_timeouts(other) == []
    # half a pair (the error line without its reason) says nothing either
    assert parse_consumer_timeouts(LOG.splitlines()[2]) == []


def _epoch(text: str) -> float:
    return round(datetime.datetime.fromisoformat(text).timestamp(), 3)

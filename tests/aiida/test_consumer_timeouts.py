# ruff: noqa: E501  (verbatim broker log lines)
"""Reading RabbitMQ's consumer timeouts back from its log (pure; no broker, no AiiDA).

The sample lines are verbatim from a throwaway RabbitMQ 3.10.8 node whose consumer held
a delivery past a 2 s `consumer_timeout` (the node logs one warning, then the channel
error as two lines sharing a time and channel process).
"""

from __future__ import annotations

import datetime
import itertools
from pathlib import Path

from harness.adapters.aiida.services import ConsumerTimeoutLog, parse_consumer_timeouts

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


def test_the_log_is_read_incrementally_even_when_a_read_ends_inside_a_pair(
        tmp_path: Path) -> None:
    """Pieces that cut a line, and a pair, in two give what one read of it gives; a
    read that finds nothing new reads no old bytes again (the offset moved on)."""
    log = tmp_path / "rabbit@localhost.log"
    data = LOG.encode()
    cuts = [0, 300, data.index(b"operation none") + 7, data.index(b"<0.763.0>") + 3, len(data)]
    reader = ConsumerTimeoutLog()
    seen = []
    for start, end in itertools.pairwise(cuts):
        with log.open("ab") as handle:
            handle.write(data[start:end])
        seen.append(len(reader.read(tmp_path)))
    assert reader.read(tmp_path) == parse_consumer_timeouts(LOG)
    # each timeout counts once both its lines are whole, not before
    assert seen == [0, 0, 1, 2]
    state = next(iter(reader._files.values()))
    assert state.offset == len(data) and state.partial == b""


def test_a_log_that_was_cut_is_read_again_from_its_start(tmp_path: Path) -> None:
    log = tmp_path / "rabbit@localhost.log"
    log.write_text(LOG)
    reader = ConsumerTimeoutLog()
    assert len(reader.read(tmp_path)) == 2
    second_pair = "\n".join(LOG.splitlines()[-2:]) + "\n"
    log.write_text(second_pair)  # rotated: shorter than what was read
    assert [port for _, port, _ in reader.read(tmp_path)] == [56280]


def _epoch(text: str) -> float:
    return round(datetime.datetime.fromisoformat(text).timestamp(), 3)

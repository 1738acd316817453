"""Serve the room server's figures at /metrics in the Prometheus text format.

Everything is read from the hub at scrape time (rooms, participants, caption queues,
HLS folders); what must outlive a room is counted per process where it happens: the
packets the fan-out sends (`rooms.fanout.SENT`), the talkers' decode times
(`rooms.talkers.DECODE_SECONDS`). Each scrape renders a registry of its own, never the
process-global default one, so nothing else in the process leaks into it.

Loss and jitter come from the receivers' RTCP reports. The fan-out writes listener
packets itself, but each listener's aiortc sender stays registered on its transport, so
the listener's receiver reports still reach that sender, which keeps the latest as
`remote-inbound-rtp` in `getStats()`. A talker hears the room through aiortc's own
sender on its talk section, which does the same.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Iterator
from dataclasses import dataclass

from aiohttp import web
from aiortc import RTCRtpSender
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from rooms import hls
from rooms.fanout import SENT
from rooms.hub import HUB, RoomHub
from rooms.peer import Peer
from rooms.store import ENDED, LIVE, SCHEDULED
from rooms.talkers import DECODE_SECONDS, SAMPLE_RATE

ROLES = ("host", "cohost", "speaker", "listener")
RTCP_FRACTION = 256.0  # a receiver report's fraction lost is an 8-bit fixed-point number
YIELD_EVERY = 50  # participants whose stats are read between two chances for the mixer


@dataclass(frozen=True)
class ReceiverReport:
    """The latest RTCP receiver report one participant sent about the audio they hear."""

    fraction_lost: float  # 0..1, over the interval since their previous report
    packets_lost: int  # since they started hearing this stream
    jitter_s: float


async def exposition(request: web.Request) -> web.Response:
    """Return the room server's metrics for a Prometheus scrape (behind the token if set)."""
    hub = request.app[HUB]
    token = hub.config.metrics_token
    if token and not _bearer_matches(request.headers.get("Authorization", ""), token):
        return web.Response(
            status=401,
            text="/metrics needs the header `Authorization: Bearer <token>` with the "
            "token set in SPACES_METRICS_TOKEN; ask the operator for it.\n",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"', "Cache-Control": "no-store"},
        )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RoomsCollector(hub, await receiver_reports(hub)))
    return web.Response(
        body=generate_latest(registry),
        headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"},
    )


def _bearer_matches(header: str, token: str) -> bool:
    """Say whether an Authorization header carries `Bearer <token>` (constant time)."""
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


def _hearing(peer: Peer) -> Iterator[RTCRtpSender]:
    """Yield the senders carrying the room to this participant (at most one in use)."""
    media = peer.media
    if media is None:
        return
    # A listener's first section stops carrying audio once they talk; its last report
    # would only go stale, so it counts only while the fan-out still feeds it.
    if media.listen is not None and media.idle is not None:
        yield media.listen.sender
    if media.talk is not None:
        yield media.talk.sender


async def receiver_reports(hub: RoomHub) -> list[ReceiverReport]:
    """Return the latest receiver report of every participant hearing a live room."""
    senders = [
        s for room in list(hub.live.values()) for p in room.peers.values() for s in _hearing(p)
    ]
    reports: list[ReceiverReport] = []
    for count, sender in enumerate(senders, 1):
        if count % YIELD_EVERY == 0:
            # ~30 µs a participant, all on the loop the mixer ticks on: let it tick.
            await asyncio.sleep(0)
        if sender.transport is None:
            continue
        for stats in (await sender.getStats()).values():
            if getattr(stats, "type", "") == "remote-inbound-rtp":
                reports.append(
                    ReceiverReport(
                        fraction_lost=stats.fractionLost / RTCP_FRACTION,
                        packets_lost=int(stats.packetsLost),
                        # Jitter is in RTP clock units; Opus runs at 48 kHz.
                        jitter_s=stats.jitter / SAMPLE_RATE,
                    )
                )
    return reports


class RoomsCollector:
    """Hand Prometheus the room server's figures, read from the hub at scrape time."""

    def __init__(self, hub: RoomHub, reports: list[ReceiverReport]) -> None:
        self.hub = hub
        self.reports = reports

    def collect(self) -> Iterator[Metric]:
        """Yield every metric family of the room server."""
        yield from self._rooms()
        yield from self._sent()
        yield from self._receivers()
        yield from DECODE_SECONDS.collect()
        yield from self._media()
        yield CounterMetricFamily(
            "spaces_rooms_reconnects",
            "Participants who came back on a new connection with their resume token.",
            value=getattr(self.hub, "reconnects", 0),
        )

    def _rooms(self) -> Iterator[Metric]:
        rooms = GaugeMetricFamily(
            "spaces_rooms_rooms", "Rooms this server knows, by state.", labels=["state"]
        )
        states = [record.state for record in self.hub.store.rooms.values()]
        for state in (SCHEDULED, LIVE, ENDED):
            rooms.add_metric([state], states.count(state))
        yield rooms
        people = GaugeMetricFamily(
            "spaces_rooms_participants",
            "People connected to live rooms, by role.",
            labels=["role"],
        )
        roles = [p.role for room in self.hub.live.values() for p in room.peers.values()]
        for role in ROLES:
            people.add_metric([role], roles.count(role))
        yield people

    def _sent(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "spaces_rooms_listener_packets",
            "Audio packets the fan-out sent to listeners.",
            value=SENT.packets,
        )
        yield CounterMetricFamily(
            "spaces_rooms_listener_bytes",
            "Bytes of RTP (header and payload) the fan-out sent to listeners.",
            value=SENT.octets,
        )
        yield CounterMetricFamily(
            "spaces_rooms_listener_packets_dropped",
            "Listener packets not sent: the socket was full or the listener gone.",
            value=SENT.dropped,
        )

    def _receivers(self) -> Iterator[Metric]:
        reports = self.reports
        yield GaugeMetricFamily(
            "spaces_rooms_receiver_reports",
            "Participants whose receiver reports (loss, jitter) are counted below.",
            value=len(reports),
        )
        yield _mean_max(
            "spaces_rooms_receiver_loss_ratio",
            "Fraction of packets lost per participant, from their latest report.",
            [r.fraction_lost for r in reports],
        )
        yield _mean_max(
            "spaces_rooms_receiver_jitter_seconds",
            "Interarrival jitter per participant, from their latest report.",
            [r.jitter_s for r in reports],
        )
        yield GaugeMetricFamily(
            "spaces_rooms_receiver_packets_lost",
            "Packets the connected participants reported lost since they joined.",
            value=sum(r.packets_lost for r in reports),
        )

    def _media(self) -> Iterator[Metric]:
        backlog_s = GaugeMetricFamily(
            "spaces_rooms_captions_backlog_seconds",
            "Seconds of a room's audio waiting to be captioned.",
            labels=["room"],
        )
        backlog = GaugeMetricFamily(
            "spaces_rooms_captions_backlog_windows",
            "Stretches of a room's audio waiting to be captioned.",
            labels=["room"],
        )
        age = GaugeMetricFamily(
            "spaces_rooms_hls_segment_age_seconds",
            "Seconds since a live room's newest HLS segment was written.",
            labels=["room"],
        )
        now = time.time()
        for room_id, room in list(self.hub.live.items()):
            feed = room.captions
            if feed is not None and feed.enabled:
                backlog_s.add_metric([room_id], max(0.0, feed.queued_s - feed.done_s))
                backlog.add_metric([room_id], max(0, feed.queued - feed.done))
            if room.record.state == LIVE and self.hub.config.hls:
                writer = hls.writer_of(room.mixer.packet_sinks)
                written = writer.last_segment_at() if writer is not None else None
                if written is not None:
                    age.add_metric([room_id], max(0.0, now - written))
        yield from (backlog_s, backlog, age)


def _mean_max(name: str, documentation: str, values: list[float]) -> GaugeMetricFamily:
    """Return a gauge of the mean and the largest of `values` (both 0 when there are none)."""
    family = GaugeMetricFamily(name, documentation, labels=["stat"])
    family.add_metric(["mean"], sum(values) / len(values) if values else 0.0)
    family.add_metric(["max"], max(values, default=0.0))
    return family

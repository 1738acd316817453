"""Send one encoded listener packet to every listener in a single tight loop.

aiortc gives each RTCRtpSender its own task: per packet and per listener it awaits the
track, builds an RtpPacket object, serialises it, awaits the DTLS transport and then
aioice, several coroutine hops that cost far more than the work itself (≈40 µs of the
≈48 µs measured per packet). Here the listener's sender is kept for what it does well
(negotiation, SSRC, RTCP sender reports, stats) but fed by an idle track, and the mixer
pushes each packet to all listeners itself: patch sequence number and timestamp into a
per-listener header template, SRTP-protect with the sender's own session, and hand the
datagram to the nominated ICE pair's socket. No coroutine, no object per packet.

A listener whose socket buffer is full simply misses that packet: real-time audio
prefers a gap to a growing delay. RTP sequence numbers and timestamps continue the
sender's own, so a listener swapped to another source later sees no jump at the swap
itself; the sender then resumes its own numbering (one discontinuity, recovered by
the receiver's jitter buffer).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import struct
from typing import Any

from aiortc import RTCRtpSender
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtp import RtpPacket

from rooms.wire import SendFn, bye, fill_sender_report, open_send, sender_report_template

log = logging.getLogger(__name__)

_SEQ_TS = struct.Struct("!HI")
_NTP_EPOCH = 2208988800  # seconds from 1900 (NTP) to 1970 (Unix)
# A sender report per listener about once a second (RFC 3550's 5 s minimum is for
# large sessions; browsers sync and measure RTT with these), sent from the send loop.
_REPORT_EVERY = 25
MAX_QUEUED = 8  # packets queued for a listener on the slow path: latency over completeness


class SendTotals:
    """Count what every fan-out of this process sent, for /metrics (only ever grows)."""

    __slots__ = ("packets", "octets", "dropped")

    def __init__(self) -> None:
        self.packets = 0
        self.octets = 0  # RTP header and payload, before SRTP's tag and UDP/IP headers
        self.dropped = 0


SENT = SendTotals()


class ListenerTrack(MediaStreamTrack):
    """A listener's outgoing track: the Fanout sends for it once it knows the sender.

    aiortc starts a sender's loop only when its connection is up, and that loop is the
    task calling recv(): the first call identifies the sender (through the running
    task's coroutine), hands it to the Fanout, and from then on recv() simply waits
    until the track stops. Whatever wraps the track (a relay that swaps sources when
    a listener is invited to speak) keeps working. Should the sender not be found, the
    track falls back to queueing packets for aiortc to send, the slow path.
    """

    kind = "audio"

    def __init__(self, fanout: Fanout) -> None:
        super().__init__()
        self.fanout = fanout
        self.attached = False
        self._queue: asyncio.Queue[Any] = asyncio.Queue()

    def push(self, packet: Any) -> None:
        """Queue one packet for the slow path, dropping the oldest if behind."""
        if self._queue.qsize() >= MAX_QUEUED:
            self._queue.get_nowait()
        self._queue.put_nowait(packet)

    async def recv(self) -> Any:
        """Return the next packet (slow path), or wait while the Fanout sends."""
        if self.readyState != "live":
            raise MediaStreamError
        if not self.attached:
            found = _running_sender()
            if found is not None:
                self.attached = True
                self.fanout.attach(self, *found)
                while not self._queue.empty():
                    self._queue.get_nowait()
        packet = await self._queue.get()
        if packet is None:
            raise MediaStreamError
        return packet

    def stop(self) -> None:
        """Stop the track and release the sender waiting in recv()."""
        super().stop()
        self.fanout.remove(self)
        self._queue.put_nowait(None)


IdleTrack = ListenerTrack  # the name rooms.room imports


def _running_sender() -> tuple[RTCRtpSender, dict[str, Any]] | None:
    """Return the RTCRtpSender whose RTP loop is running us, with that loop's locals."""
    task = asyncio.current_task()
    frame = getattr(task.get_coro(), "cr_frame", None) if task else None
    if frame is None:
        return None
    local = frame.f_locals
    sender = local.get("self")
    if not isinstance(sender, RTCRtpSender) or "codec" not in local:
        return None
    return sender, local


class Stream:
    """One listener's RTP state and the cached way to put a datagram on its wire."""

    __slots__ = (
        "sender",
        "header",
        "rtcp",
        "seq",
        "ts0",
        "send",
        "count",
        "octets",
        "report_in",
        "broken",
        "transport",
    )

    def __init__(self, sender: RTCRtpSender, seq: int, ts0: int) -> None:
        self.sender = sender
        self.header = bytearray()
        self.rtcp = bytearray()
        self.seq = seq
        self.ts0 = ts0
        self.send: SendFn | None = None
        self.count = 0
        self.octets = 0
        # Spread the listeners' sender reports evenly over the packets of a second.
        self.report_in = random.randint(1, _REPORT_EVERY)
        self.broken = False
        self.transport: Any = None

    def connect(self, payload_type: int) -> bool:
        """Return True once DTLS is up, caching the header template and the socket."""
        sender = self.sender
        dtls = sender.transport
        if dtls is None or dtls.state != "connected":
            return False
        pair = dtls.transport._connection._nominated.get(1)
        # aiortc's RTCP task must have started before it is cancelled, or the sender's
        # stop() would wait forever for it to finish.
        if pair is None or not sender._RTCRtpSender__rtcp_started.is_set():  # type: ignore[attr-defined]  # name-mangled aiortc private
            return False
        template = RtpPacket(payload_type=payload_type, ssrc=sender._ssrc)
        template.extensions.mid = getattr(sender, "_RTCRtpSender__mid", None)
        extensions = sender._RTCRtpSender__rtp_header_extensions_map  # type: ignore[attr-defined]  # name-mangled aiortc private
        self.header = bytearray(template.serialize(extensions))
        self.rtcp = sender_report_template(sender._ssrc, sender._RTCRtpSender__cname)  # type: ignore[attr-defined]  # name-mangled aiortc private
        transport = pair.protocol.transport
        self.transport = transport
        self.send = open_send(dtls._tx_srtp, transport, pair.remote_addr)
        # From now on the sender reports go out from the send loop, batched: aiortc's
        # task per listener (a timer, packet objects, an awaited send each) cost ~14% of
        # the loop. Its closing BYE is sent by `close` instead.
        sender._send_rtcp = _no_rtcp  # type: ignore[method-assign]  # replace aiortc's RTCP sending
        sender._RTCRtpSender__rtcp_task.cancel()  # type: ignore[attr-defined]  # name-mangled aiortc private
        return True

    def report(self, rtp_timestamp: int, wall: float) -> None:
        """Send a sender report, and keep the sender's stats truthful about what we sent."""
        sender = self.sender
        ntp = int((wall + _NTP_EPOCH) * (1 << 32))
        fill_sender_report(self.rtcp, ntp, rtp_timestamp, self.count, self.octets)
        sender._RTCRtpSender__ntp_timestamp = ntp  # type: ignore[attr-defined]  # name-mangled aiortc private
        sender._RTCRtpSender__rtp_timestamp = rtp_timestamp  # type: ignore[attr-defined]  # name-mangled aiortc private
        sender._RTCRtpSender__packet_count = self.count  # type: ignore[attr-defined]  # name-mangled aiortc private
        sender._RTCRtpSender__octet_count = self.octets  # type: ignore[attr-defined]  # name-mangled aiortc private
        # What aiortc notes to compute the round-trip time from the receiver's reports.
        sender._RTCRtpSender__lsr = (ntp >> 16) & 0xFFFFFFFF  # type: ignore[attr-defined]  # name-mangled aiortc private
        sender._RTCRtpSender__lsr_time = wall  # type: ignore[attr-defined]  # name-mangled aiortc private
        self.send(bytes(self.rtcp), True)  # type: ignore[misc]  # set by connect() before any report

    def close(self) -> None:
        """Tell the listener this stream ends (best effort: the peer may be gone)."""
        if self.send is not None and not self.broken:
            with contextlib.suppress(OSError):
                self.send(bye(self.sender._ssrc), True)


async def _no_rtcp(packets: Any) -> None:
    """Stand in for a sender's RTCP sending once the fan-out does it."""


class Fanout:
    """Own the listener tracks of one room and push each packet to all of them."""

    def __init__(self) -> None:
        self.tracks: set[ListenerTrack] = set()
        self.pending: dict[ListenerTrack, tuple[Stream, int]] = {}
        self.streams: dict[ListenerTrack, Stream] = {}
        self._packets = 0
        self.sent = 0
        self.dropped = 0

    def track(self) -> ListenerTrack:
        """Return a new listener track fed by this fanout."""
        track = ListenerTrack(self)
        self.tracks.add(track)
        return track

    def attach(self, track: ListenerTrack, sender: RTCRtpSender, local: dict[str, Any]) -> None:
        """Send for `sender` from now on, continuing its sequence numbers and timestamps."""
        if track not in self.tracks:
            return
        seq = local.get("sequence_number", random.getrandbits(16))
        ts0 = local.get("timestamp_origin", random.getrandbits(32))
        self.pending[track] = (Stream(sender, seq, ts0), local["codec"].payloadType)

    def remove(self, track: ListenerTrack) -> None:
        """Stop feeding the listener behind `track`."""
        self.tracks.discard(track)
        self.pending.pop(track, None)
        stream = self.streams.pop(track, None)
        if stream is not None:
            stream.close()

    def __len__(self) -> int:
        return len(self.tracks)

    def _promote(self) -> None:
        for track, (stream, payload_type) in list(self.pending.items()):
            if stream.connect(payload_type):
                del self.pending[track]
                self.streams[track] = stream

    def send(self, payload: bytes, packet: Any, pts: int, wall: float) -> None:
        """Send one Opus packet (RTP timestamp offset `pts`) to every connected listener.

        `packet` (the av.Packet) goes to tracks still on aiortc's own sending path.
        """
        if self.pending:
            self._promote()
        if len(self.streams) < len(self.tracks):
            for track in self.tracks:
                if not track.attached:
                    track.push(packet)
        pack_into = _SEQ_TS.pack_into
        size = len(payload)
        sent = dropped = headers = 0
        for stream in self.streams.values():
            header = stream.header
            timestamp = (stream.ts0 + pts) & 0xFFFFFFFF
            pack_into(header, 2, stream.seq, timestamp)
            stream.seq = (stream.seq + 1) & 0xFFFF
            try:
                stream.send(bytes(header) + payload)  # type: ignore[misc]  # connected streams only: send is set
            except (BlockingIOError, InterruptedError):
                dropped += 1
                continue
            except OSError as exc:
                # The peer went away; the room removes it when its connection closes.
                if not stream.broken:
                    log.debug("listener send failed: %s", exc)
                    stream.broken = True
                dropped += 1
                continue
            sent += 1
            headers += len(header)
            stream.count += 1
            stream.octets += size
            stream.report_in -= 1
            if not stream.report_in:
                stream.report_in = _REPORT_EVERY
                # A report lost like a packet: the next one comes in a second.
                with contextlib.suppress(OSError):
                    stream.report(timestamp, wall)
                if stream.transport is not None and stream.transport.is_closing():
                    stream.broken = True  # its socket is closing: stop before the fd is reused
                    self.streams = {t: s for t, s in self.streams.items() if s is not stream}
        self.sent += sent
        self.dropped += dropped
        SENT.packets += sent
        SENT.octets += headers + sent * size
        SENT.dropped += dropped

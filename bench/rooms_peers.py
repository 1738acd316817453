"""The peers of the listener benchmark, each group run in its own process (bench.rooms).

`listeners_main` runs many counting listeners: real ICE and DTLS, then RTP packets are
counted off the socket without decryption or decoding. `speakers_main` runs the
room's eleven talkers and one probe listener that decodes and times the host's pulses.
Both answer commands from the bench over a pipe.
"""

from __future__ import annotations

import asyncio
import json
import time
from multiprocessing.connection import Connection
from typing import Any

import aiohttp
import av
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.rtcicetransport import RTCIceGatherer

from rooms.client import Listener, RoomConnection, create_room, ws_url
from rooms.sources import RATE, LoopTrack, tone
from rooms.talkers import ReceiverTap
from rooms.tokens import issue_token

PULSE_HZ = 2000.0
PACKETS_PER_S = 25  # the server sends listeners 40 ms packets
JOIN_BATCH = 20
JOIN_S = 60.0  # a listener not connected by then is given up on


class CountingListener:
    """A listener that completes the handshake, then only notes when RTP packets arrive."""

    measuring = False  # shared by every listener of the process

    def __init__(self) -> None:
        self.times: list[float] = []
        # No STUN server: on loopback a public-address lookup only costs time.
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.reader: asyncio.Task[None] | None = None
        self.resume = ""  # the server's resume token, for coming back after a drop
        self.first_packet_at: float | None = None

    async def join(
        self, session: aiohttp.ClientSession, url: str, room_id: str, resume: str = ""
    ) -> None:
        """Join as a listener (coming back as `resume` says, if given); count packets."""
        self.ws = await session.ws_connect(ws_url(url, room_id, None))
        await self._expect("hello")
        join: dict[str, Any] = {"type": "join", "role": "listener"}
        if resume:
            join["resume"] = resume
        await self.ws.send_str(json.dumps(join))
        self.resume = (await self._expect("joined")).get("resume", "")
        self.pc.addTransceiver("audio", direction="recvonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        ice = self.pc.getTransceivers()[0].receiver.transport.transport._connection
        forward = ice.data_received
        times = self.times

        def data_received(data: bytes, component: int) -> None:
            # RTP (not RTCP) packets: version 2 and a payload type outside 192-223.
            if len(data) > 12 and 128 <= data[0] < 192 and not 192 <= data[1] <= 223:
                if self.first_packet_at is None:
                    self.first_packet_at = time.monotonic()
                if CountingListener.measuring:
                    times.append(time.monotonic())
                return
            forward(data, component)

        ice.data_received = data_received  # type: ignore[method-assign]  # count RTP before aiortc
        await self.ws.send_str(json.dumps({"type": "offer", "sdp": self.pc.localDescription.sdp}))
        answer = await self._expect("answer")
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        self.reader = asyncio.ensure_future(self._drain())

    async def _expect(self, kind: str) -> dict[str, Any]:
        assert self.ws is not None
        while True:
            msg = await asyncio.wait_for(self.ws.receive(), 30)
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise ConnectionError(f"socket closed while waiting for {kind!r}")
            message: dict[str, Any] = json.loads(msg.data)
            if message["type"] == kind:
                return message
            if message["type"] == "error":
                raise ConnectionError(f"{message['code']}: {message['message']}")

    async def _drain(self) -> None:
        assert self.ws is not None
        async for _msg in self.ws:
            pass  # state updates: read so the socket never backs up

    async def close(self) -> None:
        """Leave and release everything."""
        if self.reader is not None:
            self.reader.cancel()
        if self.ws is not None:
            await self.ws.close()
        await self.pc.close()


async def _measure_with_drops(
    session: aiohttp.ClientSession,
    url: str,
    room_id: str,
    peers: list[CountingListener],
    window: float,
    drops: int,
) -> list[float]:
    """Drop `drops` listeners spread over the window; each comes back with its token.

    A dropped listener's socket and peer connection close as a lost network would end
    them; it rejoins at once with a new WebSocket, a new peer connection and its resume
    token. Returns, per rejoin, the seconds from the drop to its first packet.
    """
    took: list[float] = []
    for i in range(drops):
        await asyncio.sleep(window / (drops + 1))
        index = (i * 7919) % len(peers)  # spread over the audience, not always the first
        old = peers[index]
        dropped = time.monotonic()
        await old.close()
        fresh = CountingListener()
        fresh.times = old.times  # the listener is the same person: one packet count
        try:
            await asyncio.wait_for(fresh.join(session, url, room_id, old.resume), JOIN_S)
        except (TimeoutError, ConnectionError, aiohttp.ClientError):
            await fresh.close()
            continue
        peers[index] = fresh
        while fresh.first_packet_at is None and time.monotonic() - dropped < JOIN_S:
            await asyncio.sleep(0.02)
        if fresh.first_packet_at is not None:
            took.append(fresh.first_packet_at - dropped)
    return took


async def _commands(conn: Connection, handle: Any) -> None:
    loop = asyncio.get_running_loop()
    while True:
        message = await loop.run_in_executor(None, conn.recv)
        if message[0] == "quit":
            return
        try:
            conn.send(await handle(*message))
        except Exception as exc:  # the bench reports it; a child traceback would be lost
            conn.send({"error": repr(exc)})


def listeners_main(url: str, room_id: str, conn: Connection) -> None:
    """Run counting listeners, adding and measuring them on command."""

    async def main() -> None:
        # No cap on connections: aiohttp's default of 100 per session would leave
        # every listener past the hundredth waiting for a WebSocket until it times out.
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        peers: list[CountingListener] = []

        async def handle(kind: str, arg: Any = None) -> dict[str, Any]:
            if kind == "add":
                failed = 0
                for start in range(0, arg, JOIN_BATCH):
                    batch = [CountingListener() for _ in range(min(JOIN_BATCH, arg - start))]
                    joins = (asyncio.wait_for(p.join(session, url, room_id), JOIN_S) for p in batch)
                    results = await asyncio.gather(*joins, return_exceptions=True)
                    for peer, result in zip(batch, results, strict=True):
                        if isinstance(result, BaseException):
                            # Counted as missing, not waited for: a ramp must not hang.
                            failed += 1
                            await peer.close()
                        else:
                            peers.append(peer)
                return {"count": len(peers), "failed": failed}
            window, drops = arg if isinstance(arg, tuple) else (arg, 0)
            for peer in peers:
                peer.times.clear()
            CountingListener.measuring = True
            t0 = time.monotonic()
            rejoins = await _measure_with_drops(session, url, room_id, peers, window, drops)
            await asyncio.sleep(max(0.0, window - (time.monotonic() - t0)))
            CountingListener.measuring = False
            elapsed = time.monotonic() - t0
            gaps = [np.diff(p.times) for p in peers if len(p.times) > 1]
            return {
                "received": sum(len(p.times) for p in peers),
                "expected": len(peers) * elapsed * PACKETS_PER_S,
                # A rejoin's own silence is loss above, not a gap between packets here.
                "gaps": np.concatenate(gaps).tolist() if gaps else [],
                "rejoin_s": rejoins,
            }

        try:
            await _commands(conn, handle)
        finally:
            await asyncio.gather(*(p.close() for p in peers), return_exceptions=True)
            await session.close()

    asyncio.run(main())


class PulseTrack(LoopTrack):
    """A host track: a 100 ms pulse at PULSE_HZ once a second; notes when each starts."""

    def __init__(self) -> None:
        pulse = tone(PULSE_HZ, 1.0, level=0.3)
        pulse[RATE // 10 :] = 0
        super().__init__(pulse)
        self.sent: list[float] = []

    async def recv(self) -> av.AudioFrame:
        """Return the next frame, noting the time when a pulse leaves."""
        starts = self._pos == 0
        frame = await super().recv()
        if starts:
            self.sent.append(time.monotonic())
        return frame


class Probe(Listener):
    """A listener that decodes each packet on arrival and notes when a pulse starts.

    It times packets as they come off the wire, not after aiortc's receive jitter buffer
    (which holds 40 ms packets ~200 ms): the figure is the latency the server and the
    network add, which a browser's adaptive jitter buffer then adds little to.
    """

    arrived: list[float]

    async def _connect(self, *args: Any, **kwargs: Any) -> None:
        self.arrived = []
        self._loud = False
        self._decoder = av.CodecContext.create("libopus", "r")
        self._decoder.format, self._decoder.layout, self._decoder.sample_rate = "s16", "mono", RATE
        await super()._connect(*args, **kwargs)
        tap = ReceiverTap(self.pc.getTransceivers()[0].receiver)
        tap.sink, tap.open = self._packet, True

    def _packet(self, codec: Any, payload: bytes, timestamp: int) -> None:
        now = time.monotonic()
        for frame in self._decoder.decode(av.Packet(payload)):
            data = frame.to_ndarray()[0].astype(float)
            ref = np.exp(-2j * np.pi * PULSE_HZ * np.arange(len(data)) / RATE)
            level = 2 * abs(np.dot(data, ref)) / len(data)
            if level > 3000 and not self._loud:
                self.arrived.append(now)
            self._loud = level > 3000


class Talker(RoomConnection):
    """A talker that drops the room's audio it is sent, undecoded: nobody listens here.

    Eleven aiortc decoder threads would otherwise compete with the talkers' own sending
    in this process and blur the latency the probe measures.
    """

    async def _connect(self, *args: Any, **kwargs: Any) -> None:
        await super()._connect(*args, **kwargs)
        for transceiver in self.pc.getTransceivers():
            ReceiverTap(transceiver.receiver)


def _latencies(sent: list[float], arrived: list[float]) -> list[float]:
    out = []
    for t in arrived:
        before = [s for s in sent if s <= t]
        if before and t - before[-1] < 0.9:
            out.append(t - before[-1])
    return out


def speakers_main(url: str, secret: str, conn: Connection) -> None:
    """Open the room with a pulsing host and ten steady speakers, and time the pulses."""
    RTCIceGatherer.getDefaultIceServers = staticmethod(lambda: [])  # type: ignore[method-assign]  # no STUN on loopback

    async def main() -> None:
        peers: list[RoomConnection] = []
        pulse = PulseTrack()
        probe = Probe(keep_seconds=0)
        turn = [0]  # which speaker drops next

        async def handle(kind: str, arg: Any = None) -> dict[str, Any]:
            if kind == "start":
                token = issue_token(secret, "bench-host", name="Host", grants=["host"])
                room = await create_room(url, token, title="Benchmark")
                host = Talker(keep_seconds=0)
                await host._connect(ws_url(url, room["id"], token), "host", pulse)
                await host.mute(False)  # talkers join muted
                peers.append(host)
                for i in range(10):
                    speak = issue_token(
                        secret, f"s{i}", name=f"S{i}", grants=["speak"], room=room["id"]
                    )
                    speaker = Talker(keep_seconds=0)
                    track = LoopTrack(tone(300.0 + 70 * i, 1.0, level=0.04))
                    await speaker._connect(ws_url(url, room["id"], speak), "speaker", track)
                    if speaker.muted:
                        await speaker.mute(False)
                    peers.append(speaker)
                await probe._connect(ws_url(url, room["id"], None), "listener", None)
                return {"room_id": room["id"]}
            window, drops = arg if isinstance(arg, tuple) else (arg, 0)
            probe.arrived.clear()
            t0 = time.monotonic()
            rejoins = []
            for i in range(drops):
                # A speaker (never the host: its pulses are what the probe times) drops
                # and comes back as a speaker with its resume token.
                await asyncio.sleep(window / (drops + 1))
                started = time.monotonic()
                await peers[1 + (turn[0] + i) % (len(peers) - 1)].reconnect()
                rejoins.append(time.monotonic() - started)
            turn[0] += drops
            await asyncio.sleep(max(0.0, window - (time.monotonic() - t0)))
            lat = _latencies(pulse.sent, probe.arrived)
            return {
                "p95_ms": float(np.percentile(lat, 95) * 1000) if lat else float("nan"),
                "rejoin_s": rejoins,
            }

        try:
            await _commands(conn, handle)
        finally:
            for peer in (probe, *peers):
                await peer.close()

    asyncio.run(main())

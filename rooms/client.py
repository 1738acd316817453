"""A small aiortc client for the room server's WebSocket protocol (tests, benchmarks, demo)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from pathlib import Path
from typing import Any, cast

import aiohttp
import av
import numpy as np
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from rooms.sources import LoopTrack, read_wav, tone

TIMEOUT_S = 10.0


class RoomClientError(Exception):
    """The room server refused or failed a request; `code` is the protocol error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class RoomConnection:
    """One participant's WebSocket and peer connection; collects the audio it receives."""

    def __init__(self, keep_seconds: float = 30.0) -> None:
        self.session: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.pc = RTCPeerConnection()
        self.role = ""
        self.peer_id = ""
        self.room: dict[str, Any] = {}
        self.state: dict[str, Any] = {}
        self.you: dict[str, Any] = {}
        self.messages: list[dict[str, Any]] = []
        self.muted = False
        self.ended = asyncio.Event()
        self.closed = asyncio.Event()
        self.frames: deque[np.ndarray] = deque(maxlen=max(1, int(keep_seconds * 50)))
        self.keep = keep_seconds > 0
        self.frame_times: list[float] = []
        self.frame_count = 0
        # The server's resume token from `joined`, and whether the last join used one.
        self.resume_token = ""
        self.resumed = False
        self.join_s: float | None = None  # from sending `join` to `joined`, last time
        self._replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        # How this connection joined, to join again the same way (see reconnect).
        self._how: tuple[str, str, bool, dict[str, Any]] = ("", "listener", True, {})
        self._send_track: MediaStreamTrack | None = None

    async def _connect(
        self,
        url: str,
        role: str,
        send_track: MediaStreamTrack | None,
        *,
        media: bool = True,
        join: dict[str, Any] | None = None,
    ) -> None:
        self._how = (url, role, media, {k: v for k, v in (join or {}).items() if k != "resume"})
        self._send_track = send_track
        self.session = aiohttp.ClientSession()
        self.ws = await self.session.ws_connect(url, timeout=aiohttp.ClientWSTimeout(ws_close=2))
        self._tasks.append(asyncio.ensure_future(self._read_socket()))
        self.room = (await self._expect("hello"))["room"]
        sent = time.monotonic()
        await self.send({"type": "join", "role": role, **(join or {})})
        joined = await self._expect("joined")
        self.join_s = time.monotonic() - sent
        self.role, self.peer_id = joined["role"], joined["peer_id"]
        self.muted = joined.get("muted", False)
        self.resume_token = joined.get("resume", "")
        self.resumed = joined.get("resumed", False)
        if not media:
            return

        @self.pc.on("track")
        def _track(track: MediaStreamTrack) -> None:
            self._tasks.append(asyncio.ensure_future(self._read_audio(track)))

        if send_track is not None:
            self.pc.addTrack(send_track)
        else:
            self.pc.addTransceiver("audio", direction="recvonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await self.send({"type": "offer", "sdp": self.pc.localDescription.sdp})
        answer = await self._expect("answer")
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))

    async def send(self, message: dict[str, Any]) -> None:
        """Send one protocol message."""
        assert self.ws is not None
        await self.ws.send_str(json.dumps(message))

    async def _expect(self, kind: str) -> dict[str, Any]:
        while True:
            message = await asyncio.wait_for(self._replies.get(), TIMEOUT_S)
            if message["type"] == kind:
                return message
            if message["type"] == "error":
                raise RoomClientError(message["code"], message["message"])
            if message["type"] in ("ended", "closed"):
                raise RoomClientError("ended", "the room has ended")

    async def _read_socket(self) -> None:
        # Bound to this socket's queue and event: after a reconnect the old socket's
        # last words must not reach the new one's.
        ws, replies, closed = self.ws, self._replies, self.closed
        assert ws is not None
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            message = json.loads(msg.data)
            self.messages.append(message)
            if message["type"] == "state":
                self.state = message
            elif message["type"] == "you":
                self.you = message
                self.role, self.muted = message["role"], message["muted"]
            elif message["type"] == "ended":
                self.ended.set()
            replies.put_nowait(message)
        closed.set()
        replies.put_nowait({"type": "closed"})

    async def _read_audio(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                # The server sends audio only: its tracks give decoded audio frames.
                frame = cast(av.AudioFrame, await track.recv())
                self.frame_count += 1
                self.frame_times.append(time.monotonic())
                if self.keep:
                    data = frame.to_ndarray()[0]
                    channels = len(frame.layout.channels)
                    self.frames.append(data[::channels].copy())

    def audio(self) -> np.ndarray:
        """Return the received audio kept so far as mono 48 kHz int16 samples."""
        if not self.frames:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(list(self.frames))

    async def call(self, message: dict[str, Any], reply: str | None = None) -> dict[str, Any]:
        """Send a control message; wait for `reply` (raising on an error reply) if given.

        Without `reply`, a `ping` follows and its `pong` is awaited, so an error the
        server sent for the message is raised here too.
        """
        await self.send(message)
        if reply is not None:
            return await self._expect(reply)
        await self.send({"type": "ping"})
        try:
            return await self._expect("pong")
        except RoomClientError:
            await self._expect("pong")  # the error came first; its pong follows
            raise

    async def talk(self, track: MediaStreamTrack) -> None:
        """Start sending `track` on the same peer connection (after being approved).

        A second, sending audio section is added and the connection renegotiated;
        the room's audio keeps playing throughout.
        """
        self.pc.addTransceiver(track, direction="sendrecv")
        self._send_track = track
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer = await self.call({"type": "offer", "sdp": self.pc.localDescription.sdp}, "answer")
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))

    async def request_speak(self, invite: str | None = None) -> None:
        """Ask the host to let this listener speak (with an invite, asked with priority)."""
        message: dict[str, Any] = {"type": "request_speak"}
        if invite:
            message["invite"] = invite
        await self.call(message)

    async def approve(self, peer_id: str) -> None:
        """Let `peer_id`, who asked to speak, talk (host and co-hosts)."""
        await self.call({"type": "approve", "peer_id": peer_id})

    async def decline(self, peer_id: str) -> None:
        """Turn down `peer_id`'s request to speak (host and co-hosts)."""
        await self.call({"type": "decline", "peer_id": peer_id})

    async def set_role(self, peer_id: str, role: str) -> None:
        """Make `peer_id` a listener, speaker or co-host."""
        await self.call({"type": "set_role", "peer_id": peer_id, "role": role})

    async def mute(self, muted: bool = True, peer_id: str | None = None) -> None:
        """Mute or unmute oneself, or mute someone else (host and co-hosts)."""
        message: dict[str, Any] = {"type": "mute", "muted": muted}
        if peer_id:
            message["peer_id"] = peer_id
        await self.call(message)

    async def remove(self, peer_id: str) -> None:
        """Remove `peer_id` from the space for good (host and co-hosts)."""
        await self.call({"type": "remove", "peer_id": peer_id})

    async def react(self, emoji: str) -> None:
        """Send a reaction from the fixed set."""
        await self.call({"type": "react", "emoji": emoji})

    async def invite(self) -> dict[str, Any]:
        """Return a fresh invite to speak: `invite`, `url`, `expires_in`."""
        return await self.call({"type": "invite"}, "invite")

    async def wait_message(
        self, kind: str, timeout: float = TIMEOUT_S, **fields: Any
    ) -> dict[str, Any]:
        """Wait until a message of `kind` with these field values has been received."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self.messages:
                if message["type"] == kind and all(message.get(k) == v for k, v in fields.items()):
                    return message
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {kind!r} message with {fields} in {timeout} s")
            await asyncio.sleep(0.02)

    async def reconnect(self, send_track: MediaStreamTrack | None = None) -> float:
        """Come back after a drop: new WebSocket, new peer connection, `join` with `resume`.

        The server gives back the role it has on record (talkers come back muted) and
        closes the old connection if it is still open. A talker sends `send_track`, or
        what it sent before. Return the seconds from sending `join` to `joined`.
        """
        url, role, media, join = self._how
        old = (self.ws, self.session, self.pc, self._tasks)
        track = send_track or _fresh(self._send_track)
        self.pc, self._tasks = RTCPeerConnection(), []
        self._replies, self.closed = asyncio.Queue(), asyncio.Event()
        started = time.monotonic()
        try:
            await self._connect(url, role, track, media=media, join={**join, **self._resume()})
        finally:
            await _drop(*old)
        return self.join_s if self.join_s is not None else time.monotonic() - started

    def _resume(self) -> dict[str, Any]:
        return {"resume": self.resume_token} if self.resume_token else {}

    async def close(self) -> None:
        """Leave the room and release the socket and the peer connection."""
        if self.ws is not None and not self.ws.closed:
            with contextlib.suppress(Exception):
                await self.send({"type": "leave"})
            await self.ws.close()
        await self.pc.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.session is not None:
            await self.session.close()


class Listener(RoomConnection):
    """A listener peer: hears the room's mix."""


class Host(RoomConnection):
    """A host (or speaker) peer sending audio into the room."""

    async def end(self) -> None:
        """End the room for everyone over the WebSocket."""
        await self.send({"type": "end"})
        await asyncio.wait_for(self.ended.wait(), TIMEOUT_S)


def _fresh(track: MediaStreamTrack | None) -> MediaStreamTrack | None:
    """Return a track to send on a new connection: a new loop restarts its clock."""
    if type(track) is LoopTrack:
        return LoopTrack(track.samples)  # reused, it would burst out the missed frames
    return track


async def _drop(
    ws: aiohttp.ClientWebSocketResponse | None,
    session: aiohttp.ClientSession | None,
    pc: RTCPeerConnection,
    tasks: list[asyncio.Task[None]],
) -> None:
    """Release a replaced connection without `leave`: as if the network had dropped it."""
    if ws is not None:
        with contextlib.suppress(Exception):
            await ws.close()
    await pc.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if session is not None:
        await session.close()


def ws_url(rooms_url: str, room_id: str, token: str | None) -> str:
    """Return the WebSocket address of a room, with the token if given."""
    base = rooms_url.rstrip("/").replace("http://", "ws://", 1).replace("https://", "wss://", 1)
    url = f"{base}/ws/rooms/{room_id}"
    return f"{url}?token={token}" if token else url


async def join_listener(
    rooms_url: str,
    room_id: str,
    *,
    token: str | None = None,
    keep_seconds: float = 30.0,
    resume: str = "",
) -> Listener:
    """Join a room as a listener (back as `resume` says, if given); audio collects in `.audio()`."""
    listener = Listener(keep_seconds)
    join = {"resume": resume} if resume else {}
    try:
        await listener._connect(ws_url(rooms_url, room_id, token), "listener", None, join=join)
    except BaseException:
        await listener.close()
        raise
    return listener


async def join_host(
    rooms_url: str,
    room_id: str,
    token: str | None,
    *,
    audio_path: Path | None = None,
    tone_hz: float = 440.0,
    role: str = "host",
    unmute: bool = True,
    resume: str = "",
) -> Host:
    """Join as host (or speaker) and send a WAV file, or a tone, in a loop.

    The host's microphone starts muted in every space; unless `unmute` is False the
    client unmutes right after joining. With `resume` (a resume token from an earlier
    `joined`) the join comes back as that person, in the role the room has on record.
    """
    samples = read_wav(audio_path) if audio_path else tone(tone_hz, 1.0)
    host = Host()
    join = {"resume": resume} if resume else {}
    url = ws_url(rooms_url, room_id, token)
    try:
        await host._connect(url, role, LoopTrack(samples), join=join)
        if unmute and host.muted:
            # A host joins muted; a scripted host means to be heard at once.
            await host.mute(False)
    except BaseException:
        await host.close()
        raise
    return host


async def connect_control(
    rooms_url: str,
    room_id: str,
    token: str | None = None,
    *,
    role: str = "listener",
    **join: Any,
) -> RoomConnection:
    """Join without media: a connection that only sends and receives control messages.

    Extra keyword arguments go into the `join` message (`name`, `start`, `resume`).
    """
    conn = RoomConnection(keep_seconds=0)
    try:
        await conn._connect(ws_url(rooms_url, room_id, token), role, None, media=False, join=join)
    except BaseException:
        await conn.close()
        raise
    return conn


async def create_room(rooms_url: str, token: str, **fields: Any) -> dict[str, Any]:
    """Create a room (id, title, description, topics, lang, scheduled_start); return its status.

    With an `id` that is already this host's open room, that room's status comes back.
    """
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{rooms_url.rstrip('/')}/api/rooms", json=fields, headers=headers) as resp,
    ):
        body: dict[str, Any] = await resp.json()
        if resp.status not in (200, 201):
            raise RoomClientError(f"http_{resp.status}", body.get("error", str(body)))
        return body


async def end_room(rooms_url: str, room_id: str, token: str) -> dict[str, Any]:
    """End a room over HTTP with the host's token; return its final status."""
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{rooms_url.rstrip('/')}/api/rooms/{room_id}"
    async with aiohttp.ClientSession() as session, session.delete(url, headers=headers) as resp:
        body: dict[str, Any] = await resp.json()
        if resp.status != 200:
            raise RoomClientError(f"http_{resp.status}", body.get("error", str(body)))
        return body

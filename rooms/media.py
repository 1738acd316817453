"""One participant's WebRTC link: negotiation, renegotiation and what reaches the mixer.

A participant's role can change while connected (a listener approved to speak, a
speaker moved back to listener, a mute), and the peer connection stays up through
all of it. A listener hears the room on their first audio section, fed by the
mixer's fan-out. To talk, a client adds a second, sending audio section and
re-offers (a participant who may talk from the start sends on the first one): that
"talk section" receives their voice through a `ReceiverTap`, open only while they may be
heard, and sends back the mix of everyone else through a `Relay`, whose source is
switched (mix-minus while talking, the listener mix after being moved back) without
touching the RTP stream, so what they hear never stops.
"""

from __future__ import annotations

import contextlib
from typing import Any

import av
from aiortc import RTCPeerConnection, RTCRtpTransceiver, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.sdp import SessionDescription

from rooms.config import IceSettings
from rooms.fanout import IdleTrack
from rooms.ice import prepare_gathering, server_configuration
from rooms.mixer import TIME_BASE, Mixer, PacketTrack
from rooms.talkers import ReceiverTap

SENDING = ("sendrecv", "sendonly")


class OfferError(Exception):
    """An SDP offer the server cannot use; the message says why."""


class Relay(MediaStreamTrack):
    """The one track a participant's sender reads; its source can be swapped.

    Swapping is done by pointing at the new source and then stopping the old one:
    the sender blocked in the old source's recv() gets MediaStreamError, which the
    relay swallows and reads on from the new source. No extra task per packet.
    """

    kind = "audio"

    def __init__(self, source: MediaStreamTrack) -> None:
        super().__init__()
        self.source = source

    async def recv(self) -> Any:
        """Return the next packet from the current source."""
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            source = self.source
            try:
                return await source.recv()
            except MediaStreamError:
                if source is self.source:
                    raise


class ListenerFeed:
    """Hand the mixer's listener packets to one aiortc sender (a talker moved back).

    The listener packets go out through the fan-out's own RTP streams; a talk section
    already has aiortc's stream, so the same packets are fed to it instead, keeping
    its sequence numbers and timestamps continuous.
    """

    def __init__(self, mixer: Mixer) -> None:
        self.mixer = mixer
        self.track = PacketTrack()
        mixer.packet_sinks.append(self)

    def write(self, payload: bytes, pts: int) -> None:
        """Queue one listener packet for the sender."""
        packet = av.Packet(payload)
        packet.pts = pts
        packet.time_base = TIME_BASE
        self.track.push(packet)

    def close(self) -> None:
        """Stop the track (the mixer calls this when it closes)."""
        self.track.stop()

    def detach(self) -> None:
        """Stop taking packets and stop the track."""
        with contextlib.suppress(ValueError):
            self.mixer.packet_sinks.remove(self)
        self.close()


class PeerMedia:
    """Own one participant's peer connection and their place in the room's mixer."""

    def __init__(self, mixer: Mixer, key: str, ice: IceSettings | None = None) -> None:
        self.mixer = mixer
        self.key = key
        self.ice = ice or IceSettings()
        self.pc = RTCPeerConnection(server_configuration(self.ice))
        self.listen: RTCRtpTransceiver | None = None  # fed by the mixer's fan-out
        self.idle: IdleTrack | None = None
        self.talk: RTCRtpTransceiver | None = None  # the section carrying their voice
        self.gate: ReceiverTap | None = None
        self.relay: Relay | None = None
        self.feed: ListenerFeed | None = None
        self.talking = False  # True while the mixer has this participant as a talker

    async def negotiate(self, sdp: str, may_talk: bool) -> str:
        """Apply an offer (first or renegotiation) and return the complete answer."""
        if self.pc.signalingState != "stable":
            raise OfferError("an offer is still being answered; wait for the answer")
        try:
            audio = [m for m in SessionDescription.parse(sdp).media if m.kind == "audio"]
        except Exception as exc:
            raise OfferError(f"the SDP offer could not be read: {exc}") from exc
        if not audio:
            raise OfferError("the SDP offer has no audio section")
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        except Exception as exc:
            raise OfferError(f"the SDP offer could not be used: {exc}") from exc
        prepare_gathering(self.pc, self.ice)  # before setLocalDescription gathers
        by_mid = {t.mid: t for t in self.pc.getTransceivers() if t.kind == "audio"}
        sections = [(by_mid.get(m.rtp.muxId), m.direction) for m in audio]
        if self.talk is None and may_talk:
            for transceiver, direction in sections:
                if (
                    transceiver is not None
                    and transceiver is not self.listen
                    and direction in SENDING
                ):
                    self._open_talk(transceiver)
                    break
        if self.talk is None and self.listen is None:
            self._open_listen(sections[0][0])
        for transceiver, _ in sections:
            if transceiver is not None and transceiver not in (self.talk, self.listen):
                transceiver.direction = "inactive"  # at most one section each way
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    def _open_talk(self, transceiver: RTCRtpTransceiver) -> None:
        if transceiver.receiver.track is None:
            raise OfferError("the sending audio section carries no track")
        transceiver.direction = "sendrecv"
        self.talk = transceiver
        self.gate = ReceiverTap(transceiver.receiver)
        self.feed = ListenerFeed(self.mixer)
        self.relay = Relay(self.feed.track)
        transceiver.sender.replaceTrack(self.relay)

    def _open_listen(self, transceiver: RTCRtpTransceiver | None) -> None:
        if transceiver is None:
            raise OfferError("the audio section could not be matched; send a fresh offer")
        transceiver.direction = "sendonly"  # listeners are never heard
        self.listen = transceiver
        self.idle = self.mixer.add_listener()
        transceiver.sender.replaceTrack(self.idle)
        self.mixer.attach(self.idle, self.pc)

    def update(self, *, may_talk: bool, unmuted: bool) -> None:
        """Make what the mixer hears and sends match the participant's role and mute."""
        if self.gate is None or self.relay is None:
            return  # no talk section yet: a listener, or a talker who has not offered one
        if may_talk and unmuted:
            self.gate.open = True
        else:
            self.gate.close()
        if may_talk and not self.talking:
            self.relay.source = self.mixer.add_talker(self.key, self.gate)
            self.talking = True
            if self.feed is not None:
                self.feed.detach()
                self.feed = None
            if self.idle is not None:
                # They hear the room on the talk section now; the listener copy would
                # carry their own voice back to them.
                self.mixer.remove_listener(self.idle)
                self.idle = None
        elif not may_talk and self.talking:
            self.feed = ListenerFeed(self.mixer)
            self.relay.source = self.feed.track
            self.talking = False
            self.mixer.remove_talker(self.key)

    async def close(self) -> None:
        """Leave the mixer and close the peer connection."""
        if self.talking:
            self.mixer.remove_talker(self.key)
            self.talking = False
        if self.idle is not None:
            self.mixer.remove_listener(self.idle)
            self.idle = None
        if self.feed is not None:
            self.feed.detach()
            self.feed = None
        if self.gate is not None:
            self.gate.stop()
        if self.relay is not None:
            self.relay.stop()
        await self.pc.close()

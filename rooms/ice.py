"""Say which ICE servers (STUN, TURN) the room server and its players gather with.

Also shape the server's own candidates behind NAT: its ICE sockets bind to a port range
a firewall can open, and a public address (a 1:1 NAT mapping) is announced beside the
private one. aioice offers neither, so `HostGathering` takes over one connection's
host gathering, only when one of the two is set.
"""

from __future__ import annotations

import asyncio
import base64
import errno
import hashlib
import hmac
import ipaddress
import logging
import random
import re
import secrets
import socket
import time
from itertools import chain
from typing import Any

from aioice.candidate import Candidate, candidate_foundation, candidate_priority
from aioice.ice import Connection, StunProtocol, server_reflexive_candidate
from aioice.turn import UDP_SOCKET_BUFFER_SIZE
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection

from rooms.config import IceSettings, RoomsConfig

log = logging.getLogger(__name__)

#: The name the room server's own TURN REST credentials carry (coturn logs it).
SERVER_IDENTITY = "rooms"


def turn_credentials(
    secret: str, identity: str, ttl_s: int, now: float | None = None
) -> tuple[str, str]:
    """Return a TURN REST API username and password valid for ttl_s seconds.

    The scheme of coturn's `use-auth-secret`: the username is `<expiry>:<identity>`, the
    password base64(HMAC-SHA1(secret, username)); the TURN server checks both with the
    shared secret and refuses the username once its expiry has passed.
    """
    expiry = int(time.time() if now is None else now) + ttl_s
    # The identity only labels the allocation in the TURN server's logs; keep it short
    # and plain so it fits a STUN USERNAME anywhere.
    label = re.sub(r"[^A-Za-z0-9._@-]", "_", identity)[:64] or "anonymous"
    username = f"{expiry}:{label}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(ice: IceSettings, identity: str) -> list[dict[str, Any]]:
    """Return the configured ICE servers as RTCIceServer dictionaries for one peer."""
    servers: list[dict[str, Any]] = []
    if ice.stun:
        servers.append({"urls": list(ice.stun)})
    if ice.turn:
        if ice.turn_secret:
            username, credential = turn_credentials(ice.turn_secret, identity, ice.turn_ttl_s)
        else:
            username, credential = ice.turn_username, ice.turn_password
        servers.append({"urls": list(ice.turn), "username": username, "credential": credential})
    return servers


def client_ice_servers(config: RoomsConfig, identity: str = "") -> list[dict[str, Any]]:
    """Return the ICE servers a player should use, as RTCIceServer dictionaries.

    TURN REST credentials are minted afresh on every call (every page view); a viewer
    without an identity gets a random label, so one allocation can be told from another.
    """
    return ice_servers(config.ice, identity or f"viewer-{secrets.token_hex(4)}")


def server_configuration(ice: IceSettings) -> RTCConfiguration:
    """Return the RTCConfiguration of one server-side peer connection.

    An explicit list, even empty: aiortc falls back to a public STUN server only when
    given none at all. aiortc uses the first STUN and the first TURN server of it.
    """
    servers = [RTCIceServer(**server) for server in ice_servers(ice, SERVER_IDENTITY)]
    return RTCConfiguration(iceServers=servers)


def prepare_gathering(pc: RTCPeerConnection, ice: IceSettings) -> None:
    """Have the peer connection's next gathering use the port range and public address.

    Call between setRemoteDescription (which creates the ICE transports) and
    setLocalDescription (which gathers). Nothing changes without a range or a public
    address.
    """
    if ice.udp_ports is None and not ice.public_ip:
        return
    for transceiver in pc.getTransceivers():
        gatherer = transceiver.receiver.transport.transport.iceGatherer
        # aiortc keeps its aioice connection private; there is no other way in.
        connection: Connection = gatherer._connection
        if gatherer.state == "new" and not isinstance(
            connection.get_component_candidates, HostGathering
        ):
            # Only this connection's gathering changes: an instance attribute, not a patch
            # of aioice's class.
            connection.get_component_candidates = HostGathering(connection, ice)  # type: ignore[method-assign]


class HostGathering:
    """Gather one aioice connection's candidates in the UDP port range, plus announced ones.

    aioice binds every host socket to port 0. With a range set, host sockets are bound
    here instead, on the same addresses, into aioice's own `StunProtocol` (so checks,
    consent and closing work as for its own sockets), and aioice's gathering is asked
    only for what needs no host socket: the TURN allocation (its client socket is
    outgoing, so a firewall lets the answers back in without a rule).

    The public address is announced as a server-reflexive candidate, on each host
    candidate's port: exactly what a STUN server would report behind a 1:1 NAT, so
    the browser treats it as such, and the private host candidates stay for peers on
    the same network. Doing it at gathering (rather than rewriting the SDP answer) puts
    it in every answer, renegotiations included, through aiortc's own SDP writing.
    """

    def __init__(self, connection: Connection, ice: IceSettings) -> None:
        self.connection = connection
        self.aioice_gathering = connection.get_component_candidates
        self.ports = ice.udp_ports
        self.public_ip = ice.public_ip

    async def __call__(
        self, component: int, addresses: list[str], timeout: int = 5
    ) -> list[Candidate]:
        """Return the component's candidates (aioice's signature)."""
        if self.ports is None:
            candidates = await self.aioice_gathering(component, addresses, timeout)
        else:
            candidates = await self._in_range(component, addresses, timeout)
        return candidates + self._announced(candidates)

    async def _in_range(
        self, component: int, addresses: list[str], timeout: int
    ) -> list[Candidate]:
        relay = asyncio.ensure_future(self.aioice_gathering(component, [], timeout))
        protocols = [p for p in [await self._bind(a, component) for a in addresses] if p]
        candidates = [p.local_candidate for p in protocols]
        stun = self.connection.stun_server
        queries = [
            asyncio.ensure_future(server_reflexive_candidate(p, stun))
            for p in protocols
            if stun and ipaddress.ip_address(p.local_candidate.host).version == 4
        ]
        if queries:
            # As aioice does: a STUN server that does not answer in time is left out.
            done, pending = await asyncio.wait(queries, timeout=timeout)
            candidates += [q.result()[0] for q in done if q.exception() is None]
            for query in pending:
                query.cancel()
        return candidates + await relay

    async def _bind(self, address: str, component: int) -> StunProtocol | None:
        assert self.ports is not None
        low, high = self.ports
        # Start anywhere in the range, so concurrent joins rarely try the same ports.
        start = random.randint(low, high)
        loop = asyncio.get_running_loop()
        for port in chain(range(start, high + 1), range(low, start)):
            try:
                transport, protocol = await loop.create_datagram_endpoint(
                    lambda: StunProtocol(self.connection), local_addr=(address, port)
                )
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    continue
                log.info("could not bind a UDP socket on %s: %s", address, exc)
                return None
            break
        else:
            log.warning(
                "no free UDP port in %d-%d on %s: a peer connection goes without it; "
                "widen SPACES_ROOMS_UDP_PORTS (each connection takes one port per address)",
                low,
                high,
                address,
            )
            return None
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_SOCKET_BUFFER_SIZE)
        protocol.local_candidate = Candidate(
            foundation=candidate_foundation("host", "udp", address),
            component=component,
            transport="udp",
            priority=candidate_priority(component, "host"),
            host=address,
            port=port,
            type="host",
        )
        # aioice pairs remote candidates with, and closes, the protocols it holds.
        self.connection._protocols.append(protocol)
        return protocol

    def _announced(self, candidates: list[Candidate]) -> list[Candidate]:
        if not self.public_ip:
            return []
        version = ipaddress.ip_address(self.public_ip).version
        known = {(c.host, c.port) for c in candidates}
        return [
            Candidate(
                foundation=candidate_foundation("srflx", "udp", c.host),
                component=c.component,
                transport="udp",
                priority=candidate_priority(c.component, "srflx"),
                host=self.public_ip,
                port=c.port,
                type="srflx",
                related_address=c.host,
                related_port=c.port,
            )
            for c in candidates
            if c.type == "host"
            and ipaddress.ip_address(c.host).version == version
            and (self.public_ip, c.port) not in known
        ]

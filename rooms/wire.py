"""Put a listener's RTP and RTCP on the wire without asyncio and without releasing the GIL.

The fan-out sends each listener packet from one tight loop (rooms.fanout); this module
holds what that loop calls per datagram: SRTP/SRTCP protection with the sender's own
libsrtp session and a sendto(2) on the nominated ICE pair's socket, both through ctypes
so the GIL is kept (see `_direct_send`), and the RTCP packets it sends on aiortc's
behalf (sender reports, and a BYE when a listener leaves).
"""

from __future__ import annotations

import ctypes
import socket
import struct
from collections.abc import Callable
from typing import Any

SendFn = Callable[..., Any]  # send(datagram: bytes, rtcp: bool = False)
_SR_INFO = struct.Struct("!IIIII")  # NTP seconds and fraction, RTP time, packets, octets


def sender_report_template(ssrc: int, cname: str | None) -> bytearray:
    """Return an SR (+ SDES CNAME, as RFC 3550 compound packets require) to fill in."""
    packet = bytearray(struct.pack("!BBHI", 0x80, 200, 6, ssrc) + bytes(_SR_INFO.size))
    if cname:
        text = cname.encode()[:255]
        chunk = struct.pack("!IBB", ssrc, 1, len(text)) + text + b"\0"
        chunk += bytes(-len(chunk) % 4)
        packet += struct.pack("!BBH", 0x81, 202, len(chunk) // 4) + chunk
    return packet


def fill_sender_report(
    packet: bytearray, ntp: int, rtp_timestamp: int, count: int, octets: int
) -> None:
    """Write the sender info of an SR made by `sender_report_template`."""
    _SR_INFO.pack_into(
        packet, 8, ntp >> 32, ntp & 0xFFFFFFFF, rtp_timestamp, count & 0xFFFFFFFF, octets
    )


def bye(ssrc: int) -> bytes:
    """Return an RTCP BYE for `ssrc`."""
    return struct.pack("!BBHI", 0x81, 203, 1, ssrc)


def open_send(session: Any, transport: Any, addr: tuple[str, int]) -> SendFn:
    """Return send(datagram, rtcp=False) for one listener: the direct path, else asyncio's."""
    send = _direct_send(session, transport, addr)
    if send is None:
        protect, protect_rtcp, sendto = session.protect, session.protect_rtcp, transport.sendto

        def send(plain: bytes, rtcp: bool = False) -> None:
            sendto((protect_rtcp if rtcp else protect)(plain), addr)

    return send


def _direct_send(
    session: Any, transport: Any, addr: tuple[str, int]
) -> Callable[[bytes, bool], Any] | None:
    """Return send(datagram, rtcp) that protects and sends without releasing the GIL.

    A C call that releases the GIL (cffi's SRTP calls, socket.sendto) must win it
    back from any other busy thread before the loop continues, up to a switch
    interval each time: with aiortc's eleven talker decoder threads (since replaced,
    see rooms.talkers; captions still transcribe on a thread) two such waits per
    listener per packet made mixer ticks 50 ms late at 100 listeners. libsrtp and
    sendto(2) on a non-blocking UDP socket take microseconds, so they are called
    through ctypes.PyDLL, which keeps the GIL. IPv4 only; None (the ordinary path)
    otherwise.
    """
    sock = getattr(transport, "_sock", None)
    if _LIBSRTP is None or sock is None or sock.family != socket.AF_INET:
        return None
    # pylibsrtp's private binding: only reached once _load_direct found it usable.
    import pylibsrtp._binding as binding

    ctx = int(binding.ffi.cast("uintptr_t", session._srtp[0]))
    fd = sock.fileno()
    host, port = addr[0], addr[1]
    sockaddr = ctypes.create_string_buffer(
        struct.pack("<H", socket.AF_INET) + struct.pack("!H", port) + socket.inet_aton(host),
        16,
    )
    buffer = ctypes.create_string_buffer(1500)
    length = ctypes.c_int(0)
    length_p = ctypes.pointer(length)
    protect, protect_rtcp = _LIBSRTP.srtp_protect, _LIBSRTP.srtp_protect_rtcp
    sendto, memmove = _LIBC.sendto, ctypes.memmove
    keep = (session, sock)  # the SRTP context and the fd must outlive this closure

    def send(plain: bytes, rtcp: bool = False) -> int:
        size = len(plain)
        if size > 1400:
            raise OSError("packet too large for the direct path")
        memmove(buffer, plain, size)
        length.value = size
        if (protect_rtcp if rtcp else protect)(ctx, buffer, length_p) != 0:
            raise OSError("SRTP protect failed")
        if sendto(fd, buffer, length.value, _MSG_DONTWAIT, sockaddr, 16) < 0:
            raise BlockingIOError  # buffer full (or gone): this packet is dropped
        return len(keep)

    return send


def _load_direct() -> tuple[Any, Any]:
    try:
        # Private to pylibsrtp, so it may be missing or changed: the ordinary path remains.
        import pylibsrtp._binding as binding

        libsrtp = ctypes.PyDLL(binding.__file__)
        libsrtp.srtp_protect.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        libsrtp.srtp_protect.restype = ctypes.c_int
        libsrtp.srtp_protect_rtcp.argtypes = libsrtp.srtp_protect.argtypes
        libsrtp.srtp_protect_rtcp.restype = ctypes.c_int
        libc = ctypes.PyDLL(None)
        libc.sendto.argtypes = [
            ctypes.c_int,
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_int,
            ctypes.c_void_p,
            ctypes.c_uint32,
        ]
        libc.sendto.restype = ctypes.c_ssize_t
        return libsrtp, libc
    except (ImportError, OSError, AttributeError):
        return None, None


_LIBSRTP, _LIBC = _load_direct()
_MSG_DONTWAIT = 0x40

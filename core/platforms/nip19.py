"""Nostr's bech32 names (NIP-19): `naddr` addresses of replaceable events, `npub` keys.

An `naddr` names an addressable event by its kind, its author's public key and its `d`
tag, with optional hints of relays that carry it: `nostr:naddr1…` links point at a live
activity this way. The encoding is BIP-173 bech32 (not bech32m) over a list of
type-length-value entries, without bech32's 90-character limit.
"""

from __future__ import annotations

from dataclasses import dataclass

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_VALUES = {char: index for index, char in enumerate(CHARSET)}
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
#: Longest name read: an naddr with a long `d` tag and a few relay hints fits easily.
MAX_LENGTH = 2000
# NIP-19's TLV types for naddr.
_SPECIAL, _RELAY, _AUTHOR, _KIND = 0, 1, 2, 3


class Bech32Error(ValueError):
    """A string that is not a well-formed NIP-19 name."""


@dataclass(frozen=True)
class Address:
    """What an naddr names: an addressable event's kind, author and `d` tag."""

    kind: int
    pubkey: str  # 64 lower-case hex digits
    identifier: str  # the event's `d` tag
    relays: tuple[str, ...] = ()

    @property
    def coordinate(self) -> str:
        """Return the event's `a` tag value, `kind:pubkey:d`."""
        return f"{self.kind}:{self.pubkey}:{self.identifier}"


def _polymod(values: list[int]) -> int:
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for bit, generator in enumerate(_GENERATOR):
            if (top >> bit) & 1:
                check ^= generator
    return check


def _expand(hrp: str) -> list[int]:
    return [ord(char) >> 5 for char in hrp] + [0] + [ord(char) & 31 for char in hrp]


def _regroup(data: bytes | list[int], source: int, target: int, *, pad: bool) -> list[int]:
    """Regroup a sequence of `source`-bit numbers as `target`-bit numbers."""
    accumulator = bits = 0
    out: list[int] = []
    mask = (1 << target) - 1
    for value in data:
        accumulator = (accumulator << source) | value
        bits += source
        while bits >= target:
            bits -= target
            out.append((accumulator >> bits) & mask)
    if pad and bits:
        out.append((accumulator << (target - bits)) & mask)
    elif not pad and (bits >= source or (accumulator << (target - bits)) & mask):
        raise Bech32Error("the data part has leftover bits")
    return out


def encode(hrp: str, data: bytes) -> str:
    """Return `data` encoded as bech32 with the human-readable part `hrp`."""
    words = _regroup(data, 8, 5, pad=True)
    check = _polymod(_expand(hrp) + words + [0] * 6) ^ 1
    words += [(check >> 5 * (5 - index)) & 31 for index in range(6)]
    return hrp + "1" + "".join(CHARSET[word] for word in words)


def decode(text: str) -> tuple[str, bytes]:
    """Return the human-readable part and the data of a bech32 string; raise Bech32Error."""
    if len(text) > MAX_LENGTH:
        raise Bech32Error("the name is too long")
    if text.lower() != text and text.upper() != text:
        raise Bech32Error("bech32 does not mix upper and lower case")
    text = text.lower()
    hrp, separator, rest = text.rpartition("1")
    if not separator or not hrp or len(rest) < 6:
        raise Bech32Error("not a bech32 name")
    if any(not 33 <= ord(char) <= 126 for char in hrp):
        raise Bech32Error("the name's prefix has characters bech32 does not allow")
    try:
        words = [_VALUES[char] for char in rest]
    except KeyError:
        raise Bech32Error("the name has characters bech32 does not use") from None
    if _polymod(_expand(hrp) + words) != 1:
        raise Bech32Error("the name's checksum does not match")
    return hrp, bytes(_regroup(words[:-6], 5, 8, pad=False))


def encode_naddr(address: Address) -> str:
    """Return the `naddr1…` name of `address` (relay hints included, in order)."""
    entries = [(_SPECIAL, address.identifier.encode())]
    entries += [(_RELAY, relay.encode()) for relay in address.relays]
    entries += [(_AUTHOR, bytes.fromhex(address.pubkey)), (_KIND, address.kind.to_bytes(4, "big"))]
    data = bytearray()
    for kind, value in entries:
        if len(value) > 255:
            raise Bech32Error("an naddr entry is longer than 255 bytes")
        data += bytes((kind, len(value))) + value
    return encode("naddr", bytes(data))


def decode_naddr(text: str) -> Address:
    """Return the address an `naddr1…` name holds; raise Bech32Error if it is not one."""
    hrp, data = decode(text)
    if hrp != "naddr":
        raise Bech32Error(f"a {hrp!r} name is not an event address")
    identifier: str | None = None
    pubkey = ""
    kind: int | None = None
    relays: list[str] = []
    at = 0
    while at < len(data):
        if at + 2 > len(data) or at + 2 + data[at + 1] > len(data):
            raise Bech32Error("an naddr entry runs past the end")
        tag, value = data[at], data[at + 2 : at + 2 + data[at + 1]]
        at += 2 + len(value)
        try:
            if tag == _SPECIAL and identifier is None:
                identifier = value.decode()
            elif tag == _RELAY:
                relays.append(value.decode())
            elif tag == _AUTHOR and len(value) == 32 and not pubkey:
                pubkey = value.hex()
            elif tag == _KIND and len(value) == 4 and kind is None:
                kind = int.from_bytes(value, "big")
        except UnicodeDecodeError:
            raise Bech32Error("an naddr entry is not UTF-8 text") from None
        # Unknown types are skipped, as NIP-19 asks.
    if identifier is None or not pubkey or kind is None:
        raise Bech32Error("an naddr needs a d tag, an author and a kind")
    return Address(kind, pubkey, identifier, tuple(relays))


def encode_npub(pubkey: str) -> str:
    """Return the `npub1…` name of a hex public key."""
    return encode("npub", bytes.fromhex(pubkey))

"""Nostr live activities: naddr links, event ids and signatures, records from events."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from bench.peers.nostr_relay import TEST_KEY, activity, pubkey_of, sign
from core.catalog.states import State
from core.platforms import registry
from core.platforms.nip01 import InvalidEvent, event_id, verify_event
from core.platforms.nip19 import (
    Address,
    Bech32Error,
    decode,
    decode_naddr,
    encode_naddr,
    encode_npub,
)
from core.platforms.nostr import Nostr, page_link, parse_link, record_from_event

PUBKEY = pubkey_of(TEST_KEY)

#: A live chat message from NIP-53's own examples: a real id and signature.
SPEC_CHAT = {
    "id": "97aa81798ee6c5637f7b21a411f89e10244e195aa91cb341bf49f718e36c8188",
    "pubkey": "3f770d65d3a764a9c5cb503ae123e62ec7598ad035d836e2a810f3877a745b24",
    "created_at": 1687286726,
    "kind": 1311,
    "tags": [
        [
            "a",
            "30311:1597246ac22f7d1375041054f2a4986bd971d8d196d7997e48973263ac9879ec:demo-cf-stream",
            "",
            "root",
        ]
    ],
    "content": "Zaps to live streams is beautiful.",
    "sig": (
        "997f62ddfc0827c121043074d50cfce7a528e978c575722748629a4137c45b75"
        "bdbc84170bedc723ef0a5a4c3daebf1fef2e93f5e2ddb98e5d685d022c30b622"
    ),
}


def test_npub_matches_nip19s_example() -> None:
    pubkey = "7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e"
    assert encode_npub(pubkey) == "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg"
    assert decode(encode_npub(pubkey)) == ("npub", bytes.fromhex(pubkey))


def test_naddr_round_trips_with_relay_hints() -> None:
    address = Address(30311, PUBKEY, "my room ✓", ("wss://relay.example/",))
    name = encode_naddr(address)
    assert name.startswith("naddr1")
    assert decode_naddr(name) == address
    assert decode_naddr(name.upper()) == address  # bech32 is one case or the other


@pytest.mark.parametrize(
    "broken",
    [
        "naddr1",  # nothing after the separator
        "naddr1qqqqqqqq",  # checksum
        "nAddr1qqqqqqqq",  # mixed case
        "naddr1bio",  # b, i and o are not bech32
        "naddr1" + "q" * 3000,  # too long to be read
    ],
)
def test_broken_names_are_refused(broken: str) -> None:
    with pytest.raises(Bech32Error):
        decode_naddr(broken)


def test_an_npub_is_not_an_address() -> None:
    with pytest.raises(Bech32Error):
        decode_naddr(encode_npub(PUBKEY))


def test_naddr_links_are_recognised_in_every_form() -> None:
    canonical = "nostr:" + encode_naddr(Address(30311, PUBKEY, "room-1"))
    hinted = encode_naddr(Address(30311, PUBKEY, "room-1", ("wss://a.example", "wss://b.example")))
    for link in (hinted, f"nostr:{hinted}", f"https://njump.me/{hinted}", f" NOSTR:{hinted} "):
        assert Nostr().link(link) == canonical, link
        assert registry.recognise(link) is not None
        assert registry.canonical_url(link) == canonical
    room = encode_naddr(Address(30312, PUBKEY, "room-1"))
    assert Nostr().link(room) == f"nostr:{room}"


@pytest.mark.parametrize(
    "not_a_space",
    [
        "nostr:" + encode_naddr(Address(30023, PUBKEY, "an-article")),  # another kind
        "nostr:" + encode_npub(PUBKEY),  # a person
        "https://njump.me.evil.example/" + encode_naddr(Address(30311, PUBKEY, "x")),
        "https://example.com/" + encode_naddr(Address(30311, PUBKEY, "x")),
        "https://njump.me/",
        "nostr:",
        "",
    ],
)
def test_look_alikes_are_not_spaces(not_a_space: str) -> None:
    assert Nostr().link(not_a_space) == ""
    assert parse_link(not_a_space) is None


def test_a_real_event_verifies() -> None:
    assert event_id(SPEC_CHAT) == SPEC_CHAT["id"]
    verify_event(SPEC_CHAT)


def test_our_signed_events_verify() -> None:
    verify_event(activity("room-1", "live"))


def test_an_altered_event_is_refused() -> None:
    event = activity("room-1", "live")
    event["tags"] = [["d", "room-1"], ["status", "ended"]]
    with pytest.raises(InvalidEvent) as refused:
        verify_event(event)
    assert refused.value.reason == "bad_id"


def test_a_forged_event_is_refused() -> None:
    event = activity("room-1", "live")
    # Another key's signature over the right id: it is not who the event names.
    other = sign(TEST_KEY, 1, [], "x")
    forged = {**event, "sig": other["sig"]}
    with pytest.raises(InvalidEvent) as refused:
        verify_event(forged)
    assert refused.value.reason == "bad_signature"
    # An id recomputed after altering it does not help without the key.
    altered = {**event, "content": "changed"}
    altered["id"] = event_id(altered)
    with pytest.raises(InvalidEvent) as refused:
        verify_event(altered)
    assert refused.value.reason == "bad_signature"


@pytest.mark.parametrize(
    "change",
    [
        {"id": "XYZ"},
        {"pubkey": "ab" * 31},
        {"sig": "00"},
        {"created_at": "1687286726"},
        {"created_at": True},
        {"kind": -1},
        {"tags": "none"},
        {"tags": [["t", 5]]},
        {"tags": [[]]},
        {"content": None},
    ],
)
def test_malformed_events_are_refused(change: dict[str, object]) -> None:
    with pytest.raises(InvalidEvent) as refused:
        verify_event({**SPEC_CHAT, **change})
    assert refused.value.reason == "malformed"
    with pytest.raises(InvalidEvent):
        verify_event([SPEC_CHAT])


def test_a_pubkey_off_the_curve_is_a_bad_signature() -> None:
    event = {**SPEC_CHAT, "pubkey": "f" * 64}
    event["id"] = event_id(event)
    with pytest.raises(InvalidEvent) as refused:
        verify_event(event)
    assert refused.value.reason == "bad_signature"


def test_a_live_activity_becomes_a_record() -> None:
    host = "ef" * 32
    speaker = "ab" * 32
    starts = int(time.time()) - 120
    event = activity(
        "room-1",
        "live",
        title="Morning <b>news</b>",
        topics=("News", "#audio"),
        extra=[
            ["starts", str(starts)],
            ["streaming", "https://stream.example/live/room-1.m3u8"],
            ["p", speaker, "", "Speaker"],
            ["p", host, "wss://relay.example", "Host", "proof"],
            ["p", "cd" * 32, "", "Participant"],
        ],
    )
    record = record_from_event(event, recognise=registry.recognise)
    assert record.url == "nostr:" + encode_naddr(Address(30311, PUBKEY, "room-1"))
    assert record.platform == "nostr"
    assert record.title == "Morning news"
    assert record.description == "All about room-1"
    assert record.state == State.LIVE
    assert record.listener_count == 12
    assert record.speaker_count == 2
    # The first `starts` tag counts (the helper writes one before the extra tags).
    assert record.started_at is not None and record.scheduled_start is None
    assert record.topics == ["news", "audio"]
    assert record.host_handle == encode_npub(host)
    assert record.host_scope == "nostr"
    assert record.player_url == "https://stream.example/live/room-1.m3u8"
    assert not record.provisional
    assert page_link(event) == ""  # a playlist is not a page


def test_planned_and_ended_activities() -> None:
    starts = int(time.time()) + 3600
    planned = sign(
        TEST_KEY, 30311, [["d", "later"], ["status", "planned"], ["starts", str(starts)]]
    )
    record = record_from_event(planned, recognise=registry.recognise)
    assert record.state == State.SCHEDULED
    assert record.scheduled_start == datetime.fromtimestamp(starts, UTC)
    assert record.started_at is None
    ended = sign(TEST_KEY, 30311, [["d", "later"], ["status", "ended"], ["ends", str(starts + 60)]])
    record = record_from_event(ended, recognise=registry.recognise)
    assert record.state == State.ENDED
    assert record.ended_at == datetime.fromtimestamp(starts + 60, UTC)
    assert record.host_handle == encode_npub(PUBKEY)  # no Host tag: the author hosts


def test_a_live_activity_silent_for_an_hour_has_ended() -> None:
    stale = activity("old", "live", created_at=int(time.time()) - 2 * 3600)
    assert record_from_event(stale, recognise=registry.recognise).state == State.ENDED


def test_audio_rooms_of_kind_30312() -> None:
    tags = [["d", "nest"], ["room", "The Nest"], ["status", "open"]]
    tags += [["service", "https://nests.example/room/nest"], ["t", "talk"]]
    record = record_from_event(sign(TEST_KEY, 30312, tags), recognise=registry.recognise)
    assert record.title == "The Nest"
    assert record.state == State.LIVE
    assert record.url == "nostr:" + encode_naddr(Address(30312, PUBKEY, "nest"))
    assert page_link(sign(TEST_KEY, 30312, tags)) == "https://nests.example/room/nest"
    closed = sign(TEST_KEY, 30312, [["d", "nest"], ["status", "closed"]])
    assert record_from_event(closed, recognise=registry.recognise).state == State.ENDED
    private = sign(TEST_KEY, 30312, [["d", "nest"], ["status", "private"]])
    with pytest.raises(InvalidEvent) as refused:
        record_from_event(private, recognise=registry.recognise)
    assert refused.value.reason == "not_public"


def test_an_activity_announcing_an_x_space_is_that_space() -> None:
    event = activity(
        "x-room", "ended", extra=[["streaming", "https://twitter.com/i/spaces/1AbCdEfGh"]]
    )
    record = record_from_event(event, recognise=registry.recognise)
    assert record.url == "https://x.com/i/spaces/1AbCdEfGh"
    assert record.platform == "x"
    # Whoever signed the event may not run that space: nothing it says is taken as fact.
    assert record.provisional and record.state is None
    assert record.title == "Room x-room"
    assert "audio" in record.topics


def test_odd_values_are_ignored() -> None:
    tags = [["d", "odd"], ["status", "dancing"], ["current_participants", "²"]]
    tags += [["starts", "99999999999999"], ["p", "not-hex", "", "Host"]]
    record = record_from_event(sign(TEST_KEY, 30311, tags), recognise=registry.recognise)
    assert record.state is None
    assert record.listener_count is None and record.started_at is None
    assert record.host_handle == encode_npub(PUBKEY)


def test_other_kinds_are_not_activities() -> None:
    with pytest.raises(InvalidEvent) as refused:
        record_from_event(SPEC_CHAT, recognise=registry.recognise)
    assert refused.value.reason == "not_activity"
    with pytest.raises(InvalidEvent) as refused:
        record_from_event(
            sign(TEST_KEY, 30311, [["title", "no d tag"]]), recognise=registry.recognise
        )
    assert refused.value.reason == "malformed"


def test_nostr_addresses_are_not_fetched() -> None:
    assert not registry.fetchable("nostr:" + encode_naddr(Address(30311, PUBKEY, "r")))
    assert registry.get("nostr").listen_label == "Open on Nostr"

"""Local servers that speak real protocols on loopback: the benchmarks' corpus and the tests' peers.

Written from each protocol's public documentation (Mastodon's REST API, Bluesky's XRPC
AppView, X API v2, Nostr NIP-01/NIP-53 relays, W3C WebSub hubs, plain HTTP sites), so the
crawler meets answers shaped like the real ones without leaving this machine.
"""

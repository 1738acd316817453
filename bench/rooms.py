"""Measure how many listeners one room server core carries while eleven people talk.

Every part runs in its own process so only the server's work is counted: the room
server; the talkers (a host sending timed tone pulses, ten speakers sending steady
tones, and one decoding "probe" listener that times the pulses); and several listener
processes. A bench listener never decodes: it completes ICE and DTLS like any peer,
then counts RTP packets straight off its socket (the RTP header is not encrypted),
so thousands of them fit in a fraction of a core. The ramp adds listeners step by step
and keeps the largest step where loss ≤ 1% and the p99 gap between packets ≤ 60 ms.
Server CPU comes from /proc/<pid>/stat for the server process alone.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
from aiohttp import web

from bench.net import free_port, wait_listening
from bench.rooms_peers import listeners_main, speakers_main
from rooms.app import create_app
from rooms.captions import RATE, WINDOW_S, load_model, speech_wav, transcribe
from rooms.config import RoomsConfig
from rooms.sources import read_wav

log = logging.getLogger(__name__)

SECRET = "bench-secret-" + "x" * 32
MAX_LOSS_PCT = 1.0
MAX_GAP_P99_MS = 60.0
LISTENER_PROCESSES = 3
TICKS = os.sysconf("SC_CLK_TCK")


def server_cpu_s(pid: int) -> float:
    """Return the CPU seconds (user + system, all threads) process `pid` has used."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _cpu_s(pids: list[int]) -> float:
    """Return the CPU seconds these processes have used; one that has exited counts 0."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += server_cpu_s(pid)
    return total


def server_rss_kb(pid: int) -> int:
    """Return the resident memory of process `pid` in KiB."""
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _report_gc_pauses(min_ms: float = 20.0) -> None:
    """Print each garbage collection that stalls the server over `min_ms` (to stderr)."""
    started = [0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        ms = (time.perf_counter() - started[0]) * 1000
        if ms > min_ms:
            print(f"  server gc gen{info['generation']}: {ms:.0f} ms", file=sys.stderr)

    gc.callbacks.append(callback)


def _server_main(data_dir: str, port: int, captions: bool) -> None:
    _report_gc_pauses()

    config = RoomsConfig(
        data_dir=Path(data_dir),
        secret=SECRET,
        rooms_url=f"http://127.0.0.1:{port}",
        portal_url="",
        captions=captions,
    )
    web.run_app(create_app(config), host="127.0.0.1", port=port, print=None)


def _ask(conn: Connection, message: tuple[Any, ...], timeout: float = 120.0) -> Any:
    conn.send(message)
    return _reply(conn, timeout)


def _reply(conn: Connection, timeout: float) -> Any:
    if not conn.poll(timeout):
        raise TimeoutError(f"a bench peer did not answer in {timeout:.0f} s")
    reply = conn.recv()
    if isinstance(reply, dict) and "error" in reply:
        raise RuntimeError(f"bench peer failed: {reply['error']}")
    return reply


class Bench:
    """Start the server, the talkers and the listener processes; ramp and measure."""

    def __init__(self, captions: bool = False) -> None:
        self.ctx = mp.get_context("spawn")
        self.tmp = tempfile.TemporaryDirectory()
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.server = self.ctx.Process(
            target=_server_main, args=(self.tmp.name, port, captions), daemon=True
        )
        self.procs: list[Any] = [self.server]
        self.conns: list[Connection] = []
        self.server.start()
        wait_listening(port, "the room server")
        self.speakers = self._spawn(speakers_main, self.url, SECRET)
        self.room_id = _ask(self.speakers, ("start",), 60)["room_id"]
        self.listeners = [
            self._spawn(listeners_main, self.url, self.room_id) for _ in range(LISTENER_PROCESSES)
        ]
        self.count = 0
        self._drop_turn = 0  # which listener process loses the next odd drop

    def _spawn(self, target: Any, *args: Any) -> Connection:
        parent, child = self.ctx.Pipe()
        proc = self.ctx.Process(target=target, args=(*args, child), daemon=True)
        proc.start()
        self.procs.append(proc)
        self.conns.append(parent)
        return parent

    def grow(self, total: int) -> None:
        """Add listeners, spread over the listener processes, until there are `total`."""
        need = total - self.count
        share = [need // len(self.listeners)] * len(self.listeners)
        for i in range(need % len(self.listeners)):
            share[i] += 1
        for conn, n in zip(self.listeners, share, strict=True):
            conn.send(("add", n))
        replies = [_reply(conn, 300) for conn in self.listeners]
        self.count = sum(r["count"] for r in replies)
        failed = sum(r["failed"] for r in replies)
        if failed:
            print(f"  {failed} listeners failed to join; measuring {self.count}", flush=True)

    def measure(self, window: float, drops: int = 0, talker_drops: int = 0) -> dict[str, Any]:
        """Count packets and gaps over `window` seconds, with the server's CPU meanwhile.

        `drops` listeners and `talker_drops` talkers lose their connection during the
        window and rejoin with their resume tokens (the soak's forced reconnects).
        """
        pid = self.server.pid
        assert pid is not None
        peers = [p.pid for p in self.procs[1:] if p.pid is not None]
        cpu0, peers0, t0 = server_cpu_s(pid), _cpu_s(peers), time.monotonic()
        shares = [drops // len(self.listeners)] * len(self.listeners)
        for i in range(drops % len(self.listeners)):
            shares[(i + self._drop_turn) % len(shares)] += 1
        self._drop_turn += drops
        for conn, share in zip(self.listeners, shares, strict=True):
            conn.send(("measure", (window, share)))
        self.speakers.send(("measure", (window, talker_drops)))
        replies = [_reply(conn, window + 120) for conn in self.listeners]
        latency = _reply(self.speakers, window + 120)
        elapsed = time.monotonic() - t0
        cpu = (server_cpu_s(pid) - cpu0) / elapsed
        peers_cpu = (_cpu_s(peers) - peers0) / elapsed
        received = sum(r["received"] for r in replies)
        expected = sum(r["expected"] for r in replies)
        gaps = np.concatenate([np.asarray(r["gaps"]) for r in replies] or [np.zeros(1)])
        return {
            "listeners": float(self.count),
            "cpu_cores": cpu,
            "peers_cpu_cores": peers_cpu,
            "loss_pct": max(0.0, 100.0 * (1 - received / max(expected, 1))),
            "gap_p99_ms": float(np.percentile(gaps, 99) * 1000) if len(gaps) else 1e9,
            "latency_p95_ms": latency["p95_ms"],
            "rss_kb": float(server_rss_kb(pid)),
            "rejoin_s": [t for r in replies for t in r["rejoin_s"]] + latency["rejoin_s"],
        }

    def close(self) -> None:
        """Stop every process this bench started."""
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.send(("quit",))
        for proc in self.procs[1:]:
            proc.join(10)
        for proc in self.procs:
            if proc.is_alive():
                proc.terminate()
            proc.join(10)
        self.tmp.cleanup()


def ramp(steps: list[int], settle: float, window: float, budget: float) -> dict[str, float]:
    """Grow the audience through `steps`; return the figures of the largest passing step."""
    deadline = time.monotonic() + budget
    bench = Bench()
    try:
        time.sleep(settle)
        base = bench.measure(window)
        best: dict[str, float] = {}
        # The first passing step: latency there is the media path's own, before the
        # machine (server and listener peers alike) gets busy.
        light: dict[str, float] = {}
        for count in steps:
            if time.monotonic() > deadline:
                break
            bench.grow(count)
            time.sleep(settle)
            step = bench.measure(window)
            print(
                f"  {step['listeners']:5.0f} listeners: server {step['cpu_cores']:.2f} cores "
                f"(peers {step['peers_cpu_cores']:.2f}), "
                f"loss {step['loss_pct']:.2f}%, gap p99 {step['gap_p99_ms']:.0f} ms, "
                f"latency p95 {step['latency_p95_ms']:.0f} ms",
                flush=True,
            )
            failed = step["loss_pct"] > MAX_LOSS_PCT or step["gap_p99_ms"] > MAX_GAP_P99_MS
            if failed and best:
                break
            if failed:
                # Not even the first step passed: report its figures, and zero listeners.
                step["measured"], step["listeners"] = step["listeners"], 0.0
                best = step
                break
            best = step
            light = light or step
        measured = best.get("measured", best["listeners"])
        per_listener_cpu = (best["cpu_cores"] - base["cpu_cores"]) / measured
        return {
            "rooms.listeners_per_core": best["listeners"] / max(best["cpu_cores"], 1e-3),
            "rooms.listeners_sustained": best["listeners"],
            "rooms.server_cpu_cores": best["cpu_cores"],
            # Talkers, probe and listener peers: with the server, what the machine carried.
            "rooms.peers_cpu_cores": best["peers_cpu_cores"],
            "rooms.talkers_cpu_cores": base["cpu_cores"],
            "rooms.us_per_listener_packet": per_listener_cpu / 25 * 1e6,
            "rooms.loss_pct": best["loss_pct"],
            "rooms.gap_p99_ms": best["gap_p99_ms"],
            "rooms.latency_p95_ms": best["latency_p95_ms"],
            "rooms.latency_p95_ms_light": light.get("latency_p95_ms", best["latency_p95_ms"]),
            "rooms.latency_light_listeners": light.get("listeners", best["listeners"]),
            "rooms.mem_per_listener_kb": (best["rss_kb"] - base["rss_kb"]) / measured,
        }
    finally:
        bench.close()


def run(quick: bool = False) -> dict[str, float]:
    """Run the listener ramp and the captions measure; return flat figures."""
    if quick:
        results = ramp([100, 200], settle=2.0, window=4.0, budget=25.0)
        speech_s = 6.0
    else:
        steps = [100, 200, 300, 400, 600, 800, 1000, 1300, 1600, 2000]
        results = ramp(steps, settle=3.0, window=6.0, budget=210.0)
        speech_s = 20.0
    results["rooms.captions_cpu_pct"] = measure_cpu_pct(speech_s)
    return results


if __name__ == "__main__":
    import sys

    for key, value in run(quick="--quick" in sys.argv).items():
        print(f"{key:32} {value:10.2f}")


def measure_cpu_pct(speech_s: float = 20.0) -> float:
    """Return the CPU (% of one core) captions take while someone speaks without pause."""
    load_model()
    with tempfile.TemporaryDirectory() as tmp:
        text = "the quick brown fox jumps over the lazy dog while the band plays on"
        speech = read_wav(speech_wav(text, Path(tmp) / "speech.wav"))
    audio = np.tile(speech, int(np.ceil(speech_s * RATE / len(speech))))[: int(speech_s * RATE)]
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    for start in range(0, len(audio), int(WINDOW_S * RATE)):
        transcribe(audio[start : start + int(WINDOW_S * RATE)])
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    log.info("captions: %.1f s of speech in %.1f s", speech_s, time.monotonic() - t0)
    return 100.0 * cpu / speech_s

"""End-to-end latency of the WhatsApp channel, with Rasa's REST channel as baseline.

    .venv/bin/python benchmarks/whatsapp_latency.py                 # starts its own stack
    .venv/bin/python benchmarks/whatsapp_latency.py \\
        --rasa-url http://127.0.0.1:5005 --simulator-url http://127.0.0.1:8081 \\
        --app-secret "$WHATSAPP_APP_SECRET"                        # a running stack

WhatsApp latency: from the start of the signed webhook POST until the fake
Graph API (the simulator) receives the first reply message. REST latency:
the round trip of ``POST /webhooks/rest/webhook`` with the same question.
Both run sequentially (one conversation at a time) and with 20 conversations
at once, and print p50/p95/p99 side by side with the WhatsApp/REST ratio.
The webhook's own answer time (ack) is also reported, p99 while busy.

Every measured question goes to a fresh conversation that was warmed up
with ``/greet`` first, so the one-time disclaimer and any handover do not
distort the numbers.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from helpers import whatsapp as wa  # noqa: E402

FALLBACK_QUESTIONS = [
    "Hoe vraag ik een paspoort aan?", "Wanneer wordt het afval opgehaald?",
    "Hoe geef ik een verhuizing door?", "Waar staat de dichtstbijzijnde glasbak?",
    "Wat kost een ID-kaart?", "Hoe vraag ik een parkeervergunning aan?",
]
_numbers = itertools.count(random.randint(0, 10**4) * 1000)


def questions(limit: int) -> list[str]:
    """Real citizen questions from the evaluation set (answerable ones), else a few built in."""
    path = ROOT / "tests" / "eval" / "cases.yml"
    try:
        cases = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        found = [c["text"] for c in cases if c.get("expect") != "handover"]
    except (OSError, yaml.YAMLError, TypeError, KeyError):
        found = []
    found = found or FALLBACK_QUESTIONS
    return [found[i % len(found)] for i in range(limit)]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)   # seconds
    acks: list[float] = field(default_factory=list)
    errors: int = 0

    def summary(self) -> dict:
        return {"n": len(self.latencies), "errors": self.errors,
                **{f"p{p}_ms": round(percentile(self.latencies, p) * 1000, 1) for p in (50, 95, 99)},
                "ack_p99_ms": round(percentile(self.acks, 99) * 1000, 1) if self.acks else None}


class ReplyWatcher:
    """One poller of the simulator for all conversations: wa_id -> first new reply time."""

    def __init__(self, client: httpx.AsyncClient, simulator_url: str) -> None:
        self.client = client
        self.url = simulator_url.rstrip("/") + "/_sim/messages"
        self.waiting: dict[str, asyncio.Future] = {}
        self.seq = 0

    async def start_seq(self) -> None:
        response = await self.client.get(self.url.replace("/messages", "/health"))
        self.seq = response.json().get("seq", 0)

    def expect(self, wa_id: str, count: int = 1) -> asyncio.Future:
        """Resolves with the arrival time of the ``count``-th next message to ``wa_id``."""
        future = asyncio.get_running_loop().create_future()
        self.waiting[wa_id] = (count, future)
        return future

    async def run(self) -> None:
        while True:
            response = await self.client.get(self.url, params={"since": self.seq})
            for event in response.json()["messages"]:
                self.seq = max(self.seq, event["seq"])
                count, future = self.waiting.pop(event["wa_id"], (0, None))
                if future is None or future.done():
                    continue
                if count > 1:
                    self.waiting[event["wa_id"]] = (count - 1, future)
                else:
                    future.set_result(event["received_at"])
            await asyncio.sleep(0.005)


async def warm_up(client: httpx.AsyncClient, args, watcher: ReplyWatcher, wa_id: str) -> None:
    """Disclaimer and greeting out of the way: the next reply is the answer."""
    done = watcher.expect(wa_id, count=2)
    await wa.apost(client, args.rasa_url, wa.text(wa_id, "/greet"), args.app_secret)
    await asyncio.wait_for(done, timeout=60)


async def whatsapp_once(client, args, watcher: ReplyWatcher, wa_id: str, question: str, result: Result) -> None:
    done = watcher.expect(wa_id)
    started = time.time()
    try:
        response = await wa.apost(client, args.rasa_url, wa.text(wa_id, question), args.app_secret)
        result.acks.append(time.time() - started)
        response.raise_for_status()
        received_at = await asyncio.wait_for(done, timeout=60)
        result.latencies.append(received_at - started)
    except (httpx.HTTPError, asyncio.TimeoutError):
        result.errors += 1


async def rest_once(client, args, sender: str, question: str, result: Result) -> None:
    started = time.perf_counter()
    try:
        response = await client.post(args.rasa_url.rstrip("/") + "/webhooks/rest/webhook",
                                     json={"sender": sender, "message": question}, timeout=60)
        response.raise_for_status()
        result.latencies.append(time.perf_counter() - started)
    except httpx.HTTPError:
        result.errors += 1


async def run_whatsapp(args, qs: list[str], concurrency: int) -> Result:
    result = Result()
    async with httpx.AsyncClient(timeout=60) as client:
        watcher = ReplyWatcher(client, args.simulator_url)
        await watcher.start_seq()
        poller = asyncio.create_task(watcher.run())
        try:
            wa_ids = [f"3161{next(_numbers):07d}" for _ in qs]
            limit = asyncio.Semaphore(concurrency)

            async def warm(wa_id):
                async with limit:
                    await warm_up(client, args, watcher, wa_id)

            await asyncio.gather(*(warm(w) for w in wa_ids))

            async def one(wa_id, question):
                async with limit:
                    await whatsapp_once(client, args, watcher, wa_id, question, result)

            await asyncio.gather(*(one(w, q) for w, q in zip(wa_ids, qs)))
        finally:
            poller.cancel()
    return result


async def run_rest(args, qs: list[str], concurrency: int) -> Result:
    result = Result()
    async with httpx.AsyncClient(timeout=60) as client:
        senders = [f"bench-{next(_numbers)}" for _ in qs]
        limit = asyncio.Semaphore(concurrency)

        async def warm(sender):
            async with limit:
                await rest_once(client, args, sender, "/greet", Result())

        await asyncio.gather(*(warm(s) for s in senders))

        async def one(sender, question):
            async with limit:
                await rest_once(client, args, sender, question, result)

        await asyncio.gather(*(one(s, q) for s, q in zip(senders, qs)))
    return result


def report(rows: dict[str, dict]) -> str:
    lines = [f"{'mode':<26}{'n':>5}{'err':>5}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'ack p99':>10}"]
    for name, row in rows.items():
        ack = f"{row['ack_p99_ms']:.1f}" if row.get("ack_p99_ms") is not None else "-"
        lines.append(f"{name:<26}{row['n']:>5}{row['errors']:>5}{row['p50_ms']:>10.1f}"
                     f"{row['p95_ms']:>10.1f}{row['p99_ms']:>10.1f}{ack:>10}")
    for mode in ("sequential", "concurrent"):
        w, r = rows.get(f"whatsapp {mode}"), rows.get(f"rest {mode}")
        if w and r and r["p50_ms"]:
            lines.append(f"ratio whatsapp/rest {mode}: p50 {w['p50_ms'] / r['p50_ms']:.2f}x, "
                         f"p95 {w['p95_ms'] / r['p95_ms']:.2f}x, p99 {w['p99_ms'] / r['p99_ms']:.2f}x")
    return "\n".join(lines)


async def benchmark(args) -> dict[str, dict]:
    seq_q, conc_q = questions(args.n), questions(args.n_concurrent)
    rows = {}
    rows["rest sequential"] = (await run_rest(args, seq_q, 1)).summary()
    rows["whatsapp sequential"] = (await run_whatsapp(args, seq_q, 1)).summary()
    rows["rest concurrent"] = (await run_rest(args, conc_q, args.concurrency)).summary()
    rows["whatsapp concurrent"] = (await run_whatsapp(args, conc_q, args.concurrency)).summary()
    return rows


def start_stack():
    """A throw-away stack on free ports (needs `make install train` done once)."""
    from bot.launcher import Ports, Stack

    stack = Stack(Path(tempfile.mkdtemp(prefix="balie-bench-")), ports=Ports.free())
    print("starting a stack (Rasa, actions, simulator, handover) ...", file=sys.stderr, flush=True)
    stack.start()
    return stack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rasa-url", help="running Rasa server; omit to start a stack")
    parser.add_argument("--simulator-url", help="the simulator with the fake Graph API")
    parser.add_argument("--app-secret", help="WHATSAPP_APP_SECRET of the running stack")
    parser.add_argument("--n", type=int, default=60, help="questions in the sequential run")
    parser.add_argument("--n-concurrent", type=int, default=200, help="questions in the concurrent run")
    parser.add_argument("--concurrency", type=int, default=20, help="conversations at once")
    parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = parser.parse_args(argv)
    stack = None
    if not args.rasa_url:
        stack = start_stack()
        args.rasa_url, args.simulator_url, args.app_secret = stack.rasa_url, stack.simulator_url, stack.app_secret
    elif not (args.simulator_url and args.app_secret):
        parser.error("--rasa-url needs --simulator-url and --app-secret")
    try:
        rows = asyncio.run(benchmark(args))
    finally:
        if stack is not None:
            stack.stop()
    print(report(rows))
    if args.json:
        print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: the registry under a steady mix of reads and writes, on loopback only.

Starts ``critmin serve`` on a fresh, seeded SQLite file (or ``--db``), then drives it
open-loop: requests are scheduled at a fixed rate and latency is measured from each
request's scheduled time to its response (queueing included, so a slow server cannot hide
behind a slow client). Two phases in the same run:

0. warm-up, 3 s of the mixed load, not counted;
1. baseline: reads only, at the target rate (``--baseline-s``, default 15 s);
2. mixed: ``--write-share`` writes (create and update stockpile holdings, create commitments)
   and the rest reads (lists with filters, search, records by id, the audit log), for
   ``--duration`` (default 60 s).

Target (issue 8): 200 requests/s of the mixed load for 60 s on SQLite, p99 < 100 ms, no
errors. Prints the figures and the mixed p99 as a ratio of the baseline p99. Bounded: each
phase stops at its duration (plus at most 10 s to drain).

Run: ``python benchmarks/bench_registry_load.py`` (``--duration 10`` for a quick look).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from critmin.service.db import make_engine
from critmin.service.migrate import upgrade
from critmin.service.seed import create_user, seed

DRAIN_S = 10.0
WORKERS = 32
WARMUP_S = 3.0  # not counted: first connections, first queries


@dataclass
class Phase:
    """Latencies (s) and errors of one phase."""

    name: str
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    def percentile(self, q: float) -> float:
        """The q-quantile of latency in ms."""
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0

    def report(self) -> str:
        """One line of figures."""
        rate = len(self.latencies) / self.elapsed_s if self.elapsed_s else 0.0
        mean = 1000 * statistics.fmean(self.latencies) if self.latencies else 0.0
        return (
            f"{self.name:9s} {len(self.latencies):6d} ok  {len(self.errors):4d} errors  "
            f"{rate:7.1f} req/s  mean {mean:6.1f} ms  p50 {self.percentile(0.5):6.1f} ms  "
            f"p99 {self.percentile(0.99):6.1f} ms  max {self.percentile(1.0):6.1f} ms"
        )


class Client:
    """A keep-alive HTTP/1.1 connection (the standard library's: light on CPU, so the
    client does not steal the server's cores on a small machine)."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.connection = http.client.HTTPConnection(host, port, timeout=DRAIN_S)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: object = None) -> tuple[int, object]:
        """Send one request; the status and the decoded JSON body (None if empty)."""
        payload = None if body is None else json.dumps(body)
        self.connection.request(method, path, body=payload, headers=self.headers)
        response = self.connection.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else None

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()


def _request(client: Client, rng: random.Random, write_share: float, ids: list[int]) -> int:
    """One request of the mix; returns the status code."""
    if rng.random() < write_share:
        choice = rng.random()
        if choice < 0.5 or not ids:
            payload = {
                "party_code": "USA",
                "material": rng.choice(["gallium", "germanium"]),
                "tonnes": rng.uniform(1, 500),
                "as_of": "2026-06-01",
            }
            status, body = client.call("POST", "/api/stockpiles", payload)
            if status == 201 and isinstance(body, dict):
                ids.append(int(body["id"]))
            return status
        if choice < 0.8:
            change = {"tonnes": rng.uniform(1, 500)}
            return client.call("PATCH", f"/api/stockpiles/{rng.choice(ids)}", change)[0]
        payload = {
            "party_code": "USA",
            "text": "benchmark commitment",
            "deadline": "2027-01-01",
            "visibility": "confidential",
        }
        return client.call("POST", "/api/commitments", payload)[0]
    choice = rng.random()
    if choice < 0.3:
        return client.call("GET", "/api/projects?country_iso3=USA&limit=50")[0]
    if choice < 0.5:
        return client.call("GET", "/api/commitments?status=overdue")[0]
    if choice < 0.7 and ids:
        return client.call("GET", f"/api/stockpiles/{rng.choice(ids)}")[0]
    if choice < 0.85:
        return client.call("GET", "/api/stockpiles?q=gall&limit=20")[0]
    return client.call("GET", "/api/audit?limit=20")[0]


def run_phase(
    name: str,
    port: int,
    token: str,
    rate: float,
    seconds: float,
    write_share: float,
    ids: list[int],
) -> Phase:
    """Send ``rate`` requests/s for ``seconds`` (open loop) and collect latencies."""
    phase = Phase(name)
    total = int(rate * seconds)
    start = time.perf_counter() + 0.2
    next_slot = iter(range(total))
    lock = threading.Lock()

    def worker(seed_value: int) -> None:
        rng = random.Random(seed_value)
        client = Client("127.0.0.1", port, token)
        try:
            while True:
                with lock:
                    slot = next(next_slot, None)
                if slot is None:
                    return
                scheduled = start + slot / rate
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                try:
                    status = _request(client, rng, write_share, ids)
                except (OSError, http.client.HTTPException) as exc:
                    phase.errors.append(f"{type(exc).__name__}: {exc}")
                    client.close()
                    client = Client("127.0.0.1", port, token)
                    continue
                finished = time.perf_counter()
                if status >= 400:
                    phase.errors.append(f"HTTP {status}")
                else:
                    phase.latencies.append(finished - scheduled)
        finally:
            client.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + DRAIN_S)
    phase.elapsed_s = time.perf_counter() - start
    return phase


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=60.0, help="mixed phase, seconds")
    parser.add_argument("--baseline-s", type=float, default=15.0, help="reads-only, seconds")
    parser.add_argument("--write-share", type=float, default=0.2, help="share of writes")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--db", default=None, help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="critmin-bench-"))
    url = args.db or f"sqlite:///{folder / 'registry.sqlite'}"
    engine = make_engine(url)
    upgrade(engine)
    seed(engine)
    token = create_user(engine, f"bench-{int(time.time())}", "USA", "editor")
    engine.dispose()
    log = (folder / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "critmin", "serve", "--db", url, "--port", str(args.port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(150):
            try:
                httpx.get(f"{base}/docs", timeout=1.0)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        ids: list[int] = []
        print(
            f"registry load, {url.split(':')[0]}, target {args.rate:.0f} req/s, "
            f"{args.write_share:.0%} writes, loopback {base}"
        )
        run_phase("warm-up", args.port, token, args.rate, WARMUP_S, args.write_share, ids)
        baseline = run_phase("reads", args.port, token, args.rate, args.baseline_s, 0.0, ids)
        print(baseline.report())
        mixed = run_phase(
            "mixed", args.port, token, args.rate, args.duration, args.write_share, ids
        )
        print(mixed.report())
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)
    load = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load[0]:.2f} (1 min) at the end: "
        "the client, the server and any other work share them"
    )
    ratio = mixed.percentile(0.99) / max(baseline.percentile(0.99), 1e-9)
    achieved = len(mixed.latencies) / mixed.elapsed_s
    print(f"mixed p99 / reads-only p99 = {ratio:.2f}x")
    ok = achieved >= 0.98 * args.rate and mixed.percentile(0.99) < 100 and not mixed.errors
    print(
        f"target {args.rate:.0f} req/s with p99 < 100 ms and no errors: "
        f"{'met' if ok else 'NOT met'} ({achieved:.1f} req/s)"
    )
    for error in sorted(set(mixed.errors + baseline.errors))[:5]:
        print("  error:", error)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

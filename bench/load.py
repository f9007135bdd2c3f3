"""Load: a crowd of voters through the real web server, as browsers drive it.

    python bench/load.py --voters 50,100,200 --think 8 --tokens 150 --rate 30 --ttft 0.5
    python bench/load.py --voters 200 --replicas 2      # two arena processes behind nginx
    python bench/load.py --voters 200 --think 0 --tokens 40 --rate 25 --battles 1200 \
        --no-limits --replicas 1,2,4 --arena-cpus 0.25 --rounds 3   # scale-out, capped

A stand-in OpenAI-compatible server (its own process, a lean asyncio server so it is
not what breaks) streams ``--tokens`` tokens at ``--rate`` tokens/s after a first
token delay of ``--ttft`` seconds. The arena runs as users run it (``run_arena.py
serve``, its own process or ``--replicas`` processes behind Debian's nginx with the
configuration of ``deploy/``), with four models on the stand-in. Each simulated voter
has its own browser cookie and does what the page's script does: post a prompt to
``/api/turn``, read the turn's start, both answers and the finished turn from its
event stream, read for a uniform random 0..``--think`` seconds, vote (``/api/vote``),
press New round (no request), and go on until ``--battles`` battles are done at that
level. The arena keeps its default limits (prompts per minute, votes per day, per
browser and per address: the store work an organizer's arena does); each voter comes
from an address of its own (198.18.0.0/15, forwarded in ``X-Forwarded-For`` as a proxy on
this machine would). ``--no-limits`` lifts the limits.

``--arena-cpus X`` caps each arena process at X cores (a cgroup of its own: v2's
``cpu.max`` or v1's CFS quota; bench/_cgroups.py), so the arena processes are what runs
out and the stand-in, nginx and this client have room: scale-out measured as if each
process had a machine of its own. ``--replicas 1,2,4`` deploys each count in turn (a
fresh database each), ``--rounds`` repeats them interleaved, and a summary gives each
count's battles/s, its scaling against one process in the same round, and the arena's
CPU per battle, as spreads over the rounds.

One row per level: battles/s, the time to first token the arena adds over the
stand-in's own (p50/p95, per side, from pressing Send), the p95 gap between a side's
screen updates, errors, votes acknowledged and votes found in the database after the
level, and the CPU seconds of the arena, the stand-in, this client and the whole machine
(kernel, nginx and database included: how close the machine is to its limit). The issue's
target on a 2-core machine: 100 voters of the crowd workload with p95 added time to
first token < 100 ms, p95 gap < 250 ms, no errors and every acknowledged vote stored.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parent.parent
CORES = os.cpu_count() or 1
sys.path.insert(0, str(ROOT))

from arena.backends.supervisor import free_port  # noqa: E402
from arena.deploy import run_nginx  # noqa: E402
from bench._cgroups import CpuCapError, CpuCaps  # noqa: E402
from bench._voter import Battle, Voter  # noqa: E402
from bench.standin import standin  # noqa: E402

# ---------------------------------------------------------------- the run


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes (their children included once waited)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_cpu() -> float:
    """CPU seconds the whole machine has been busy (every process and the kernel;
    /proc/stat), 0 where there is no /proc."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except OSError:
        return 0.0
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def count_votes(db: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(db)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(text("select count(*) from battles where state='voted'")).scalar_one()
            )
    finally:
        engine.dispose()


@dataclass
class Processes:
    arena: list[int]
    standin: int


async def level(
    url: str,
    http: aiohttp.ClientSession,
    voters: int,
    args: argparse.Namespace,
    procs: Processes,
    db: str,
) -> dict[str, Any]:
    """``voters`` simulated voters doing battles one after another until ``battles``
    (at least one per voter) are done."""
    total = max(args.battles, voters)
    numbers = iter(range(total))
    results: list[Battle] = []
    rng = random.Random(voters)
    votes_before = count_votes(db)
    each_before = [cpu_seconds([pid]) for pid in procs.arena]
    cpu_before = (
        cpu_seconds(procs.arena),
        cpu_seconds([procs.standin]),
        client_cpu(),
        machine_cpu(),
    )

    async def voter(number: int) -> None:
        v = Voter(url, http, number)
        await asyncio.sleep(rng.uniform(0, args.think))  # arrivals spread out
        await v.open_page()
        for i in numbers:
            results.append(
                await v.battle(f"Load test prompt {i}: tell me something.", args.think, rng)
            )

    started = time.monotonic()
    await asyncio.gather(*(voter(n) for n in range(voters)))
    wall = time.monotonic() - started
    each = [cpu_seconds([pid]) - b for pid, b in zip(procs.arena, each_before, strict=True)]
    cpu_after = (
        cpu_seconds(procs.arena),
        cpu_seconds([procs.standin]),
        client_cpu(),
        machine_cpu(),
    )
    ok = [r for r in results if r.error is None]
    added = [(t - args.ttft) * 1000 for r in ok for t in r.first.values()]
    gaps = [
        (b - a) * 1000
        for r in ok
        for times in r.updates.values()
        for a, b in zip(times, times[1:], strict=False)
    ]
    errors = [r.error for r in results if r.error]
    calls = {
        f"{api}_p95_ms": percentile([r.calls[api] * 1000 for r in ok if api in r.calls], 0.95)
        for api in ("start", "vote")
    }
    return {
        "voters": voters,
        "battles": total,
        "completed": len(ok),
        "battles_per_s": len(ok) / wall,
        "added_ttft_p50_ms": percentile(added, 0.5),
        "added_ttft_p95_ms": percentile(added, 0.95),
        "gap_p95_ms": percentile(gaps, 0.95),
        # Screen updates a battle's two panes got: fewer when a busy process gathers
        # more text into each (its CPU a battle falls as its load rises).
        "updates_per_battle": sum(len(t) for r in ok for t in r.updates.values()) / max(len(ok), 1),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "votes_acknowledged": sum(r.voted for r in results),
        "votes_stored": count_votes(db) - votes_before,
        "arena_cpu_s": cpu_after[0] - cpu_before[0],
        "arena_cpu_s_each": each,  # per arena process
        "arena_ms_per_battle": 1000 * (cpu_after[0] - cpu_before[0]) / max(len(ok), 1),
        "standin_cpu_s": cpu_after[1] - cpu_before[1],
        "client_cpu_s": cpu_after[2] - cpu_before[2],
        "machine_cpu_s": cpu_after[3] - cpu_before[3],
        "wall_s": wall,
        **calls,
    }


CONFIG = """\
[arena]
terms = ""
{limits}
{max_live}
{models}
"""
NO_LIMITS = """\
prompts_per_minute = 0
ip_prompts_per_minute = 0
votes_per_day = 0
ip_votes_per_day = 0
"""

MODEL = """
[[models]]
name = "standin-{i}"
kind = "openai"
base_url = "http://127.0.0.1:{port}/v1"
params = {{ max_tokens = {tokens} }}
"""


async def wait_healthy(
    http: httpx.AsyncClient, url: str, servers: list[subprocess.Popen[bytes]], log: Path
) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            if (await http.get(url + "/api/health")).json()["status"] == "ok":
                return
        except (httpx.HTTPError, ValueError):
            pass
        if time.monotonic() > deadline or any(s.poll() is not None for s in servers):
            raise SystemExit(log.read_text())
        await asyncio.sleep(0.3)


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every replica count in ``--replicas``, ``--rounds`` times interleaved (1, 2, 4,
    1, 2, 4, ...: a machine's slow minute falls on every count alike), each a fresh
    deployment on one stand-in."""
    backend_port = free_port()
    backend = multiprocessing.Process(
        target=standin, args=(backend_port, args.ttft, args.tokens, args.rate), daemon=True
    )
    backend.start()
    rows: list[dict[str, Any]] = []
    try:
        for number in range(args.rounds):
            for replicas in args.replicas:
                for row in await deployment(args, replicas, backend_port, backend.pid or 0):
                    rows.append({"round": number + 1, **row})
    finally:
        backend.terminate()
    for row in rows:  # against one process in the same round, at the same level
        one = [
            r
            for r in rows
            if r["round"] == row["round"] and r["voters"] == row["voters"] and r["replicas"] == 1
        ]
        row["scaling"] = row["battles_per_s"] / one[0]["battles_per_s"] if one else None
    return rows


async def deployment(
    args: argparse.Namespace, replicas: int, backend_port: int, backend_pid: int
) -> list[dict[str, Any]]:
    """``replicas`` arena processes (behind nginx when more than one), each capped at
    ``--arena-cpus`` cores when given, on a new database: one row per voter level."""
    folder = Path(tempfile.mkdtemp(prefix="arena-load-"))
    config = folder / "arena.toml"
    models = "".join(
        MODEL.format(i=i, port=backend_port, tokens=args.tokens + 10) for i in range(4)
    )
    max_live = "" if args.max_live is None else f"max_live_turns = {args.max_live}"
    limits = NO_LIMITS if args.no_limits else ""
    config.write_text(CONFIG.format(models=models, max_live=max_live, limits=limits))
    db = args.db or f"sqlite:///{folder / 'load.db'}"
    log = folder / "serve.log"
    ports = [free_port() for _ in range(replicas)]
    rows = []
    with ExitStack() as stack, log.open("w") as out:
        caps = None
        if args.arena_cpus:
            caps = CpuCaps(args.arena_cpus)
            stack.callback(caps.close)  # runs last: after the processes have exited
        servers = []
        for port in ports:
            server = subprocess.Popen(
                [sys.executable, str(ROOT / "run_arena.py"), "serve", "--config", str(config)]
                + ["--port", str(port), "--db", db],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=folder,
            )
            stack.callback(lambda s=server: (s.terminate(), s.wait(30)))
            if caps is not None:
                caps.add(server.pid)
            servers.append(server)
        if replicas > 1:
            front = free_port()
            stack.enter_context(
                run_nginx(folder / "nginx", front, [f"127.0.0.1:{p}" for p in ports])
            )
            url = f"http://127.0.0.1:{front}"
        else:
            url = f"http://127.0.0.1:{ports[0]}"
        async with httpx.AsyncClient(timeout=30) as setup:
            for port in ports:
                await wait_healthy(setup, f"http://127.0.0.1:{port}", servers, log)
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0),  # as many connections as voters
            cookie_jar=aiohttp.DummyCookieJar(),  # each voter sends its own cookies
            timeout=aiohttp.ClientTimeout(total=300),
        ) as http:
            warm = Voter(url, http)
            await warm.open_page()
            await warm.battle("warm-up", 0, random.Random(0))
            procs = Processes([s.pid for s in servers], backend_pid)
            for voters in args.voters:
                throttled = caps.throttled_s() if caps else 0.0
                row = await level(url, http, voters, args, procs, db)
                row["replicas"] = replicas
                row["arena_cpus"] = args.arena_cpus
                row["throttled_s"] = (caps.throttled_s() - throttled) if caps else 0.0
                rows.append(row)
                print(describe(row), flush=True)
    shutil.rmtree(folder, ignore_errors=True)
    return rows


def describe(row: dict[str, Any]) -> str:
    capped = f" at {row['arena_cpus']:g} core" if row["arena_cpus"] else ""
    each = "/".join(f"{c:.0f}" for c in row["arena_cpu_s_each"])
    return (
        f"{row['replicas']} process(es){capped}, {row['voters']:>4} voters: "
        f"{row['completed']}/{row['battles']} battles, "
        f"{row['battles_per_s']:.1f}/s, added TTFT p50 {row['added_ttft_p50_ms']:.0f} "
        f"p95 {row['added_ttft_p95_ms']:.0f} ms, gap p95 {row['gap_p95_ms']:.0f} ms "
        f"({row['updates_per_battle']:.0f} updates a battle), "
        f"errors {row['errors']}, votes {row['votes_stored']}/"
        f"{row['votes_acknowledged']} stored, CPU s arena {row['arena_cpu_s']:.0f} ({each}; "
        f"{row['arena_ms_per_battle']:.1f} ms a battle) "
        f"stand-in {row['standin_cpu_s']:.0f} client {row['client_cpu_s']:.0f} "
        f"machine {row['machine_cpu_s']:.0f} of {row['wall_s'] * CORES:.0f} "
        f"(wall {row['wall_s']:.0f}); p95 ms to start a turn "
        f"{row['start_p95_ms']:.0f}, to vote {row['vote_p95_ms']:.0f}"
        + (f"; throttled {row['throttled_s']:.0f} s" if row["arena_cpus"] else "")
        + (f" [{row['first_error']}]" if row["first_error"] else "")
    )


def summary(rows: list[dict[str, Any]]) -> None:
    """Per replica count and level: battles/s, the scaling against one process in the
    same round, and the arena's CPU per battle, each as its spread over the rounds."""
    if len({r["replicas"] for r in rows}) < 2:
        return
    print("processes  voters  battles/s (rounds)       scaling vs 1        ms CPU a battle")
    for replicas in sorted({r["replicas"] for r in rows}):
        for voters in sorted({r["voters"] for r in rows}):
            mine = [r for r in rows if r["replicas"] == replicas and r["voters"] == voters]

            def spread(key: str, fmt: str, rs: list[dict[str, Any]] = mine) -> str:
                values = [r[key] for r in rs if r[key] is not None]
                return ", ".join(format(v, fmt) for v in values) or "-"

            print(
                f"{replicas:>9}  {voters:>6}  {spread('battles_per_s', '.1f'):24} "
                f"{spread('scaling', '.2f'):19} {spread('arena_ms_per_battle', '.1f')}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    numbers = lambda s: [int(x) for x in s.split(",")]  # noqa: E731
    parser.add_argument(
        "--voters", type=numbers, default=[50, 100], help="voters per level (50,100)"
    )
    parser.add_argument("--battles", type=int, default=300, help="battles per level (300)")
    parser.add_argument(
        "--think", type=float, default=8.0, help="reading time before a vote: uniform 0..S s (8)"
    )
    parser.add_argument("--tokens", type=int, default=150, help="tokens per answer (150)")
    parser.add_argument("--rate", type=float, default=30.0, help="tokens/s per stream (30)")
    parser.add_argument("--ttft", type=float, default=0.5, help="stand-in first token, s (0.5)")
    parser.add_argument(
        "--replicas",
        type=numbers,
        default=[1],
        help="arena processes, one deployment per count (1,2,4); >1 puts nginx in front (1)",
    )
    parser.add_argument(
        "--arena-cpus",
        type=float,
        help="cap each arena process at this many cores (a cgroup each; needs root)",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="repeat the replica counts, interleaved (1)"
    )
    parser.add_argument(
        "--max-live",
        type=int,
        help="the arena's max_live_turns (default: the arena's own; 0: no limit)",
    )
    parser.add_argument("--db", help="database URL for the arena (default: a new SQLite file)")
    parser.add_argument(
        "--no-limits",
        action="store_true",
        help="lift the arena's prompt and vote limits (default: its own)",
    )
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args()
    if args.arena_cpus is not None:
        try:
            CpuCaps(args.arena_cpus).close()  # can it be done here at all: say so now
        except (CpuCapError, OSError) as exc:
            parser.error(str(exc))
    print(
        f"stand-in: first token {args.ttft * 1000:.0f} ms, {args.tokens} tokens at "
        f"{args.rate:g}/s; think 0..{args.think:g} s; arena processes "
        f"{','.join(map(str, args.replicas))}"
        + (f", each capped at {args.arena_cpus:g} core" if args.arena_cpus else "")
        + f"; machine: {os.cpu_count()} cores",
        flush=True,
    )
    rows = asyncio.run(run(args))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    summary(rows)
    for row in rows:
        meets = (
            row["added_ttft_p95_ms"] < 100
            and row["gap_p95_ms"] < 250
            and row["errors"] == 0
            and row["votes_stored"] == row["votes_acknowledged"]
        )
        print(
            f"{row['replicas']} process(es), {row['voters']} voters: "
            f"{'meets' if meets else 'misses'} the target "
            "(p95 added TTFT < 100 ms, p95 gap < 250 ms, no errors, every vote stored)"
        )


if __name__ == "__main__":
    main()

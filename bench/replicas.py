"""Scale-out: the saturation rate of one and of two webhook replicas (`wgbot run --webhook`) on one
PostgreSQL database, each a real process, with the CPU time of every process involved.

Run from the repository (PostgreSQL and Redis servers running):

    .venv/bin/python bench/replicas.py --database postgresql+asyncpg://postgres@127.0.0.1/NAME
        [--redis redis://127.0.0.1:6379/13] [--replicas 1,2] [--users 200] [--groups 8]
        [--start-rate 20] [--factor 1.3] [--refine 2] [--step-seconds 20] [--p99 0.5]

The schema `public` of the database is DROPPED and rebuilt, and the Redis database is flushed:
give both to this script alone. The working groups, members and meeting cards are made as in
`bench/updates.py` (its `set_up`, through the real Dispatcher in this process). Then, for each
number of replicas N (1 and 2), these processes run side by side:

- N replicas, `wgbot run --webhook`, on the one database, sharing Redis (conversation state,
  per-user isolation, the sending limiter), as in tests/runtime/test_replicas.py;
- the fake Bot API, `python -m bot.local_api_process` (bot/local_api_process.py), in a process
  of its own, knowing the chats, users and meeting cards made at set-up (no sending limits:
  what is measured is the bot, not Telegram's 30 messages per second);
- a load generator (this script with `--load-generator`), which POSTs updates to the replicas'
  webhooks in turn (round-robin, as a load balancer would), with the secret header. The mix is
  bench/updates.py's for these actions: RSVP presses on the meeting cards in the groups (59%),
  /calendar in groups (24%), /start in private (9%), /help in private or in a group (9%).

Offered load is open loop: arrivals are a Poisson process at the offered rate, each one POSTs
an update of a person who has none in progress, whatever the replicas are still doing, and its
latency counts from its scheduled arrival to the webhook's answer (a replica answers once the
update is handled, its replies sent). The rate is stepped up (start rate, times the factor)
until a step fails: p99 over the bound (500 ms), the rate achieved (updates answered 200 per
second, from the first arrival to the last answer) under 95% of the arrivals' rate, or any
request not answered 200; then
`--refine` bisections between the highest rate served and the lowest failed (a first step
that fails steps down instead). The saturation rate is the highest rate served. The replicas
are started once (two: the first alone serves the one-replica steps, the second idles then)
and the series take turns, one step each, so that whatever else runs on the machine weighs
on both alike; a warm-up at 10/s over all of them comes first and is not counted.

Printed per step: offered and achieved rates, p50/p99, failed requests, Bot API calls per
update, and the CPU time of each process in milliseconds per update answered: the replicas,
the PostgreSQL backends of this database (read from /proc), the whole Redis server (its INFO,
other databases on it included), the fake Bot API, the load generator, and the machine's busy
time against its capacity (cores x seconds), with what other processes took; each replica's
use of a core and the load average. At the end: the saturation rates and their ratio, and the
CPU ceilings those costs set (one core per replica; all of the bench's processes on the
machine's cores). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import signal
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SECRET = "replica-bench-secret-0123456789"
HOOK_PATH = "/telegram/webhook"
# The actions of bench/updates.py's mix that this bench offers, with the same weights.
MIX = {"rsvp": 34, "calendar": 14, "start": 5, "help": 5}
WARM_UP = (10.0, 10.0)  # rate, seconds


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# --- the load generator (a process of its own) -------------------------------------------------


class LoadGenerator:
    """Builds updates from the plan (users, groups, cards) and offers them at a rate."""

    def __init__(self, plan: dict[str, Any]) -> None:
        self.users = plan["users"]
        self.groups = {g["chat"]["id"]: g for g in plan["groups"]}
        self.update_id = plan["first_update_id"]
        self.message_id = 5_000_000
        self.callback_id = 0
        self.busy: set[int] = set()
        self.rng = random.Random(plan["seed"])

    def _message(self, user: dict, chat: dict, text: str) -> dict:
        self.message_id += 1
        command = text.split(maxsplit=1)[0]
        return {"message": {
            "message_id": self.message_id, "date": int(time.time()), "chat": chat,
            "from": user["user"], "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}]}}

    def next_update(self) -> tuple[int, str, dict]:
        """(user id, kind, update) for a person with no update in progress."""
        for _ in range(20):
            user = self.rng.choice(self.users)
            if user["user"]["id"] not in self.busy:
                break
        kind = self.rng.choices(list(MIX), list(MIX.values()))[0]
        group = self.groups[user["groups"][0]]
        private = {"id": user["user"]["id"], "type": "private",
                   "first_name": user["user"]["first_name"]}
        if kind == "rsvp":
            card = self.rng.choice(group["cards"])
            answer = self.rng.choice(("going", "maybe", "no"))
            self.callback_id += 1
            payload = {"callback_query": {
                "id": str(self.callback_id), "from": user["user"],
                "chat_instance": f"local{group['chat']['id']}",
                "message": card["message"], "data": card["rsvp"][answer]}}
        elif kind == "calendar":
            payload = self._message(user, group["chat"], "/calendar")
        elif kind == "start":
            payload = self._message(user, private, "/start")
        else:
            chat = private if self.rng.random() < 0.5 else group["chat"]
            payload = self._message(user, chat, "/help")
        self.update_id += 1
        return user["user"]["id"], kind, {"update_id": self.update_id, **payload}

    async def step(self, hooks: list[str], rate: float, seconds: float, seed: int) -> dict:
        """Offer Poisson arrivals at `rate` for `seconds`, round-robin over `hooks`."""
        from aiohttp import ClientError, ClientSession, ClientTimeout, TCPConnector

        arrivals_rng = random.Random(seed)
        latencies: list[float] = []
        by_kind: dict[str, list[float]] = {}
        late: list[float] = []  # how late this process sent each update
        failed: dict[str, int] = {}
        ends: list[float] = []
        tasks: list[asyncio.Task] = []
        cpu = time.process_time()
        async with ClientSession(connector=TCPConnector(limit=0),
                                 timeout=ClientTimeout(total=60)) as http:

            async def post(hook: str, due: float, user: int, kind: str, update: dict) -> None:
                late.append(time.perf_counter() - due)
                try:
                    async with http.post(hook, json=update, headers={
                            "X-Telegram-Bot-Api-Secret-Token": SECRET}) as response:
                        await response.read()
                        status = response.status
                except (ClientError, TimeoutError) as exc:
                    status = type(exc).__name__
                finally:
                    self.busy.discard(user)
                end = time.perf_counter()
                if status == 200:
                    latencies.append(end - due)
                    by_kind.setdefault(kind, []).append(end - due)
                    ends.append(end)
                else:
                    failed[str(status)] = failed.get(str(status), 0) + 1

            start = time.perf_counter()
            due = start
            n = 0
            while True:
                due += arrivals_rng.expovariate(rate)
                if due - start > seconds:
                    break
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                user, kind, update = self.next_update()
                self.busy.add(user)
                tasks.append(asyncio.ensure_future(
                    post(hooks[n % len(hooks)], due, user, kind, update)))
                n += 1
            await asyncio.gather(*tasks)
        span = max([seconds] + [e - start for e in ends])
        return {"rate": rate, "arrivals": n, "offered": n / seconds, "answered": len(latencies),
                "achieved": len(latencies) / span, "span": span,
                "p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99),
                "kinds": {k: [len(v), percentile(v, 0.5), percentile(v, 0.99)]
                          for k, v in sorted(by_kind.items())},
                "failed": failed, "late_p99": percentile(late, 0.99),
                "cpu": time.process_time() - cpu}


async def load_generator_main(plan: dict[str, Any]) -> None:
    """Reads one JSON command a line ({"hooks", "rate", "seconds", "seed"}), answers one JSON
    line of results; stops at the end of its input."""
    generator = LoadGenerator(plan)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print(json.dumps({"ready": os.getpid()}), flush=True)
    while line := await reader.readline():
        command = json.loads(line)
        result = await generator.step(command["hooks"], command["rate"], command["seconds"],
                                      command["seed"])
        print(json.dumps(result), flush=True)


# --- CPU accounting ------------------------------------------------------------------------


def cpu_of(pid: int) -> float:
    import psutil

    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return times.user + times.system


def machine_busy() -> tuple[float, float]:
    """(busy CPU seconds, all CPU seconds) of the whole machine since boot."""
    import psutil

    t = psutil.cpu_times()
    idle = t.idle + getattr(t, "iowait", 0.0)
    total = sum(t)  # guest time is counted in user already
    total -= getattr(t, "guest", 0.0) + getattr(t, "guest_nice", 0.0)
    return total - idle, total


@dataclass
class CpuSnapshot:
    processes: dict[str, float]  # role -> CPU seconds
    backends: dict[int, float]  # PostgreSQL backend pid -> CPU seconds
    redis: float
    machine: tuple[float, float]
    wall: float


class Accounting:
    def __init__(self, database_name: str, pg_dsn: str, redis_url: str) -> None:
        self.database_name = database_name
        self.pg_dsn = pg_dsn
        self.redis_url = redis_url
        self.roles: dict[str, int] = {}  # role -> pid

    async def backend_pids(self) -> list[int]:
        import asyncpg

        connection = await asyncpg.connect(self.pg_dsn)
        try:
            rows = await connection.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> "
                "pg_backend_pid()", self.database_name)
        finally:
            await connection.close()
        return [r["pid"] for r in rows]

    async def redis_cpu(self) -> float:
        from redis.asyncio import Redis

        client = Redis.from_url(self.redis_url)
        try:
            info = await client.info("cpu")
        finally:
            await client.aclose()
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    async def snapshot(self) -> CpuSnapshot:
        backends = {pid: cpu_of(pid) for pid in await self.backend_pids()}
        return CpuSnapshot({role: cpu_of(pid) for role, pid in self.roles.items()}, backends,
                           await self.redis_cpu(), machine_busy(), time.perf_counter())

    @staticmethod
    def spent(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
        spent = {role: after.processes[role] - before.processes.get(role, 0.0)
                 for role in after.processes}
        # A backend that started during the step counts whole (its start is part of the load);
        # one that ended during it is lost (the pools keep theirs open).
        spent["postgres"] = sum(cpu - before.backends.get(pid, 0.0)
                                for pid, cpu in after.backends.items())
        spent["redis (whole server)"] = after.redis - before.redis
        busy = after.machine[0] - before.machine[0]
        spent["machine busy"] = busy
        spent["machine capacity"] = after.machine[1] - before.machine[1]
        spent["others"] = busy - sum(v for k, v in spent.items()
                                     if k not in ("machine busy", "machine capacity"))
        spent["wall"] = after.wall - before.wall
        return spent


# --- the orchestrator ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Replica:
    def __init__(self, name: str, api_url: str, database: str, redis: str, data_dir: Path,
                 report_key: str) -> None:
        from bot.local_api import LOCAL_TOKEN

        self.name = name
        self.port = free_port()
        self.metrics_port = free_port()
        self.env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": LOCAL_TOKEN, "TELEGRAM_API_URL": api_url,
            "DATABASE_URL": database, "WGBOT_DATA_DIR": str(data_dir),
            "WGBOT_REDIS_URL": redis, "WGBOT_HTTP_HOST": "127.0.0.1",
            "WGBOT_HTTP_PORT": str(self.port), "WGBOT_METRICS_PORT": str(self.metrics_port),
            "WGBOT_WEBHOOK_URL": "https://bot.example.org", "WGBOT_WEBHOOK_SECRET": SECRET,
            "WGBOT_LOG_LEVEL": "WARNING", "WGBOT_REPORT_KEY": report_key,
            "WGBOT_DEFAULT_TIMEZONE": "Africa/Lubumbashi",
        }
        self.log = data_dir / f"{name}.log"
        self.process: asyncio.subprocess.Process | None = None

    @property
    def hook(self) -> str:
        return f"http://127.0.0.1:{self.port}{HOOK_PATH}"

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).with_name("wgbot")), "run", "--webhook", env=self.env,
            stdout=asyncio.subprocess.DEVNULL, stderr=self.log.open("ab"))

    async def ready(self, timeout: float = 120) -> None:
        """Healthy, then idle (its start-up work, the search index included, is done)."""
        from aiohttp import ClientError, ClientSession

        deadline = time.monotonic() + timeout
        async with ClientSession() as http:
            while True:
                if self.process.returncode is not None:
                    raise RuntimeError(f"{self.name} stopped: {self.errors()[-2000:]}")
                try:
                    async with http.get(
                            f"http://127.0.0.1:{self.metrics_port}/healthz") as response:
                        if response.status == 200:
                            break
                except ClientError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} not healthy: {self.errors()[-2000:]}")
                await asyncio.sleep(0.2)
        while time.monotonic() < deadline:
            before = cpu_of(self.process.pid)
            await asyncio.sleep(1.0)
            if cpu_of(self.process.pid) - before < 0.05:
                return

    async def stop(self) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), 60)

    def errors(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


async def make_groups(url: str, folder: Path, users: int, groups: int, seed: int) -> dict:
    """bench/updates.py's set-up in this process: groups, members, meeting cards. Returns the
    plan for the load generator and the state the fake Bot API must know."""
    from bench.updates import ZONE, Driver, Stats, TimedBotAPI, fresh_database, set_up
    from bot.app import build_dispatcher
    from bot.config import Settings
    from bot.delivery.scheduler import Ticker
    from bot.i18n import get_i18n
    from handlers.calendar import MeetingCb

    database = await fresh_database(url)
    settings = Settings(WGBOT_DATA_DIR=folder, WGBOT_DEFAULT_TIMEZONE=ZONE,
                        telegram_bot_token=None, _env_file=None)
    dispatcher = build_dispatcher(settings, database, get_i18n(), Ticker(30))
    api = TimedBotAPI()
    driver = Driver(dispatcher, api, Stats())
    bench_users = await set_up(driver, database, users, groups, seed)
    plan_groups: dict[int, dict] = {}
    for u in bench_users:
        for group in u.groups:
            if group.chat_id in plan_groups:
                continue
            cards = []
            for card in group.cards:
                rsvp = {}
                for button in card.buttons():
                    data = button.get("callback_data", "")
                    if data.startswith("mt:r:"):
                        rsvp[MeetingCb.unpack(data).v] = data
                cards.append({"message": api.message_dict(card), "rsvp": rsvp})
            plan_groups[group.chat_id] = {"chat": api.chats[group.chat_id], "cards": cards}
    plan = {"users": [{"user": u.user.as_dict(), "groups": [g.chat_id for g in u.groups]}
                      for u in bench_users],
            "groups": list(plan_groups.values()), "first_update_id": 10_000_000, "seed": seed}
    state = {
        "chats": list(api.chats.values()), "users": list(api.users.values()),
        "creators": list(api.creators.items()),
        "messages": [{"chat_id": m.chat_id, "message_id": m.message_id, "sender": m.sender,
                      "text": m.text, "reply_markup": m.reply_markup}
                     for m in api.messages.values() if not m.deleted],
    }
    await driver.bot.session.close()
    await dispatcher.storage.close()
    await database.dispose()
    return {"plan": plan, "state": state}


@dataclass
class Step:
    replicas: int
    result: dict
    cpu: dict[str, float]
    load: float
    api_calls: int
    warm_up: bool = False

    @property
    def served(self) -> bool:
        r = self.result
        return (r["p99"] <= self.bound and r["achieved"] >= 0.95 * r["offered"]
                and not r["failed"])

    bound: float = 0.5


@dataclass
class Series:
    replicas: int
    steps: list[Step] = field(default_factory=list)
    errors: int = 0

    @property
    def saturation(self) -> Step | None:
        served = [s for s in self.steps if not s.warm_up and s.served]
        return max(served, key=lambda s: s.result["rate"], default=None)


class Orchestrator:
    def __init__(self, args, accounting: Accounting, generator, api) -> None:
        self.args = args
        self.accounting = accounting
        self.generator = generator
        self.api = api
        self.seed = args.seed * 1000

    async def step(self, hooks: list[str], rate: float, seconds: float, replicas: int,
                   warm_up: bool = False) -> Step:
        self.seed += 1
        calls = await self.api.count()
        before = await self.accounting.snapshot()
        self.generator.stdin.write((json.dumps({"hooks": hooks, "rate": rate,
                                                "seconds": seconds, "seed": self.seed})
                                    + "\n").encode())
        await self.generator.stdin.drain()
        result = json.loads(await self.generator.stdout.readline())
        after = await self.accounting.snapshot()
        calls = await self.api.count() - calls
        step = Step(replicas, result, Accounting.spent(before, after), os.getloadavg()[0],
                    calls, warm_up, self.args.p99)
        print_step(step, flush=True)
        return step

    async def run(self, counts: list[int], folder: Path, report_key: str) -> list[Series]:
        """Starts the most replicas asked for once; the series take turns, a step each, so
        that a change in what else runs on the machine falls on all of them alike."""
        from redis.asyncio import Redis

        client = Redis.from_url(self.args.redis)
        await client.flushdb()
        await client.aclose()
        bots = [Replica(f"replica-{i + 1}", self.api.url, self.args.database, self.args.redis,
                        folder, report_key) for i in range(max(counts))]
        searches = {n: Search(self.args) for n in counts}
        all_series = {n: Series(n) for n in counts}
        for bot in bots:
            await bot.start()
        try:
            await asyncio.gather(*(bot.ready() for bot in bots))
            for i, bot in enumerate(bots):
                self.accounting.roles[f"replica {i + 1}"] = bot.process.pid
            print(f"\nreplicas: {', '.join(str(b.process.pid) for b in bots)}; series "
                  + ", ".join(f"{n} replica(s)" for n in counts) + " in turn", flush=True)
            print(STEP_HEAD, flush=True)
            warm = await self.step([b.hook for b in bots], *WARM_UP, len(bots), warm_up=True)
            all_series[max(counts)].steps.append(warm)
            while any(search.rate is not None for search in searches.values()):
                for n, search in searches.items():
                    if search.rate is None:
                        continue
                    step = await self.step([b.hook for b in bots[:n]], search.rate,
                                           self.args.step_seconds, n)
                    all_series[n].steps.append(step)
                    search.record(step.served)
        finally:
            for i, bot in enumerate(bots):
                self.accounting.roles.pop(f"replica {i + 1}", None)
                await bot.stop()
        errors = sum(bot.errors().count(" ERROR ") + bot.errors().count("Traceback")
                     for bot in bots)
        for series in all_series.values():
            series.errors = errors
        return list(all_series.values())


class Search:
    """The offered rates of one series: up by the factor while served (down while not, from
    the first), then bisections between the highest rate served and the lowest not."""

    def __init__(self, args) -> None:
        self.rate: float | None = args.start_rate
        self.factor = args.factor
        self.max_rate = args.max_rate
        self.refine = args.refine
        self.passed: float | None = None
        self.failed: float | None = None

    def record(self, served: bool) -> None:
        if served:
            self.passed = max(self.passed or 0.0, self.rate)
        else:
            self.failed = min(self.failed or float("inf"), self.rate)
        if self.failed is None:
            self.rate = round(self.rate * self.factor, 1)
            if self.rate > self.max_rate:
                self.rate = None
        elif self.passed is None:
            self.rate = round(self.rate / self.factor, 1)
            if self.rate < 1:
                self.rate = None
        elif self.refine > 0 and self.failed - self.passed > 0.15:
            self.refine -= 1
            self.rate = round((self.passed + self.failed) / 2, 1)
        else:
            self.rate = None


CPU_ROLES = ("replicas", "postgres", "redis (whole server)", "fake Bot API", "load generator",
             "others")
STEP_HEAD = ("  N  offered/s  achieved/s  p50 ms  p99 ms  ok  API calls/upd | CPU ms per update: "
             + ", ".join(CPU_ROLES) + " | machine busy | load avg | each replica's use of a core")


def cpu_per_role(step: Step) -> dict[str, float]:
    cpu = dict(step.cpu)
    cpu["replicas"] = sum(v for k, v in cpu.items() if k.startswith("replica "))
    return cpu


def print_step(step: Step, flush: bool = False) -> None:
    r = step.result
    cpu = cpu_per_role(step)
    answered = max(r["answered"], 1)
    per = ", ".join(f"{cpu[role] / answered * 1000:.1f}" for role in CPU_ROLES)
    verdict = "warm-up" if step.warm_up else ("served" if step.served else "NOT served")
    failed = f" failed {r['failed']}" if r["failed"] else ""
    print(f"  {step.replicas}  {r['rate']:9.1f}  {r['achieved']:10.1f}  {r['p50'] * 1000:6.0f}  "
          f"{r['p99'] * 1000:6.0f}  {verdict}{failed}  {step.api_calls / answered:.2f} | "
          f"{per} | {100 * cpu['machine busy'] / cpu['machine capacity']:.0f}% | "
          f"{step.load:.1f} | " + "/".join(
              f"{100 * v / cpu['wall']:.0f}%" for k, v in sorted(cpu.items())
              if k.startswith("replica ")), flush=flush)


def print_summary(all_series: list[Series], cores: int) -> None:
    print("\nsaturation (highest rate served: p99 <= bound, achieved >= 95% of offered):")
    rates = {}
    for series in all_series:
        best = series.saturation
        rates[series.replicas] = best.result["rate"] if best else 0.0
        print(f"  {series.replicas} replica(s): {rates[series.replicas]:g} updates/s"
              + (f" (achieved {best.result['achieved']:.1f}/s, p50 {best.result['p50'] * 1000:.0f}"
                 f" ms, p99 {best.result['p99'] * 1000:.0f} ms)" if best else "")
              + f"; ERROR records in the replicas' logs: {series.errors}")
    if rates.get(1) and rates.get(2):
        print(f"  ratio two / one: {rates[2] / rates[1]:.2f} (target >= 1.8)")
    print(f"\nCPU seconds per update at the saturation rate ({cores} cores), and share of the "
          "machine:")
    for series in all_series:
        best = series.saturation
        if best is None:
            continue
        cpu = cpu_per_role(best)
        answered = best.result["answered"]
        capacity = cpu["machine capacity"]
        parts = [f"{role} {cpu[role] / answered * 1000:.1f} ms ({100 * cpu[role] / capacity:.0f}%)"
                 for role in CPU_ROLES]
        replicas = [f"{k} {v / answered * 1000:.1f} ms" for k, v in sorted(cpu.items())
                    if k.startswith("replica ")]
        print(f"  {series.replicas} replica(s) at {best.result['rate']:g}/s: " + "; ".join(parts)
              + f"; machine busy {100 * cpu['machine busy'] / capacity:.0f}%"
              + f" [{', '.join(replicas)}]")
        ours = sum(cpu[role] for role in CPU_ROLES if role != "others") / answered
        replica = cpu["replicas"] / answered
        print(f"    CPU ceilings from these costs, the machine to ourselves: one core per replica "
              f"{series.replicas / replica:.0f}/s, {cores} cores for all of this bench's "
              f"processes ({ours * 1000:.1f} ms per update) {cores / ours:.0f}/s")
        kinds = best.result["kinds"]
        print("    per kind (count, p50/p99 ms): " + ", ".join(
            f"{k} {n}, {p50 * 1000:.0f}/{p99 * 1000:.0f}" for k, (n, p50, p99) in kinds.items())
            + f"; load generator late p99 {best.result['late_p99'] * 1000:.1f} ms")


async def main_async(args) -> None:
    from bot.local_api_process import LocalBotAPIProcess

    os.environ["WGBOT_REPORT_KEY"] = report_key = base64.urlsafe_b64encode(
        os.urandom(32)).decode()
    from sqlalchemy.engine import make_url

    url = make_url(args.database)
    pg_dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    cores = os.cpu_count() or 1
    print(f"{cores} cores; load average at the start {os.getloadavg()[0]:.1f}; "
          f"{args.users} users in {args.groups} groups; mix "
          + ", ".join(f"{k} {100 * v / sum(MIX.values()):.0f}%" for k, v in MIX.items())
          + f"; steps of {args.step_seconds:g} s; p99 bound {args.p99 * 1000:.0f} ms", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        began = time.perf_counter()
        made = await make_groups(args.database, folder, args.users, args.groups, args.seed)
        print(f"set-up {time.perf_counter() - began:.1f} s", flush=True)
        plan_file = folder / "plan.json"
        plan_file.write_text(json.dumps(made["plan"]))
        api = LocalBotAPIProcess()
        await api.start()
        await api.set_state(**made["state"])
        generator = await asyncio.create_subprocess_exec(
            sys.executable, str(SCRIPT), "--load-generator", str(plan_file),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        ready = json.loads(await generator.stdout.readline())
        accounting = Accounting(url.database, pg_dsn, args.redis)
        accounting.roles.update({"fake Bot API": api.pid, "load generator": ready["ready"],
                                 "this script": os.getpid()})
        orchestrator = Orchestrator(args, accounting, generator, api)
        try:
            all_series = await orchestrator.run(args.replicas, folder, report_key)
        finally:
            generator.stdin.close()
            await generator.wait()
            await api.stop()
        print_summary(all_series, cores)
        print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        mean_load = statistics.fmean(s.load for series in all_series for s in series.steps)
        print(f"mean load average over the steps: {mean_load:.1f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="postgresql+asyncpg:// URL (its schema public is dropped)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13",
                        help="a Redis database of its own (flushed)")
    parser.add_argument("--replicas", default="1,2")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--groups", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start-rate", type=float, default=20.0)
    parser.add_argument("--factor", type=float, default=1.3)
    parser.add_argument("--max-rate", type=float, default=1000.0)
    parser.add_argument("--refine", type=int, default=2)
    parser.add_argument("--step-seconds", type=float, default=20.0)
    parser.add_argument("--p99", type=float, default=0.5, help="p99 bound, seconds")
    parser.add_argument("--load-generator", metavar="PLAN", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load_generator:
        plan = json.loads(Path(args.load_generator).read_text())
        asyncio.run(load_generator_main(plan))
        return
    if not args.database or not args.database.startswith("postgresql"):
        parser.error("--database postgresql+asyncpg://... (or BENCH_DATABASE_URL) is needed")
    args.replicas = [int(n) for n in args.replicas.split(",") if n]
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()

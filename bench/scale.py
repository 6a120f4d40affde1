"""Scale figures: start-up time, resident memory and the cost of the periodic jobs with 1,000
working groups and 100, 10,000 or 100,000 future meetings.

Run from the repository: `.venv/bin/python bench/scale.py [--sizes 100,10000] [--groups 1000]
[--database postgresql+asyncpg://user@host/db]`. For each size it fills a fresh database with
bulk inserts (groups, members and their roles, single meetings and weekly, fortnightly and
monthly series, RSVPs, the occurrence index, co-chair turns and the pending reminder rows of the
outbox, as a bot that has been running would have them), then:

- starts the real bot as a separate process (`wgbot run`, long polling) against a local Bot API
  server and prints the time from spawn to its first getUpdates, its resident memory at that
  moment and once the first tick of the scheduled jobs has finished (read from the bot's
  `/metrics`: `wgbot_scheduler_last_tick_seconds`);
- calls each job function in this process on the same database and prints the duration of one
  tick of each (the reminder horizon over a one-hour window, as it runs hourly; the weekly digest
  both now and on a Monday at 10:00 UTC, when it has work).

Without `--database` each size uses a new SQLite file in a temporary folder; with a PostgreSQL
URL the schema `public` of that database is dropped and recreated for each size, so give it a
database of its own. By default the three sizes run (about 4 minutes on SQLite and 6 on
PostgreSQL on a 2-core machine, most of it filling the 100,000-meeting database);
`--sizes 100,10000` takes about a minute and a half.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import psutil  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from bot.local_api import LOCAL_TOKEN, LocalBotAPIServer  # noqa: E402
from bot.services import actions, agenda, cochairs, recurrence, reminders, reports  # noqa: E402
from bot.services import calendar as cal  # noqa: E402
from bot.services.report_crypto import get_cipher  # noqa: E402
from storage.agenda_tables import AgendaSettings, CochairTurn  # noqa: E402
from storage.calendar_tables import (  # noqa: E402
    CalendarSettings,
    JobMark,
    Meeting,
    MeetingOccurrence,
    Rsvp,
)
from storage.database import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Membership, OutboxMessage, Person, WorkingGroup  # noqa: E402

ZONES = ("Africa/Lubumbashi", "Africa/Kinshasa", "Africa/Nairobi", "Europe/Paris",
         "America/Bogota", "Asia/Manila", "UTC")
LANGUAGES = ("en", "fr", "sw", "es", "ln")
PILLARS = ("company", "civil_society", "community", "host_government", "public_security",
           "private_security", "international_organisation", "other")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
MEMBERS = 12  # per group: 0 company and 1 civil society willing to co-chair, 2-3 secretariat
REPORT_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # a fixed key: nothing is encrypted
BATCH = 5000


def mb(value: int) -> float:
    return value / 1024 / 1024


async def _reset(url: str, folder: Path, size: int) -> str:
    if url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{folder / f'scale-{size}.db'}"
    database = Database(url)
    async with database.engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await database.dispose()
    return url


async def _insert(database: Database, table, rows: list[dict]) -> None:
    for i in range(0, len(rows), BATCH):
        async with database.engine.begin() as conn:
            await conn.execute(insert(table), rows[i:i + BATCH])


async def fill(database: Database, size: int, groups: int, now: datetime) -> dict[str, int]:
    """Bulk-insert a calendar of `size` meetings over `groups` groups, as of `now`."""
    rng = random.Random(size)
    group_rows, person_rows, member_rows = [], [], []
    for g in range(1, groups + 1):
        group_rows.append({
            "id": g, "chat_id": -1002000000000 - g, "code": f"G{g:07d}", "name": f"WG {g}",
            "level": "local", "timezone": ZONES[g % len(ZONES)],
            "language": LANGUAGES[g % len(LANGUAGES)], "created_at": now})
        for k in range(MEMBERS):
            pid = (g - 1) * MEMBERS + k + 1
            person_rows.append({
                "id": pid, "telegram_id": 500_000_000 + pid, "full_name": f"Member {pid}",
                "telegram_language": LANGUAGES[pid % len(LANGUAGES)],
                "pillar": PILLARS[k % len(PILLARS)], "willing_cochair": k < 2,
                "created_at": now})
            member_rows.append({
                "group_id": g, "person_id": pid, "joined_at": now - timedelta(days=400),
                "role": "secretariat" if k in (2, 3) else "member"})
    offsets = {g: [2880, 120] for g in range(1, groups + 1) if g % 10 == 0}
    deadlines = {g: 24 for g in range(1, groups + 1) if g % 20 == 0}

    def person(g: int, k: int) -> int:
        return (g - 1) * MEMBERS + k + 1

    meeting_rows, occ_rows, rsvp_rows, turn_rows, outbox_rows = [], [], [], [], []
    for j in range(size):
        mid = j + 1
        g = j % groups + 1
        zone = ZONES[g % len(ZONES)]
        kind = j % 20
        if kind in (0, 1, 2):  # 15% series (weekly, fortnightly, monthly), begun in the past
            anchor = recurrence.to_local(now - timedelta(days=rng.randint(0, 180)), zone)
            anchor = anchor.replace(hour=rng.choice((9, 10, 14)), minute=0, second=0,
                                    microsecond=0)
            rule = (f"FREQ=WEEKLY;BYDAY={WEEKDAYS[anchor.weekday()]}" if kind == 0 else
                    f"FREQ=WEEKLY;INTERVAL=2;BYDAY={WEEKDAYS[anchor.weekday()]}" if kind == 1
                    else f"FREQ=MONTHLY;BYDAY=+1{WEEKDAYS[rng.randint(0, 4)]}")
            first = recurrence.make_rule(rule, anchor).after(anchor, inc=True)
            until = now + cal.INDEX_AHEAD + cal.INDEX_STEP * rng.random()
        else:  # single meetings over the coming year
            rule = None
            first = recurrence.to_local(now + timedelta(minutes=rng.randint(30, 365 * 24 * 60)),
                                        zone).replace(minute=0, second=0, microsecond=0)
            until = cal.FOREVER
        meeting_rows.append({
            "id": mid, "group_id": g, "kind": "meeting", "title": f"Meeting {mid}",
            "place": "Hall", "start_local": first, "timezone": zone, "duration_minutes": 120,
            "rrule": rule, "sequence": 0, "created_at": now, "updated_at": now,
            "indexed_until": until})
        starts = list(recurrence.occurrences(rule, first, zone, now - cal.INDEX_BEHIND, until))
        hours = deadlines.get(g, agenda.DEFAULT_DEADLINE_HOURS)
        for n, start in enumerate(starts):
            key = cal.epoch(start)
            occ_rows.append({
                "meeting_id": mid, "occurrence": key, "group_id": g, "start_at": start,
                "agenda_reminded": start <= now + timedelta(hours=hours + 24),
                "agenda_published": start <= now + timedelta(hours=hours)})
            attending = []
            if n == 0 or start < now + timedelta(days=8):  # answers for the coming dates
                for k, answer in ((4, "going"), (5, "maybe"), (6, "no")):
                    rsvp_rows.append({"meeting_id": mid, "occurrence": key,
                                      "person_id": person(g, k), "answer": answer,
                                      "updated_at": now})
                attending = [person(g, 4), person(g, 5)]
            if now <= start < now + timedelta(days=cochairs.DEFAULT_DAYS_BEFORE, minutes=1):
                for slot, k in ((0, 0), (1, 1)):
                    turn_rows.append({
                        "group_id": g, "meeting_id": mid, "occurrence": key, "slot": slot,
                        "person_id": person(g, k), "status": "accepted",
                        "invited_at": start - timedelta(days=14),
                        "answered_at": start - timedelta(days=13)})
            for offset in offsets.get(g, cal.DEFAULT_OFFSETS):
                due = start - timedelta(minutes=offset)
                if not now < due <= now + reminders.HORIZON:
                    continue
                for chat, pid in [(-1002000000000 - g, None)] + [
                        (500_000_000 + p, p) for p in attending]:
                    outbox_rows.append({
                        "key": f"rem:{mid}:{key}:{key}:{offset}:{chat}", "kind": "reminder",
                        "chat_id": chat, "due_at": due, "status": "pending", "attempts": 0,
                        "created_at": now,
                        "payload": {"meeting": mid, "occurrence": key, "start": key,
                                    "offset": offset, "person": pid}})
    await _insert(database, WorkingGroup.__table__, group_rows)
    await _insert(database, Person.__table__, person_rows)
    await _insert(database, Membership.__table__, member_rows)
    await _insert(database, CalendarSettings.__table__, [
        {"group_id": g, "reminder_offsets": o, "quorum_pillars": []} for g, o in offsets.items()])
    await _insert(database, AgendaSettings.__table__, [
        {"group_id": g, "deadline_hours": h} for g, h in deadlines.items()])
    await _insert(database, Meeting.__table__, meeting_rows)
    await _insert(database, MeetingOccurrence.__table__, occ_rows)
    await _insert(database, Rsvp.__table__, rsvp_rows)
    await _insert(database, CochairTurn.__table__, turn_rows)
    await _insert(database, OutboxMessage.__table__, outbox_rows)
    await _insert(database, JobMark.__table__, [
        {"name": reminders.HORIZON_MARK, "until": now - timedelta(minutes=1)}])
    if not database.is_sqlite:  # the sequences must follow the explicit ids
        async with database.engine.begin() as conn:
            for table in ("working_group", "person", "meeting"):
                await conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"))
            await conn.execute(text("ANALYZE"))
    return {"meetings": len(meeting_rows), "occurrences": len(occ_rows),
            "rsvps": len(rsvp_rows), "turns": len(turn_rows), "reminders": len(outbox_rows),
            "people": len(person_rows)}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _last_tick(session: aiohttp.ClientSession, port: int) -> float:
    try:
        async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
            body = await response.text()
    except aiohttp.ClientError:
        return 0.0
    for line in body.splitlines():
        if line.startswith("wgbot_scheduler_last_tick_seconds "):
            return float(line.split()[1])
    return 0.0


async def run_bot(url: str, data_dir: Path, timeout: float = 300) -> dict[str, float]:
    """Spawn `wgbot run`; time to the first getUpdates, RSS then and after the first tick."""
    server = LocalBotAPIServer()
    api_url = await server.start()
    port = _free_port()
    env = dict(os.environ, TELEGRAM_BOT_TOKEN=LOCAL_TOKEN, TELEGRAM_API_URL=api_url,
               DATABASE_URL=url, WGBOT_DATA_DIR=str(data_dir), WGBOT_REPORT_KEY=REPORT_KEY,
               WGBOT_HTTP_PORT=str(port), WGBOT_HTTP_HOST="127.0.0.1", WGBOT_LOG_LEVEL="WARNING")
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        str(ROOT / ".venv" / "bin" / "wgbot"), "run", env=env, cwd=str(data_dir),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    figures: dict[str, float] = {}
    try:
        watcher = psutil.Process(process.pid)
        waiter = asyncio.ensure_future(server.first_poll.wait())
        exited = asyncio.ensure_future(process.wait())
        await asyncio.wait({waiter, exited}, timeout=timeout,
                           return_when=asyncio.FIRST_COMPLETED)
        if not server.first_poll.is_set():
            error = (await process.stderr.read()).decode(errors="replace")[-2000:] \
                if exited.done() else "timeout"
            raise RuntimeError(f"the bot did not poll: {error}")
        figures["startup"] = server.first_poll_at - started
        figures["rss_poll"] = mb(watcher.memory_info().rss)
        async with aiohttp.ClientSession() as http:
            while time.monotonic() - started < timeout:
                if await _last_tick(http, port) > 0:
                    figures["tick_done"] = time.monotonic() - started
                    break
                if exited.done():
                    raise RuntimeError("the bot stopped")
                await asyncio.sleep(0.05)
        figures["rss_tick"] = mb(watcher.memory_info().rss)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()
        await server.stop()
    return figures


async def time_jobs(url: str, data_dir: Path) -> dict[str, float]:
    """One tick of each job, called here on the filled database."""
    os.environ["WGBOT_REPORT_KEY"] = REPORT_KEY
    database = Database(url)
    cipher = get_cipher(data_dir)
    now = datetime.now(UTC)
    monday = (now + timedelta(days=(7 - now.weekday()) % 7 or 7)).replace(
        hour=10, minute=0, second=0, microsecond=0)
    durations: dict[str, float] = {}

    async def timed(name, call) -> None:
        began = time.perf_counter()
        await call()
        durations[name] = time.perf_counter() - began

    async def hourly_horizon() -> None:
        async with database.session() as session:
            await cal.set_job_mark(session, reminders.HORIZON_MARK,
                                   now - reminders.HORIZON_EVERY)
        await reminders.extend_horizon(database, now)

    async def reports_job() -> None:
        async with database.session() as session:
            await reports.remind_overdue(session, cipher, now)
            await reports.apply_retention(session, now, cipher)
            await reports.notify_replies(session, cipher, now)
        async with database.session() as session:
            await reports.purge_delivered(session)

    try:
        await timed("reminder horizon (1 h)", hourly_horizon)
        await timed("agenda publications", lambda: agenda.schedule_publications(database, now))
        await timed("agenda carry-over", lambda: agenda.carry_over(database, now))
        await timed("co-chair invitations", lambda: cochairs.invite_due(database, now))
        await timed("action digest", lambda: actions.queue_digests(database, now))
        await timed("action digest (Monday)",
                    lambda: actions.queue_digests(database, monday))
        await timed("reports", reports_job)
        later = now + timedelta(seconds=30)
        await timed("agenda publications, next tick",
                    lambda: agenda.schedule_publications(database, later))
        await timed("co-chair invitations, next tick",
                    lambda: cochairs.invite_due(database, later))
    finally:
        await database.dispose()
    return durations


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,10000,100000",
                        help="numbers of future meetings, comma-separated (100,10000,100000)")
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--database", default="sqlite",
                        help="PostgreSQL URL (its schema public is recreated); default SQLite")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    backend = "SQLite" if args.database.startswith("sqlite") else "PostgreSQL"
    print(f"{backend}, {args.groups} groups, {MEMBERS} members each; sizes {sizes}")
    results = []
    with tempfile.TemporaryDirectory(prefix="wgbot-scale-") as tmp:
        folder = Path(tmp)
        for size in sizes:
            url = await _reset(args.database, folder, size)
            data_dir = folder / f"data-{size}"
            data_dir.mkdir()
            database = Database(url)
            try:
                await upgrade(database)
                began = time.perf_counter()
                counts = await fill(database, size, args.groups, datetime.now(UTC))
                filled = time.perf_counter() - began
            finally:
                await database.dispose()
            print(f"\n{size:,} meetings: filled in {filled:.1f} s: "
                  + ", ".join(f"{v:,} {k}" for k, v in counts.items()), flush=True)
            bot = await run_bot(url, data_dir)
            print(f"  start-up to first getUpdates {bot['startup']:.2f} s; "
                  f"first tick done {bot.get('tick_done', float('nan')):.2f} s after spawn; "
                  f"RSS {bot['rss_poll']:.1f} MB at first poll, "
                  f"{bot['rss_tick']:.1f} MB after the first tick", flush=True)
            jobs = await time_jobs(url, data_dir)
            for name, seconds in jobs.items():
                print(f"  {name:<34} {seconds * 1000:9.1f} ms")
            results.append((size, bot, jobs))
    print("\nsize       start-up  RSS poll  RSS tick  slowest job")
    for size, bot, jobs in results:
        name, seconds = max(jobs.items(), key=lambda item: item[1])
        print(f"{size:>9,}  {bot['startup']:6.2f} s  {bot['rss_poll']:5.1f} MB  "
              f"{bot['rss_tick']:5.1f} MB  {name} {seconds * 1000:.0f} ms")
    spread = max(b["rss_tick"] for _, b, _ in results) - min(b["rss_tick"] for _, b, _ in results)
    print(f"RSS after the first tick varies by {spread:.1f} MB across sizes (target: within 10)")


if __name__ == "__main__":
    asyncio.run(main())

"""Figures for the monthly security status report: a group with 5 years of history, 200 members
and 2,000 concern reports (a weekly meeting series, a monthly one and 100 single meetings,
attendance taken at every meeting, co-chairs, decisions and 2,000 action items). Prints the time
to compute the report, to render it (PDF with charts, CSV), and the number of SQL statements.
Asserts nothing. On a busy machine the elapsed time can be several times the processor time
(printed beside it), which is what the report costs.

    .venv/bin/python bench/monthly.py [DATABASE_URL]

Without DATABASE_URL it runs on a temporary SQLite file. On PostgreSQL the schema `public` of
the database given is dropped and recreated first: give it a database of its own.
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, insert, text  # noqa: E402

from bot.services import monthly  # noqa: E402
from bot.services.calendar import epoch  # noqa: E402
from bot.services.monthly_render import monthly_files  # noqa: E402
from bot.services.recurrence import occurrences  # noqa: E402
from storage.agenda_tables import ActionItem, CochairTurn, Decision  # noqa: E402
from storage.calendar_tables import Attendance, Meeting  # noqa: E402
from storage.database import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Membership, Person, WorkingGroup  # noqa: E402
from storage.report_tables import ReportCase  # noqa: E402

ZONE = "Africa/Lubumbashi"
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
START = datetime(2021, 12, 1, tzinfo=UTC)
MEMBERS = 200
CASES = 2000
ACTIONS = 2000
PILLARS = ["company", "host_government", "public_security", "private_security",
           "civil_society", "community", "international_organisation", "other"]
ORGANISATIONS = [f"Organisation {n}" for n in range(40)]
CATEGORIES = ["public_security", "private_security", "land", "compensation", "employment",
              "environment", "harassment", "other"]
STATUSES = ["received", "acknowledged", "under_review", "referred", "resolved", "closed"]


async def _rows(connection, table, rows: list[dict]) -> None:
    for i in range(0, len(rows), 2000):
        await connection.execute(insert(table.__table__), rows[i:i + 2000])


async def populate(database: Database) -> int:
    rng = random.Random(16)
    async with database.engine.begin() as connection:
        group_id = (await connection.execute(insert(WorkingGroup.__table__).values(
            chat_id=-1, code="BENCH", name="Bench working group", level="local", timezone=ZONE,
            language="en", created_at=START).returning(WorkingGroup.__table__.c.id))).scalar()
        await _rows(connection, Person, [
            {"telegram_id": 10_000 + n, "full_name": f"Member {n}", "pillar": PILLARS[n % 8],
             "organisation": ORGANISATIONS[n % 40], "willing_cochair": n % 3 == 0,
             "created_at": START} for n in range(MEMBERS)])
        people = [r[0] for r in (await connection.execute(text(
            "SELECT id FROM person ORDER BY id"))).all()]
        await _rows(connection, Membership, [
            {"group_id": group_id, "person_id": p, "role": "secretariat" if i == 0 else "member",
             "joined_at": START + timedelta(days=rng.randrange(0, 1500))}
            for i, p in enumerate(people)])
        meetings = [
            {"group_id": group_id, "kind": "meeting", "title": "Weekly coordination",
             "place": "", "start_local": datetime(2021, 12, 2, 10, 0), "timezone": ZONE,
             "duration_minutes": 120, "rrule": "FREQ=WEEKLY;BYDAY=TH", "sequence": 0,
             "created_at": START, "updated_at": START},
            {"group_id": group_id, "kind": "meeting", "title": "Monthly plenary", "place": "",
             "start_local": datetime(2021, 12, 15, 9, 0), "timezone": ZONE,
             "duration_minutes": 180, "rrule": "FREQ=MONTHLY;BYMONTHDAY=15", "sequence": 0,
             "created_at": START, "updated_at": START}]
        meetings += [
            {"group_id": group_id, "kind": "workshop", "title": f"Workshop {n}", "place": "",
             "start_local": datetime(2022, 1, 10, 14, 0) + timedelta(days=17 * n),
             "timezone": ZONE, "duration_minutes": 120, "rrule": None, "sequence": 0,
             "created_at": START, "updated_at": START} for n in range(100)]
        await _rows(connection, Meeting, meetings)
        ids = [r[0] for r in (await connection.execute(text(
            "SELECT id FROM meeting ORDER BY id"))).all()]
        held = []
        for meeting_id, meeting in zip(ids, meetings, strict=True):
            for instant in occurrences(meeting["rrule"], meeting["start_local"], ZONE, START,
                                       NOW):
                held.append((meeting_id, epoch(instant), instant))
        attendance, turns, decisions = [], [], []
        for meeting_id, key, instant in held:
            for p in rng.sample(people, 120):
                attendance.append({"meeting_id": meeting_id, "occurrence": key, "person_id": p,
                                   "present": rng.random() < 0.75, "marked_at": instant})
            for slot, p in enumerate(rng.sample(people, 2)):
                turns.append({"group_id": group_id, "meeting_id": meeting_id, "occurrence": key,
                              "slot": slot, "person_id": p, "status": "accepted",
                              "invited_at": instant - timedelta(days=14)})
            decisions += [{"group_id": group_id, "meeting_id": meeting_id, "occurrence": key,
                           "text": f"Decision {n}", "created_at": instant} for n in range(2)]
        await _rows(connection, Attendance, attendance)
        await _rows(connection, CochairTurn, turns)
        await _rows(connection, Decision, decisions)
        actions = []
        for n in range(ACTIONS):
            created = START + timedelta(days=rng.randrange(0, 1825))
            due = (created + timedelta(days=rng.randrange(3, 60))).date()
            done = created + timedelta(days=rng.randrange(1, 90)) if rng.random() < 0.8 else None
            if done is not None and done > NOW:
                done = None
            actions.append({"group_id": group_id, "meeting_id": ids[0], "occurrence": None,
                            "owner_id": rng.choice(people), "due": due, "text": f"Action {n}",
                            "status": "done" if done else "open", "created_at": created,
                            "done_at": done})
        await _rows(connection, ActionItem, actions)
        cases = []
        for n in range(CASES):
            day = (START + timedelta(days=rng.randrange(0, 1825))).date()
            cases.append({"group_id": group_id, "key_id": "bench", "category":
                          rng.choice(CATEGORIES), "urgent": rng.random() < 0.1,
                          "language": "sw", "status": rng.choice(STATUSES),
                          "submitted_on": day, "ack_due_on": day + timedelta(days=7),
                          "receipt_hash": f"bench-{n}", "content": b"x", "reply_pending": False,
                          "reporter_update": False, "retention_warned": False})
        await _rows(connection, ReportCase, cases)
        print(f"history: {len(held)} meetings held since {START:%Y-%m}, {len(attendance)} "
              f"attendance marks, {len(turns)} co-chair turns, {len(decisions)} decisions, "
              f"{ACTIONS} action items, {CASES} concern reports, {MEMBERS} members")
        return group_id


async def main(url: str | None) -> None:
    temporary = None
    if url is None:
        temporary = tempfile.TemporaryDirectory()
        url = f"sqlite+aiosqlite:///{temporary.name}/bench.db"
    database = Database(url)
    if not database.is_sqlite:
        async with database.engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    await upgrade(database)
    group_id = await populate(database)
    statements = []
    event.listen(database.engine.sync_engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2]))
    backend = "SQLite" if database.is_sqlite else "PostgreSQL"
    for run in range(3):
        statements.clear()
        start, cpu = time.perf_counter(), time.process_time()
        async with database.session() as session:
            group = await session.get(WorkingGroup, group_id)
            report = await monthly.build_report(session, group, date(2026, 11, 1), NOW)
        computed = time.perf_counter() - start
        queries = len(statements)
        (_, pdf), (_, tables) = monthly_files(report, "en")
        total, cpu = time.perf_counter() - start, time.process_time() - cpu
        print(f"{backend} run {run + 1}: figures {computed:.2f} s in {queries} queries; "
              f"with the PDF ({len(pdf) // 1024} KB, 3 charts) and the CSV files "
              f"{total:.2f} s ({cpu:.2f} s of processor time in this process)")
    statements.clear()
    start = time.perf_counter()
    async with database.session() as session:
        people, groups, name = await monthly.organisation_groups(session, "Organisation 7")
        await monthly.build_engagement(session, name, 2026, groups, people, NOW)
    print(f"{backend} engagement report of one organisation for 2026: "
          f"{time.perf_counter() - start:.2f} s in {len(statements)} queries")
    await database.dispose()
    if temporary is not None:
        temporary.cleanup()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else None))

"""Reminder delivery figures: N due reminders through the real outbox, renderers and sender to a
local Bot API that enforces Telegram's limits (429 with retry_after when a limit is exceeded).

Run from the repository: `.venv/bin/python bench/reminders.py [--count 10000] [--groups 100]`.
It builds groups whose members all answered "going" to one meeting, queues the reminders with
`bot.reminders.sync_meeting`, moves the clock to their due time and runs `Delivery` until the
outbox is empty. Prints messages per second against the 30/s limit, the 429s received,
duplicates and losses. Uses a temporary SQLite database (or `--database URL`).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from aiogram import Bot  # noqa: E402
from aiogram.client.default import DefaultBotProperties  # noqa: E402
from aiogram.enums import ParseMode  # noqa: E402

import handlers.calendar  # noqa: E402,F401  (registers the reminder renderer)
from bot.delivery.outbox import pending_count  # noqa: E402
from bot.delivery.sender import Sender  # noqa: E402
from bot.delivery.worker import Delivery  # noqa: E402
from bot.local_api import LOCAL_TOKEN  # noqa: E402
from bot.local_api_limits import GLOBAL_LIMIT, LimitedBotAPI  # noqa: E402
from bot.services import calendar as cal  # noqa: E402
from bot.services import reminders  # noqa: E402
from storage.calendar_tables import Rsvp  # noqa: E402
from storage.database import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Membership, Person, WorkingGroup  # noqa: E402

START = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)


async def populate(database: Database, chats: dict[int, dict[str, Any]], count: int, groups: int,
                   start: datetime = START) -> int:
    """Groups, members who all said going, one meeting each at `start` + 1 hour; returns the
    reminders queued (one hour before: due at `start`). `chats` gets the chats they need."""
    per_group = max(count // groups - 1, 1)
    queued = 0
    person_id = 10_000
    for index in range(groups):
        chat_id = -1_000_000_000_000 - index
        chats[chat_id] = {"id": chat_id, "type": "supergroup", "title": f"WG {index}"}
        async with database.session() as session:
            group = WorkingGroup(chat_id=chat_id, code=f"B{index:07d}", name=f"WG {index}",
                                 timezone="Africa/Lubumbashi", language="fr")
            session.add(group)
            await session.flush()
            settings = await cal.get_settings(session, group)
            settings.reminder_offsets = [60]
            await cal.save_settings(session, settings)
            meeting = await cal.create_meeting(
                session, group, title=f"Plenary {index}", place="Bukavu",
                # local time in Lubumbashi (UTC+2): the meeting starts one hour after `start`
                start_local=start.replace(tzinfo=None) + timedelta(hours=3))
            occ = (await cal.next_occurrences(session, meeting, start - timedelta(days=1), 1))[0]
            people = []
            for _ in range(per_group):
                person_id += 1
                chats[person_id] = {"id": person_id, "type": "private", "first_name": "P"}
                people.append(Person(telegram_id=person_id, full_name=f"P{person_id}",
                                     language=("fr", "sw", "en", "es", "ln")[person_id % 5]))
            session.add_all(people)
            await session.flush()
            session.add_all([Membership(group_id=group.id, person_id=p.id) for p in people])
            session.add_all([Rsvp(meeting_id=meeting.id, occurrence=occ.key, person_id=p.id,
                                  answer="going") for p in people])
            await session.flush()
            queued += (await reminders.sync_meeting(session, meeting, start - timedelta(days=1)))[0]
    return queued


async def run(count: int, groups: int, url: str | None) -> None:
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as folder:
        database = Database(url or f"sqlite+aiosqlite:///{folder}/bench.db")
        await upgrade(database)
        api = LimitedBotAPI()
        bot = Bot(LOCAL_TOKEN, session=api, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
        queued = await populate(database, api.chats, count, groups, START - timedelta(hours=1))
        print(f"reminders queued: {queued} ({groups} groups)")
        sender = Sender(bot, database, rate_limits=True)
        due = START - timedelta(hours=1)  # the 1-hour reminders of the 08:00 UTC meetings
        began = time.perf_counter()
        # The delivery's clock starts at the due time and runs (claims and their renewals are
        # stamped with it).
        delivery = Delivery(database, sender, clock=lambda: due + timedelta(
            seconds=time.perf_counter() - began))
        delivered = 0
        while await pending_count(database):
            delivered += await delivery.run(due)
        elapsed = time.perf_counter() - began
        sends = [(int(c.params["chat_id"]), c.params["text"].split("\n", 1)[0])
                 for c in api.sent("sendMessage")]
        seen = Counter(sends)
        duplicates = sum(n - 1 for n in seen.values() if n > 1)
        losses = queued - len(seen)
        rate = len(sends) / elapsed
        print(f"delivered: {delivered} in {elapsed:.1f} s")
        print(f"messages per second: {rate:.2f} of the {GLOBAL_LIMIT}/s limit "
              f"({100 * rate / GLOBAL_LIMIT:.1f}%)")
        print(f"429 answers received: {api.rejected} ({api.rejected_global} for the global "
              f"limit); sender retries: {sender.retries}")
        print(f"peak messages in one second: {api.peak_per_second()}; peak in one group in "
              f"one minute: {api.peak_per_group_minute()}")
        print(f"duplicates: {duplicates}; losses: {losses}")
        await bot.session.close()
        await database.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--database", default=None, help="database URL (default: temp SQLite)")
    args = parser.parse_args(argv)
    asyncio.run(run(args.count, args.groups, args.database))


if __name__ == "__main__":
    main()

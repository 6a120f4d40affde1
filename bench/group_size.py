"""Cost of an RSVP press, a /calendar and a proposal in a small and a large working group.

Run from the repository:

    .venv/bin/python bench/group_size.py [--sizes 10,1000] [--repeat 40] [--database URL]

For each size N it registers one working group through the real Dispatcher (bench/updates.py's
set-up: /setup, /schedule of a weekly series and two single meetings), with N members who all
answered the first meeting card (going, maybe or no), and that meeting's reminders queued. Then
members press an RSVP button on that card, ask for /calendar and /propose an agenda item, one
update at a time: per kind, the median process CPU per update, the SQL statements per update
(engine events) and the ORM objects loaded. The ratio large / small should stay near 1 (target:
within 1.2x). A temporary SQLite database, or `--database URL` (PostgreSQL: schema `public` is
DROPPED and rebuilt). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from sqlalchemy import event  # noqa: E402
from updates import (  # noqa: E402
    ZONE,
    Driver,
    Stats,
    TimedBotAPI,
    _count_statement,
    fresh_database,
    set_up,
)

from bot.app import build_dispatcher  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.delivery.scheduler import Ticker  # noqa: E402
from bot.i18n import get_i18n  # noqa: E402
from bot.services import calendar as cal  # noqa: E402
from bot.services import reminders  # noqa: E402
from bot.services.people import get_person  # noqa: E402
from handlers.calendar import MeetingCb  # noqa: E402
from storage.calendar_tables import Meeting  # noqa: E402

KINDS = ("rsvp", "calendar", "propose")


async def measure(url: str, folder: Path, size: int, repeat: int) -> Stats:
    database = await fresh_database(url)
    event.listen(database.engine.sync_engine, "before_cursor_execute", _count_statement)
    settings = Settings(WGBOT_DATA_DIR=folder, WGBOT_DEFAULT_TIMEZONE=ZONE,
                        telegram_bot_token=None, _env_file=None)
    dispatcher = build_dispatcher(settings, database, get_i18n(), Ticker(30))
    stats = Stats()
    driver = Driver(dispatcher, TimedBotAPI(), stats)
    users = await set_up(driver, database, size, 1, 1)
    group = users[0].groups[0]
    card = group.cards[0]
    first = MeetingCb.unpack(next(b["callback_data"] for b in card.buttons()
                                  if b.get("callback_data", "").startswith("mt:r:")))
    rng = random.Random(size)
    async with database.session() as session:  # everyone answered the first card
        meeting = await session.get(Meeting, first.m)
        occ = await cal.get_occurrence(session, meeting, first.o)
        now = driver.dispatcher["ticker"].clock()
        for u in users:
            person = await get_person(session, u.user.id)
            await cal.set_rsvp(session, occ, person, rng.choice(cal.ANSWERS), now)
        await reminders.sync_meeting(session, meeting, now)
        await session.commit()
    stats.recording = True
    for i in range(repeat):
        u = users[(i * 7919) % size]
        answer = ("going", "maybe", "no")[i % 3]
        data = MeetingCb(a="r", m=first.m, o=first.o, v=answer).pack()
        await driver.press("rsvp", u.user, card, data)
        await driver.send("calendar", u.user, group.chat_id, "/calendar")
        await driver.send("propose", u.user, group.chat_id, f"/propose Topic number {i}")
    await driver.bot.session.close()
    await dispatcher.storage.close()
    await database.dispose()
    return stats


async def main_async(args) -> None:
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[int, Stats] = {}
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            url = args.database or f"sqlite+aiosqlite:///{folder}/bench.db"
            results[size] = await measure(url, Path(folder), size, args.repeat)
    print(f"{'per update':<34}" + "".join(f"{f'{n} members':>16}" for n in sizes) + "   ratio")
    for kind in KINDS:
        for name in ("CPU ms (median)", "SQL statements (mean)", "ORM objects loaded (mean)"):
            figures = []
            for size in sizes:
                stats = results[size]
                if name.startswith("CPU"):
                    cpu = [c for k, c in zip(stats.cpu_kinds, stats.cpu_alone, strict=True)
                           if k == kind]
                    figures.append(statistics.median(cpu) * 1000)
                elif name.startswith("SQL"):
                    figures.append(statistics.fmean(stats.statements[kind]))
                else:
                    figures.append(statistics.fmean(stats.objects[kind]))
            ratio = figures[-1] / figures[0] if figures[0] else float("nan")
            print(f"{kind + ': ' + name:<34}" + "".join(f"{f:>16.1f}" for f in figures)
                  + f"   {ratio:.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,1000")
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--database", default=None,
                        help="database URL (PostgreSQL: its schema public is dropped)")
    args = parser.parse_args(argv)
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()

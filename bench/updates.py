"""Update throughput and handler latency of the real Dispatcher under a realistic mix of updates.

Run from the repository:

    .venv/bin/python bench/updates.py [--users 200] [--updates 1000] [--warmup 200] [--groups 8]
        [--postgres URL | --database URL] [--seed 1] [--open [--rates 10,25,50,100]
        [--open-updates 300]]

It builds the real Dispatcher (`bot.app.build_dispatcher`) with `bot.local_api.LocalBotAPI` as
the Bot API session, registers working groups through the Dispatcher (/setup, then /schedule of
a weekly series and two single meetings per group; members join through
`bot.groups.ensure_member`, which is what /join calls), then lets N users act at once, each
sending its updates one after the other (it waits for the previous one to be handled, as a
person does) with no pause in between: RSVP presses on the meeting cards in the groups,
/calendar in groups, /ask in private (questions of tests/data/practice_questions.jsonl),
/propose in groups and in private (with the name choice), complete concern reports in private
(/report, language, group, notice, category, danger, where, when, what, Done, Send, and
sometimes the button that deletes the report from the chat), /start and /help. After a
warm-up, a fixed number of updates is measured: updates per second and the time of
`Dispatcher.feed_update` per update (p50, p99, per type). Errors (calls to the error handler,
exceptions out of the Dispatcher, log records at ERROR) must be 0, and the replies are
checked (RSVP rows match the last button each user pressed, every submitted report was filed
and got a receipt, every proposal was recorded...), so the figures are not those of error paths.

A bare aiogram Dispatcher with one echo handler, on the same session, with the same users and
number of updates, is measured first: the ceiling that aiogram and the mocked session allow.
The session is LocalBotAPI itself: the time spent in it is printed (aiogram serialising each
request and parsing each answer, which a real session does too) with the part that is its own
bookkeeping (answering and storing messages), a few percent of the event loop's CPU at most.
"loop-thread CPU per update" is the CPU time of the event loop's thread over the measured phase
divided by the updates (this script's own work included; the echo column bounds it).

With `--open`, the same users then act in an open loop at each offered rate: arrivals come as
a Poisson process at that rate, each update of a user waits for the next arrival (people pause
between their messages) and its latency counts from its arrival, waiting for the bot included,
as a person feels it (p50/p99 per rate; the saturation is the highest rate still served, beside
the closed loop's throughput). "CPU ms/update, median alone" is the process CPU time of the
updates of the open loop that ran while no other update was in progress. SQL statements and ORM
objects loaded are counted per update (engine and session events), and garbage collection
pauses through gc.callbacks over the measured phases.

Backends: a temporary SQLite file always; PostgreSQL too when `--postgres URL` or the
environment variable BENCH_DATABASE_URL is given (`postgresql+asyncpg://...`). `--database URL`
measures that database only. The schema `public` of a PostgreSQL database given here is DROPPED
and rebuilt: use a database of its own (`createdb wg_bench`). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import gc
import itertools
import json
import logging
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict, deque
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from aiogram import BaseMiddleware, Bot, Dispatcher, Router  # noqa: E402
from aiogram.client.default import DefaultBotProperties  # noqa: E402
from aiogram.enums import ParseMode  # noqa: E402
from aiogram.types import Message, Update, User  # noqa: E402
from sqlalchemy import event, func, text  # noqa: E402
from sqlalchemy.orm import Session as OrmSession  # noqa: E402
from sqlmodel import select  # noqa: E402

from bot.app import build_dispatcher, freeze_after_start  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.delivery.scheduler import Ticker  # noqa: E402
from bot.i18n import get_i18n  # noqa: E402
from bot.local_api import LOCAL_TOKEN, ApiCall, LocalBotAPI, LocalUser, StoredMessage  # noqa: E402
from bot.middleware import identity_of  # noqa: E402
from bot.practices.answers import get_practice_index  # noqa: E402
from bot.services import report_crypto  # noqa: E402
from bot.services.groups import ensure_member  # noqa: E402
from bot.services.people import touch_person  # noqa: E402
from handlers.agenda import AgendaCb  # noqa: E402
from handlers.calendar import MeetingCb  # noqa: E402
from handlers.reports import CATEGORY_LABELS, ReportCb  # noqa: E402
from storage.agenda_tables import AgendaItem  # noqa: E402
from storage.calendar_tables import Rsvp  # noqa: E402
from storage.database import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import OutboxMessage, Person, WorkingGroup  # noqa: E402
from storage.report_tables import ReportCase  # noqa: E402

ZONE = "Africa/Lubumbashi"
LANGS = ("en", "fr", "sw", "es", "ln")
QUESTIONS = ROOT / "tests" / "data" / "practice_questions.jsonl"
# Actions a user picks, with their weights; a report is a whole flow of about ten updates.
WEIGHTS = {
    "rsvp": 34, "calendar": 14, "ask": 14, "propose": 8, "propose_private": 4, "report": 4,
    "start": 5, "help": 5,
}
REPORTS_PER_USER = 4  # the bot accepts 5 reports per person per day
RECEIPT_RE = re.compile(r"<code>\d{4} \d{4} \d{4} \d{4}</code>")

# The API calls made while one update is handled (the listener runs in the update's task).
_replies: ContextVar[list[tuple[ApiCall, dict]] | None] = ContextVar("replies", default=None)
# The SQL statements run while one update is handled.
_statements: ContextVar[list[int] | None] = ContextVar("statements", default=None)


# With --show-sql, the statements of one measured update of each type.
_sql_texts: ContextVar[list[str] | None] = ContextVar("sql_texts", default=None)


def _count_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    counter = _statements.get()
    if counter is not None:
        counter[0] += 1
    texts = _sql_texts.get()
    if texts is not None:
        texts.append(" ".join(statement.split()))


def _count_loaded(*_args: Any, **_kwargs: Any) -> None:
    """ORM objects loaded from the database while one update is handled."""
    counter = _statements.get()
    if counter is not None:
        counter[1] += 1


event.listen(OrmSession, "loaded_as_persistent", _count_loaded)


class GcPauses:
    """Garbage collection pauses seen through gc.callbacks while recording: wall-clock time and
    the thread's CPU time (the latter robust to a loaded machine descheduling the process)."""

    def __init__(self) -> None:
        self.recording = False
        self.pauses: list[tuple[float, float, int]] = []  # (wall s, CPU s, generation)
        self._start: tuple[float, float] | None = None

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = (time.perf_counter(), time.thread_time())
        elif self._start is not None:
            if self.recording:
                self.pauses.append((time.perf_counter() - self._start[0],
                                    time.thread_time() - self._start[1], info["generation"]))
            self._start = None

    def longest(self) -> tuple[float, float, int]:
        """The longest pause in CPU time: (wall s, CPU s, generation)."""
        return max(self.pauses, key=lambda p: p[1], default=(0.0, 0.0, -1))


class TimedBotAPI(LocalBotAPI):
    """LocalBotAPI that also measures the time spent in it: all of it (aiogram serialising the
    request and parsing the answer, as with a real session) and its own bookkeeping (answering,
    storing the messages)."""

    def __init__(self) -> None:
        super().__init__()
        # the bench reads each update's replies through its listener: a record of every call
        # (about 10 container objects each) would be half of what a full garbage collection
        # walks in this process, which a bot talking to Telegram does not hold
        self.calls = deque(maxlen=64)
        self.seconds = 0.0
        self.bookkeeping = 0.0
        self.count = 0
        self.listeners.append(self._capture)

    def _answer(self, call: ApiCall, files: dict[str, Any]) -> dict[str, Any]:
        start = time.thread_time()
        try:
            return super()._answer(call, files)
        finally:
            self.bookkeeping += time.thread_time() - start

    @staticmethod
    def _capture(call: ApiCall, answer: Any) -> None:
        replies = _replies.get()
        if replies is not None:
            replies.append((call, answer))

    async def make_request(self, bot: Bot, method, timeout: int | None = None):
        start = time.thread_time()
        try:
            return await super().make_request(bot, method, timeout)
        finally:
            self.seconds += time.thread_time() - start
            self.count += 1


class ErrorCounter(BaseMiddleware):
    """Outer middleware of the error observer: sees every exception a handler raised."""

    def __init__(self) -> None:
        self.count = 0
        self.types: Counter[str] = Counter()

    async def __call__(self, handler, event, data):
        self.count += 1
        self.types[type(event.exception).__name__] += 1
        return await handler(event, data)


class LogCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: Counter[tuple[str, str]] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.records[(record.levelname, record.name)] += 1

    def errors(self) -> int:
        return sum(n for (level, _), n in self.records.items() if level in ("ERROR", "CRITICAL"))


@dataclass
class Stats:
    recording: bool = False
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statements: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    objects: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    escaped: int = 0
    problems: Counter[str] = field(default_factory=Counter)  # failed sanity checks
    done: Counter[str] = field(default_factory=Counter)  # what the users achieved
    # Process CPU of the updates handled while no other was in progress (clean per-update CPU).
    cpu_alone: list[float] = field(default_factory=list)
    cpu_kinds: list[str] = field(default_factory=list)
    show_sql: bool = False
    sql: dict[str, list[str]] = field(default_factory=dict)  # kind: one update's statements

    def all(self) -> list[float]:
        return [x for values in self.latencies.values() for x in values]

    def mean_of(self, what: dict[str, list[int]], prefix: str = "") -> float:
        values = [x for kind, xs in what.items() if kind.startswith(prefix) for x in xs]
        return statistics.fmean(values) if values else float("nan")


@dataclass
class Budget:
    """Updates the users may still start; an action reserves its updates before it starts."""

    left: int

    def take(self, updates: int) -> bool:
        if self.left <= 0:
            return False
        self.left -= updates
        return True


@dataclass
class Group:
    index: int
    chat_id: int
    creator: LocalUser
    code: str = ""
    db_id: int = 0
    cards: list[StoredMessage] = field(default_factory=list)


@dataclass
class BenchUser:
    user: LocalUser
    groups: list[Group]
    rng: random.Random
    reports: int = 0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def load_questions() -> dict[str, list[str]]:
    by_lang: dict[str, list[str]] = defaultdict(list)
    for line in QUESTIONS.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            by_lang[item["lang"]].append(item["q"])
    return by_lang


# --- feeding updates --------------------------------------------------------------------------


class Driver:
    """Builds updates as Telegram would and feeds them, timing `Dispatcher.feed_update`."""

    def __init__(self, dispatcher: Dispatcher, api: TimedBotAPI, stats: Stats) -> None:
        self.dispatcher = dispatcher
        self.api = api
        self.bot = Bot(LOCAL_TOKEN, session=api,
                       default=DefaultBotProperties(parse_mode=ParseMode.HTML))
        self.stats = stats
        self.update_ids = itertools.count(1)
        self.callback_ids = itertools.count(1)
        # Open loop: each update waits for an arrival (its scheduled send time) from this queue
        # and its latency counts from that time, so waiting for the bot is part of it.
        self.arrivals: asyncio.Queue[float] | None = None
        self.in_flight = 0
        self.started = 0

    async def feed(self, kind: str, payload: dict[str, Any]) -> list[tuple[ApiCall, dict]]:
        arrival = await self.arrivals.get() if self.arrivals is not None else None
        update = Update.model_validate({"update_id": next(self.update_ids), **payload},
                                       context={"bot": self.bot})
        replies: list[tuple[ApiCall, dict]] = []
        statements = [0, 0]
        token, counting = _replies.set(replies), _statements.set(statements)
        texts: list[str] | None = (
            [] if self.stats.recording and self.stats.show_sql and kind not in self.stats.sql
            else None)
        showing = _sql_texts.set(texts)
        alone = self.in_flight == 0
        self.in_flight += 1
        self.started += 1
        started = self.started
        start, cpu = time.perf_counter(), time.process_time()
        try:
            await self.dispatcher.feed_update(self.bot, update)
        except Exception:  # the error handler should have taken it
            self.stats.escaped += 1
        finally:
            cpu = time.process_time() - cpu
            elapsed = time.perf_counter() - (start if arrival is None else arrival)
            self.in_flight -= 1
            _replies.reset(token)
            _statements.reset(counting)
            _sql_texts.reset(showing)
        if texts:
            self.stats.sql[kind] = texts + [f"Bot API: {call.method}" for call, _a in replies]
        if self.stats.recording:
            self.stats.latencies[kind].append(elapsed)
            self.stats.statements[kind].append(statements[0])
            self.stats.objects[kind].append(statements[1])
            if alone and started == self.started:  # no other update ran meanwhile
                self.stats.cpu_alone.append(cpu)
                self.stats.cpu_kinds.append(kind)
        if not replies:
            self.stats.problems[f"{kind}: no reply"] += 1
        for call, _answer in replies:
            if call.method == "answerCallbackQuery" and call.params.get("show_alert"):
                self.stats.problems[f"{kind}: refused with an alert"] += 1
        return replies

    async def send(self, kind: str, user: LocalUser, chat_id: int, text: str
                   ) -> list[tuple[ApiCall, dict]]:
        self.api.users[user.id] = user.as_dict()
        message = self.api.store(StoredMessage(
            chat_id=chat_id, message_id=self.api.next_message_id(chat_id),
            sender=user.as_dict(), text=text))
        data = self.api.message_dict(message)
        if text.startswith("/"):
            data["entities"] = [{"type": "bot_command", "offset": 0,
                                 "length": len(text.split(maxsplit=1)[0])}]
        return await self.feed(kind, {"message": data})

    async def press(self, kind: str, user: LocalUser, message: StoredMessage, data: str
                    ) -> list[tuple[ApiCall, dict]]:
        if not any(b.get("callback_data") == data for b in message.buttons()):
            self.stats.problems[f"{kind}: button not on the message"] += 1
        return await self.feed(kind, {"callback_query": {
            "id": str(next(self.callback_ids)), "from": user.as_dict(),
            "chat_instance": f"local{message.chat_id}",
            "message": self.api.message_dict(message), "data": data,
        }})

    def sent(self, replies: list[tuple[ApiCall, dict]]) -> list[StoredMessage]:
        """The messages the bot sent or edited while handling one update, in order."""
        found = []
        for call, answer in replies:
            result = answer.get("result")
            if call.method.startswith(("send", "edit")) and isinstance(result, dict):
                key = (result["chat"]["id"], result["message_id"])
                if key in self.api.messages:
                    found.append(self.api.messages[key])
        return found

    def with_button(self, replies, prefix: str) -> StoredMessage | None:
        for message in reversed(self.sent(replies)):
            if any(b.get("callback_data", "").startswith(prefix) for b in message.buttons()):
                return message
        return None


# --- the set-up -------------------------------------------------------------------------------


SAVE = "gs2:confirm:save"  # handlers/schedule.py: the Save button under what was understood


async def set_up(driver: Driver, database: Database, users: int, groups: int,
                 seed: int) -> list[BenchUser]:
    people = [LocalUser(id=200_000 + i, first_name=f"Member{i}", username=f"member{i}",
                        language_code=LANGS[i % len(LANGS)]) for i in range(users)]
    for person in people:
        driver.api.chats[person.id] = {"id": person.id, "type": "private",
                                       "first_name": person.first_name}
        driver.api.users[person.id] = person.as_dict()
    made = []
    groups = min(groups, users)
    for g in range(groups):
        chat_id = -1_001_500_000_000 - g
        group = Group(g, chat_id, people[g])
        driver.api.chats[chat_id] = {"id": chat_id, "type": "supergroup", "title": f"WG {g}"}
        driver.api.creators[chat_id] = people[g].id
        await driver.send("setup", people[g], chat_id, f"/setup Working group {g} | {ZONE}")
        made.append(group)
    async with database.session() as session:
        for group in made:
            row = (await session.exec(select(WorkingGroup).where(
                WorkingGroup.chat_id == group.chat_id))).one()
            group.code, group.db_id = row.code, row.id
    bench_users = []
    async with database.session() as session:  # /join of everyone, through the service
        for i, person in enumerate(people):
            mine = [made[i % groups]]
            if i % 5 == 4 and groups > 1:  # some people belong to two groups
                mine.append(made[(i + 1) % groups])
            stored = await touch_person(session, identity_of(_as_user(person)))
            for group in mine:
                await ensure_member(session, await session.get(WorkingGroup, group.db_id), stored)
            bench_users.append(BenchUser(person, mine, random.Random(seed * 100_003 + i)))
    today = datetime.now(ZoneInfo(ZONE)).date()
    for group in made:
        for line in ("every tuesday 10:00 | Weekly coordination | Online",
                     f"{today + timedelta(days=4)} 10:00 | Plenary | Bukavu",
                     f"{today + timedelta(days=11)} 15:00 | Field visit | Kamituga"):
            replies = await driver.send("setup", group.creator, group.chat_id,
                                        f"/schedule {line}")
            card = driver.with_button(replies, "mt:r:")
            if card is None:  # a date read from words, a series: shown in full, then saved
                check = next((m for m in reversed(driver.sent(replies))
                              for b in m.buttons() if b.get("callback_data") == SAVE), None)
                if check is not None:
                    save = SAVE
                    replies = await driver.press("setup", group.creator, check, save)
                    card = driver.with_button(replies, "mt:r:")
            if card is None:
                raise SystemExit(f"/schedule {line} gave no meeting card")
            group.cards.append(card)
    return bench_users


def _as_user(person: LocalUser) -> User:
    return User.model_validate(person.as_dict())


# --- what users do ----------------------------------------------------------------------------


@dataclass
class Expect:
    rsvp: dict[tuple[int, int, int], str] = field(default_factory=dict)
    reports: int = 0
    proposals: int = 0


class Actions:
    def __init__(self, driver: Driver, questions: dict[str, list[str]], expect: Expect) -> None:
        self.driver = driver
        self.questions = questions
        self.expect = expect
        self.stats = driver.stats

    async def rsvp(self, u: BenchUser) -> None:
        group = u.groups[0]
        card = u.rng.choice(group.cards)
        answer = u.rng.choice(("going", "maybe", "no"))
        rsvp_buttons = [MeetingCb.unpack(b["callback_data"]) for b in card.buttons()
                        if b.get("callback_data", "").startswith("mt:r:")]
        chosen = next((cb for cb in rsvp_buttons if cb.v == answer), None)
        if chosen is None:
            self.stats.problems["rsvp: no RSVP buttons on the card"] += 1
            return
        replies = await self.driver.press("rsvp", u.user, card, chosen.pack())
        if not any(c.method == "editMessageText" for c, _ in replies):
            self.stats.problems["rsvp: card not refreshed"] += 1
        self.expect.rsvp[(chosen.m, chosen.o, u.user.id)] = answer
        self.stats.done["rsvp presses"] += 1

    async def calendar(self, u: BenchUser) -> None:
        replies = await self.driver.send("calendar", u.user, u.groups[0].chat_id, "/calendar")
        if not any("/meeting " in (m.text or "") for m in self.driver.sent(replies)):
            self.stats.problems["calendar: no meetings listed"] += 1

    async def ask(self, u: BenchUser) -> None:
        lang = u.user.language_code if u.user.language_code in self.questions else "en"
        question = u.rng.choice(self.questions[lang])
        replies = await self.driver.send("ask", u.user, u.user.id, f"/ask {question}")
        if self.driver.with_button(replies, "p") is None:
            self.stats.problems["ask: no answer card"] += 1
        else:
            self.stats.done["answer cards"] += 1

    async def propose(self, u: BenchUser) -> None:
        topic = u.rng.choice(("Access road to the village", "Checkpoint conduct",
                              "Compensation for the fields", "Water quality downstream"))
        replies = await self.driver.send("propose", u.user, u.groups[0].chat_id,
                                         f"/propose {topic}")
        if not any(re.search(r"\d", m.text or "") for m in self.driver.sent(replies)):
            self.stats.problems["propose: no proposal number"] += 1
        self.expect.proposals += 1  # the database check counts what was recorded

    async def propose_private(self, u: BenchUser) -> None:
        group = u.rng.choice(u.groups)
        code = f"{group.code} " if len(u.groups) > 1 else ""
        replies = await self.driver.send("propose:private", u.user, u.user.id,
                                         f"/propose {code}Security of the night shift")
        choice = self.driver.with_button(replies, "ag:")
        if choice is None:
            self.stats.problems["propose:private: no name choice"] += 1
            return
        button = next(b for b in choice.buttons()
                      if b["callback_data"].startswith(("ag:named:", "ag:anon:")))
        item = AgendaCb.unpack(button["callback_data"]).i
        action = u.rng.choice(("named", "anon"))
        await self.driver.press("propose:name", u.user, choice, AgendaCb(a=action, i=item).pack())
        self.expect.proposals += 1

    async def start(self, u: BenchUser) -> None:
        replies = await self.driver.send("start", u.user, u.user.id, "/start")
        self._commands_listed("start", replies)

    async def help(self, u: BenchUser) -> None:
        private = u.rng.random() < 0.5
        chat_id = u.user.id if private else u.groups[0].chat_id
        replies = await self.driver.send("help", u.user, chat_id, "/help")
        self._commands_listed("help", replies)

    def _commands_listed(self, kind: str, replies) -> None:
        if not any("/calendar" in (m.text or "") or "/report" in (m.text or "")
                   for m in self.driver.sent(replies)):
            self.stats.problems[f"{kind}: no command list"] += 1

    async def report(self, u: BenchUser) -> None:
        """A whole concern report, as a community member would send it."""
        d, user, rng, chat = self.driver, u.user, u.rng, u.user.id
        problem = self.stats.problems

        async def step(kind, replies, prefix) -> StoredMessage | None:
            message = d.with_button(replies, prefix)
            if message is None:
                problem[f"{kind}: next step missing"] += 1
            return message

        replies = await d.send("report:start", user, chat, "/report")
        message = await step("report:start", replies, "rp:lang:")
        if message is None:
            return
        language = rng.choice(LANGS)
        replies = await d.press("report:step", user, message,
                                ReportCb(action="lang", value=language).pack())
        if len(u.groups) > 1:
            message = await step("report:step", replies, "rp:group:")
            if message is None:
                return
            value = str(rng.choice(u.groups).db_id)
            replies = await d.press("report:step", user, message,
                                    ReportCb(action="group", value=value).pack())
        message = await step("report:step", replies, "rp:go:")
        if message is None:
            return
        replies = await d.press("report:step", user, message, ReportCb(action="go").pack())
        message = await step("report:step", replies, "rp:cat:")
        if message is None:
            return
        category = rng.choice(list(CATEGORY_LABELS))
        replies = await d.press("report:step", user, message,
                                ReportCb(action="cat", value=category).pack())
        message = await step("report:step", replies, "rp:danger:")
        if message is None:
            return
        danger = "yes" if rng.random() < 0.1 else "no"
        await d.press("report:step", user, message,
                      ReportCb(action="danger", value=danger).pack())
        replies = await d.send("report:step", user, chat, "Near the gate of the mine, Kamituga")
        message = await step("report:step", replies, "rp:when:")
        if message is None:
            return
        if rng.random() < 0.5:
            await d.press("report:step", user, message,
                          ReportCb(action="when", value="yesterday").pack())
        else:
            await d.send("report:step", user, chat, "Last Saturday in the evening")
        texts = ["Guards stopped people on the road and took their phones.",
                 "Two of them were beaten; one went to the health centre."]
        for part in texts[:rng.choice((1, 2))]:
            replies = await d.send("report:step", user, chat, part)
        message = await step("report:step", replies, "rp:done:")
        if message is None:
            return
        replies = await d.press("report:step", user, message, ReportCb(action="done").pack())
        message = await step("report:step", replies, "rp:submit:")
        if message is None:
            return
        replies = await d.press("report:submit", user, message, ReportCb(action="submit").pack())
        receipt = next((m for m in d.sent(replies) if RECEIPT_RE.search(m.text or "")), None)
        if receipt is None:
            problem["report:submit: no receipt"] += 1
            return
        self.expect.reports += 1
        u.reports += 1
        if rng.random() < 0.5:
            wipe = next((b["callback_data"] for b in receipt.buttons()
                         if b.get("callback_data", "").startswith(ReportCb(action="wipe").pack())),
                        ReportCb(action="wipe").pack())  # the button carries where it starts
            replies = await d.press("report:step", user, receipt, wipe)
            deleted = sum(c.method == "deleteMessage" and a.get("ok") for c, a in replies)
            if not deleted:
                problem["report:step: messages not deleted"] += 1


async def user_loop(actions: Actions, u: BenchUser, budget: Budget) -> None:
    names, weights = list(WEIGHTS), list(WEIGHTS.values())
    while True:
        action = u.rng.choices(names, weights)[0]
        if action == "report" and u.reports >= REPORTS_PER_USER:
            action = "ask"
        cost = {"report": 11, "propose_private": 2}.get(action, 1)
        if not budget.take(cost):
            return
        await getattr(actions, action)(u)


async def run_users(bench_users: list[BenchUser], actions: Actions, updates: int
                    ) -> tuple[float, float]:
    """Wall seconds, and CPU seconds of the event loop's thread."""
    budget = Budget(updates)
    start, cpu = time.perf_counter(), time.thread_time()
    await asyncio.gather(*(user_loop(actions, u, budget) for u in bench_users))
    return time.perf_counter() - start, time.thread_time() - cpu


# --- open loop: Poisson arrivals at a fixed offered rate --------------------------------------


@dataclass
class OpenRun:
    offered: float
    updates: int
    seconds: float  # from the first arrival to the last reply
    stats: Stats
    cpu: float  # process CPU over the run

    @property
    def achieved(self) -> float:
        return self.updates / self.seconds if self.seconds else float("nan")


async def _arrive(queue: asyncio.Queue[float], rate: float, rng: random.Random) -> None:
    """Put the scheduled time of each arrival into the queue when it comes (Poisson process)."""
    due = time.perf_counter()
    while True:
        due += rng.expovariate(rate)
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait(due)


async def run_open(driver: Driver, loops, rate: float, updates: int, seed: int) -> OpenRun:
    """Offer `updates` updates at `rate` per second: the users wait (pause) until an arrival
    comes for their next update, whatever the bot is still doing; latency counts from the
    arrival. `loops(budget)` gives the users' coroutines."""
    stats = Stats(recording=True)
    previous, driver.stats = driver.stats, stats
    driver.arrivals = asyncio.Queue()
    arrivals = asyncio.ensure_future(_arrive(driver.arrivals, rate, random.Random(seed)))
    start, cpu = time.perf_counter(), time.process_time()
    try:
        await asyncio.gather(*loops(Budget(updates)))
    finally:
        arrivals.cancel()
        driver.arrivals = None
        driver.stats = previous
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return OpenRun(rate, len(stats.all()), seconds, stats, cpu)


def saturation(results: list[OpenRun]) -> str:
    """The highest offered rate served: achieved >= 0.95 of offered, p99 under a second."""
    served = [r.offered for r in results
              if r.achieved >= 0.95 * r.offered and percentile(r.stats.all(), 0.99) < 1.0]
    return f"{max(served):g}/s" if served else "none"


# --- checks against the database -------------------------------------------------------------


async def check_database(database: Database, expect: Expect, problems: Counter[str]) -> dict:
    async with database.session() as session:
        rows = (await session.exec(select(Rsvp.meeting_id, Rsvp.occurrence, Person.telegram_id,
                                          Rsvp.answer).join(Person, Person.id == Rsvp.person_id)
                                   )).all()
        found = {(m, o, t): a for m, o, t, a in rows}
        cases = (await session.exec(select(func.count()).select_from(ReportCase))).one()
        items = (await session.exec(select(func.count()).select_from(AgendaItem).where(
            AgendaItem.status == "pending"))).one()
        outbox = (await session.exec(select(func.count()).select_from(OutboxMessage))).one()
    if found != expect.rsvp:
        problems["RSVP rows differ from the last presses"] += sum(
            1 for k in set(found) | set(expect.rsvp) if found.get(k) != expect.rsvp.get(k))
    if cases != expect.reports:
        problems["reports filed differ from receipts given"] += abs(cases - expect.reports)
    if items != expect.proposals:
        problems["agenda items differ from proposals"] += abs(items - expect.proposals)
    return {"rsvp rows": len(found), "reports filed": cases, "agenda items": items,
            "outbox rows": outbox}


# --- one backend --------------------------------------------------------------------------------


@dataclass
class Result:
    label: str
    updates: int
    seconds: float
    stats: Stats
    errors: int
    escaped: int
    log_errors: int
    api_seconds: float = 0.0
    api_calls: int = 0
    facts: dict = field(default_factory=dict)
    cpu: float = 0.0
    error_types: Counter[str] = field(default_factory=Counter)
    api_bookkeeping: float = 0.0
    open_runs: list[OpenRun] = field(default_factory=list)
    gc_longest: tuple[float, float, int] = (0.0, 0.0, -1)

    @property
    def rate(self) -> float:
        return self.updates / self.seconds


async def fresh_database(url: str) -> Database:
    database = Database(url)
    if not database.is_sqlite:
        async with database.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    await upgrade(database)
    return database


async def run_backend(label: str, url: str, folder: Path, args, questions, logs: LogCounter,
                      gc_pauses: GcPauses) -> Result:
    database = await fresh_database(url)
    event.listen(database.engine.sync_engine, "before_cursor_execute", _count_statement)
    settings = Settings(WGBOT_DATA_DIR=folder, WGBOT_DEFAULT_TIMEZONE=ZONE,
                        telegram_bot_token=None, _env_file=None)
    await get_practice_index(settings.catalogue_dirs)
    dispatcher = build_dispatcher(settings, database, get_i18n(), Ticker(30))
    errors = ErrorCounter()
    dispatcher.errors.outer_middleware(errors)
    stats = Stats(show_sql=args.show_sql)
    api = TimedBotAPI()
    driver = Driver(dispatcher, api, stats)
    expect = Expect()
    began = time.perf_counter()
    bench_users = await set_up(driver, database, args.users, args.groups, args.seed)
    print(f"  {label}: set-up {time.perf_counter() - began:.1f} s "
          f"({args.groups} groups, {args.users} users, {3 * args.groups} meetings)", flush=True)
    stats.problems.clear()
    actions = Actions(driver, questions, expect)
    await run_users(bench_users, actions, args.warmup)
    freeze_after_start()  # as `wgbot run` does once started
    stats.recording = True
    logged_before = logs.errors()
    api.seconds, api.bookkeeping, api.count = 0.0, 0.0, 0
    gc_pauses.recording = True
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    seconds, cpu = await run_users(bench_users, actions, args.updates)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(f"{args.profile}.{label}")
        print(f"  {label}: profile of the measured closed loop in {args.profile}.{label}")
    stats.recording = False
    open_runs = []
    for n, rate in enumerate(args.rates):
        actions.stats = stats  # the checks of every run count
        run = await run_open(driver, lambda budget: [user_loop(actions, u, budget)
                                                     for u in bench_users],
                             rate, args.open_updates, args.seed + n)
        stats.problems.update(run.stats.problems)
        stats.escaped += run.stats.escaped
        open_runs.append(run)
        print(f"  {label}: {rate:g}/s offered: p50 "
              f"{percentile(run.stats.all(), 0.5) * 1000:.0f} ms, p99 "
              f"{percentile(run.stats.all(), 0.99) * 1000:.0f} ms", flush=True)
    gc_pauses.recording = False
    facts = await check_database(database, expect, stats.problems)
    await driver.bot.session.close()
    await dispatcher.storage.close()
    await database.dispose()
    return Result(label, len(stats.all()), seconds, stats, errors.count, stats.escaped,
                  logs.errors() - logged_before, api.seconds, api.count, facts, cpu,
                  errors.types, api.bookkeeping, open_runs)


# --- the ceiling: a bare Dispatcher that echoes ------------------------------------------------


async def run_echo(args) -> Result:
    router = Router()

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    errors = ErrorCounter()
    dispatcher.errors.outer_middleware(errors)
    stats = Stats(show_sql=args.show_sql)
    api = TimedBotAPI()
    driver = Driver(dispatcher, api, stats)
    people = [LocalUser(id=200_000 + i, first_name=f"Member{i}") for i in range(args.users)]
    for person in people:
        api.chats[person.id] = {"id": person.id, "type": "private", "first_name": "M"}

    async def loop(person: LocalUser, budget: Budget) -> None:
        while budget.take(1):
            await driver.send("echo", person, person.id, "Hello, is the meeting on Tuesday?")

    def loops(budget: Budget) -> list:
        return [loop(p, budget) for p in people]

    for phase, count in (("warm-up", args.warmup), ("measure", args.updates)):
        stats.recording = phase == "measure"
        api.seconds, api.bookkeeping, api.count = 0.0, 0.0, 0
        budget = Budget(count)
        start, cpu = time.perf_counter(), time.thread_time()
        await asyncio.gather(*(loop(p, budget) for p in people))
        seconds, cpu = time.perf_counter() - start, time.thread_time() - cpu
    open_runs = [await run_open(driver, loops, rate, args.open_updates, args.seed + n)
                 for n, rate in enumerate(args.rates)]
    await driver.bot.session.close()
    return Result("echo ceiling", len(stats.all()), seconds, stats, errors.count, stats.escaped,
                  0, api.seconds, api.count, cpu=cpu, api_bookkeeping=api.bookkeeping,
                  open_runs=open_runs)


# --- printing -----------------------------------------------------------------------------------


def print_results(results: list[Result]) -> None:
    width = 22
    head = f"{'':<30}" + "".join(f"{r.label:>{width}}" for r in results)
    print()
    print(head)

    def row(name: str, values: list[str]) -> None:
        print(f"{name:<30}" + "".join(f"{v:>{width}}" for v in values))

    row("updates measured", [str(r.updates) for r in results])
    row("seconds", [f"{r.seconds:.2f}" for r in results])
    row("updates per second", [f"{r.rate:.0f}" for r in results])
    row("feed_update p50 ms", [f"{percentile(r.stats.all(), 0.5) * 1000:.1f}" for r in results])
    row("feed_update p99 ms", [f"{percentile(r.stats.all(), 0.99) * 1000:.1f}" for r in results])
    row("feed_update mean ms", [f"{statistics.fmean(r.stats.all()) * 1000:.1f}"
                                for r in results])
    row("loop-thread CPU ms per update", [f"{r.cpu / r.updates * 1000:.1f}" for r in results])

    def alone(r: Result) -> list[float]:
        return [x for run in r.open_runs for x in run.stats.cpu_alone]

    if any(r.open_runs for r in results):
        row("CPU ms/update, median alone", [
            f"{statistics.median(alone(r)) * 1000:.1f} (n={len(alone(r))})" if alone(r) else "-"
            for r in results])
    row("SQL statements per update", [f"{r.stats.mean_of(r.stats.statements):.1f}"
                                      for r in results])
    row("SQL statements per RSVP", [f"{r.stats.mean_of(r.stats.statements, 'rsvp'):.1f}"
                                    for r in results])
    row("ORM objects loaded per update", [f"{r.stats.mean_of(r.stats.objects):.1f}"
                                          for r in results])
    row("longest GC pause CPU/wall ms", [
        f"{r.gc_longest[1] * 1000:.1f}/{r.gc_longest[0] * 1000:.0f} (gen {r.gc_longest[2]})"
        for r in results])
    row("errors (error handler)", [str(r.errors) for r in results])
    row("exceptions out of feed_update", [str(r.escaped) for r in results])
    row("ERROR log records", [str(r.log_errors) for r in results])
    row("failed reply checks", [str(sum(r.stats.problems.values())) for r in results])
    row("Bot API calls per update", [f"{r.api_calls / r.updates:.2f}" for r in results])
    row("mocked Bot API CPU us per call", [f"{r.api_seconds / max(r.api_calls, 1) * 1e6:.0f}"
                                       for r in results])
    row("mocked Bot API / loop CPU", [f"{100 * r.api_seconds / r.cpu:.1f}%" for r in results])
    row("  of which its bookkeeping", [f"{100 * r.api_bookkeeping / r.cpu:.1f}%"
                                       for r in results])
    if any(r.open_runs for r in results):
        print()
        print("open loop (Poisson arrivals, latency from the arrival): p50 / p99 ms, achieved/s")
        for i, run in enumerate(results[0].open_runs):
            cells = []
            for r in results:
                if i < len(r.open_runs):
                    o = r.open_runs[i]
                    cells.append(f"{percentile(o.stats.all(), 0.5) * 1000:.0f} / "
                                 f"{percentile(o.stats.all(), 0.99) * 1000:.0f}, "
                                 f"{o.achieved:.0f}")
                else:
                    cells.append("-")
            row(f"  {run.offered:g} updates/s offered", cells)
        row("saturation: highest rate served", [saturation(r.open_runs) for r in results])
        row("closed loop (no pause) /s", [f"{r.rate:.0f}" for r in results])
    kinds = sorted({k for r in results for k in r.stats.latencies if k != "echo"},
                   key=lambda k: (k.split(":")[0] not in WEIGHTS, k))
    print()
    print("per update type: count, p50 / p99 ms, SQL statements per update, "
          "CPU ms median alone")
    for kind in kinds:
        cells = []
        for r in results:
            values = r.stats.latencies.get(kind, [])
            sql = statistics.fmean(r.stats.statements[kind]) if values else 0
            alone = [c for run in r.open_runs
                     for c, k in zip(run.stats.cpu_alone, run.stats.cpu_kinds, strict=True)
                     if k == kind]
            cpu = f"{statistics.median(alone) * 1000:.1f}" if alone else "-"
            cells.append(f"{len(values)}, {percentile(values, 0.5) * 1000:.0f}/"
                         f"{percentile(values, 0.99) * 1000:.0f}, {sql:.0f}, {cpu}"
                         if values else "-")
        row(f"  {kind}", cells)
    for r in results:
        if r.facts:
            print(f"\n{r.label}: " + ", ".join(f"{k} {v}" for k, v in r.facts.items())
                  + "; achieved: " + ", ".join(f"{k} {v}" for k, v in r.stats.done.items()))
        for name, n in sorted(r.error_types.items()):
            print(f"  ERROR {name} (error handler): {n}")
        for problem, n in sorted(r.stats.problems.items()):
            print(f"  FAILED CHECK {problem}: {n}")
        for kind, texts in sorted(r.stats.sql.items()):
            print(f"\n{r.label}: the SQL statements and Bot API calls of one {kind} update")
            for statement in texts:
                print(f"  {statement[:300]}")


async def main_async(args) -> None:
    logs = LogCounter()  # log records are counted and summed up at the end, not printed
    logging.basicConfig(level=logging.WARNING)
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.CRITICAL)
    logging.getLogger().addHandler(logs)
    # A report key for this process only, so the report steps can encrypt and file.
    os.environ["WGBOT_REPORT_KEY"] = base64.urlsafe_b64encode(os.urandom(32)).decode()
    report_crypto.clear_cache()
    questions = load_questions()
    backends: list[tuple[str, str | None]] = []
    if args.database:
        backends.append(("database", args.database))
    else:
        backends.append(("sqlite", None))
        postgres = args.postgres or os.environ.get("BENCH_DATABASE_URL")
        if postgres:
            backends.append(("postgresql", postgres))
    total = sum(WEIGHTS.values())
    print(f"{args.users} users at once, {args.groups} groups; {args.updates} updates measured "
          f"after {args.warmup} of warm-up")
    print("actions (weight %): " + ", ".join(f"{k} {100 * v / total:.0f}"
                                             for k, v in WEIGHTS.items())
          + "; a report is ~11 updates, propose_private 2")
    gc_pauses = GcPauses()
    gc.callbacks.append(gc_pauses)
    gc_pauses.recording = True
    results = [await run_echo(args)]
    gc_pauses.recording = False
    results[0].gc_longest, gc_pauses.pauses = gc_pauses.longest(), []
    print(f"  echo ceiling: {results[0].rate:.0f} updates/s", flush=True)
    for label, url in backends:
        with tempfile.TemporaryDirectory() as folder:
            url = url or f"sqlite+aiosqlite:///{folder}/bench.db"
            results.append(await run_backend(label, url, Path(folder), args, questions, logs,
                                             gc_pauses))
            results[-1].gc_longest, gc_pauses.pauses = gc_pauses.longest(), []
        print(f"  {label}: {results[-1].rate:.0f} updates/s", flush=True)
    print_results(results)
    if logs.records:
        print("\nlog records at WARNING and above: " + ", ".join(
            f"{level} {name} x{n}" for (level, name), n in logs.records.items()))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--updates", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--groups", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres", default=None,
                        help="PostgreSQL URL to measure too (its schema public is dropped)")
    parser.add_argument("--database", default=None,
                        help="measure only this database URL (PostgreSQL: schema dropped)")
    parser.add_argument("--open", action="store_true",
                        help="after the closed loop, offer updates at fixed rates (open loop)")
    parser.add_argument("--rates", default="10,25,50,100",
                        help="offered rates of the open loop, updates per second")
    parser.add_argument("--open-updates", type=int, default=300,
                        help="updates offered at each rate of the open loop")
    parser.add_argument("--show-sql", action="store_true",
                        help="print the SQL statements of one measured update of each type")
    parser.add_argument("--profile", metavar="FILE", default=None,
                        help="profile the measured closed loop (cProfile) into FILE.BACKEND")
    args = parser.parse_args(argv)
    args.rates = [float(r) for r in args.rates.split(",") if r] if args.open else []
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()

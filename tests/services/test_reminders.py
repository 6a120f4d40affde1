"""Reminders as outbox rows: offsets, rebuild on change, rolling horizon for open series, grace,
delivery exactly once across a restart and with two schedulers on one database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.delivery import outbox
from bot.delivery.scheduler import Ticker
from bot.delivery.sender import Sender
from bot.delivery.worker import Delivery
from bot.local_api import LocalUser
from bot.services import calendar as cal
from bot.services import groups, people, reminders
from bot.services.groups import SetupRequest
from bot.services.people import TelegramIdentity
from storage.calendar_tables import Meeting
from storage.database import Database
from storage.models import OutboxMessage

NOW = datetime(2026, 9, 1, 6, 0, tzinfo=UTC)
GROUP_CHAT = -1001234567890


@pytest.mark.parametrize(("text", "minutes"), [
    ("3d 1d 2h", [4320, 1440, 120]),
    ("1w, 30m", [10080, 30]),
    ("2j 1h 1h", [2880, 60]),
])
def test_parse_offsets(text, minutes):
    assert reminders.parse_offsets(text) == minutes
    assert reminders.format_offsets(minutes).split()[0] == reminders.format_offset(minutes[0])


@pytest.mark.parametrize(("text", "code"), [
    ("", "offsets_empty"),
    ("1d 2d 3d 4d 5d 6d", "offsets_many"),
    ("3x", "offset_bad"),
    ("0h", "offset_range"),
    ("61d", "offset_range"),
])
def test_parse_offsets_refusals(text, code):
    with pytest.raises(reminders.OffsetError) as err:
        reminders.parse_offsets(text)
    assert err.value.code == code


async def _setup(database, rule=None, first=datetime(2026, 9, 10, 10, 0)):
    async with database.session() as session:
        amani = await people.touch_person(session, TelegramIdentity(1001, "Amani",
                                                                    language_code="fr"))
        bahati = await people.touch_person(session, TelegramIdentity(1002, "Bahati",
                                                                     language_code="sw"))
        group = await groups.register_group(
            session, GROUP_CHAT, SetupRequest("WG", "Europe/Paris"),
            default_timezone="Europe/Paris", default_language="en", secretariat=[amani])
        await groups.ensure_member(session, group, bahati)
        meeting = await cal.create_meeting(session, group, title="Plenary", start_local=first,
                                           rule=rule, place="Bukavu")
        await reminders.sync_meeting(session, meeting, NOW)
        return meeting.id


async def _keys(database, status="pending"):
    async with database.session() as session:
        rows = (await session.exec(select(OutboxMessage).where(
            OutboxMessage.status == status))).all()
        return sorted(row.key for row in rows)


async def _rsvp(database, meeting_id, telegram_id, answer, now=NOW):
    async with database.session() as session:
        meeting = await session.get(Meeting, meeting_id)
        person = await people.get_person(session, telegram_id)
        occ = (await cal.next_occurrences(session, meeting, now, 1))[0]
        await cal.set_rsvp(session, occ, person, answer, now)
        await reminders.sync_meeting(session, meeting, now)


async def test_rows_per_offset_and_recipient_and_rebuild_on_rsvp(database):
    meeting_id = await _setup(database)
    assert len(await _keys(database)) == 3  # group chat: 7 days, 1 day, 1 hour
    await _rsvp(database, meeting_id, 1002, "going")
    keys = await _keys(database)
    assert len(keys) == 6 and sum(k.endswith(":1002") for k in keys) == 3
    await _rsvp(database, meeting_id, 1002, "no")
    assert len(await _keys(database)) == 3
    assert len(await _keys(database, "cancelled")) == 3
    await _rsvp(database, meeting_id, 1002, "maybe")  # the same rows come back, once
    assert len(await _keys(database)) == 6
    assert len(await _keys(database, "cancelled")) == 0


async def _answer(database, meeting_id, telegram_id, answer, now=NOW):
    """As an RSVP press does: the presser's own reminders follow (`sync_answer`)."""
    async with database.session() as session:
        meeting = await session.get(Meeting, meeting_id)
        person = await people.get_person(session, telegram_id)
        occ = (await cal.next_occurrences(session, meeting, now, 1))[0]
        await cal.set_rsvp(session, occ, person, answer, now)
        return await reminders.sync_answer(session, occ, person, answer, now)


async def _rows(database):
    async with database.session() as session:
        return sorted((r.key, r.status, r.chat_id, r.payload) for r in (
            await session.exec(select(OutboxMessage))).all())


async def test_an_answer_resyncs_only_the_presser_and_as_the_whole_meeting_would(database):
    """`sync_answer` touches only the rows of the person who answered and leaves the outbox as
    `sync_meeting` of the whole meeting would: a full resync after it changes nothing."""
    meeting_id = await _setup(database)
    await _rsvp(database, meeting_id, 1001, "going")
    others = [r for r in await _rows(database) if not r[0].endswith(":1002")]
    for answer, added, cancelled in (("going", 3, 0), ("maybe", 0, 0), ("no", 0, 3),
                                     ("no", 0, 0), ("going", 3, 0)):
        assert await _answer(database, meeting_id, 1002, answer) == (added, cancelled)
        rows = await _rows(database)
        assert [r for r in rows if not r[0].endswith(":1002")] == others
        async with database.session() as session:
            meeting = await session.get(Meeting, meeting_id)
            assert await reminders.sync_meeting(session, meeting, NOW) == (0, 0)
        assert await _rows(database) == rows
    async with database.session() as session:  # muted: no reminder of their own
        bahati = await people.get_person(session, 1002)
        await cal.set_muted(session, bahati, True)
    assert await _answer(database, meeting_id, 1002, "going") == (0, 3)


async def test_changing_offsets_and_cancelling_rebuilds(database):
    meeting_id = await _setup(database)
    async with database.session() as session:
        meeting = await session.get(Meeting, meeting_id)
        group = await groups.get_group(session, GROUP_CHAT)
        settings = await cal.get_settings(session, group)
        settings.reminder_offsets = reminders.parse_offsets("2d 30m")
        await cal.save_settings(session, settings)
        await reminders.sync_group(session, group, NOW)
    assert [k.split(":")[4] for k in await _keys(database)] == ["2880", "30"]
    async with database.session() as session:
        meeting = await session.get(Meeting, meeting_id)
        await cal.cancel_series(session, meeting, NOW)
        await reminders.sync_meeting(session, meeting, NOW)
    assert await _keys(database) == []


async def test_open_series_is_never_materialized_beyond_the_horizon(database):
    await _setup(database, rule="FREQ=WEEKLY;BYDAY=TH", first=datetime(2026, 9, 3, 10, 0))
    first = await _keys(database)
    latest = max(int(k.split(":")[3]) for k in first)
    assert datetime.fromtimestamp(latest, UTC) <= NOW + reminders.HORIZON + timedelta(days=7)
    ticker = Ticker(30, clock=lambda: NOW + timedelta(days=30))
    reminders.register_jobs(ticker, database)
    assert [job[0] for job in ticker.jobs] == ["reminder_horizon"]
    await ticker.tick()
    extended = await _keys(database)
    assert len(extended) > len(first)
    later = max(int(k.split(":")[3]) for k in extended)
    assert later - latest >= 3 * 7 * 86400


async def test_reminder_rendered_in_recipient_language_with_late_note(database):
    meeting_id = await _setup(database)
    await _rsvp(database, meeting_id, 1001, "going")
    async with database.session() as session:
        rows = (await session.exec(select(OutboxMessage).where(
            OutboxMessage.chat_id == 1001, OutboxMessage.key.contains(":1440:")))).all()
        [row] = rows
        row.due_at = cal.as_utc(row.due_at)
        on_time = await reminders.reminder_notice(session, row, row.due_at)
        late = await reminders.reminder_notice(session, row, row.due_at + timedelta(minutes=20))
        too_late = await reminders.reminder_notice(session, row,
                                                   row.due_at + timedelta(minutes=31))
    assert on_time.locale == "fr"
    assert on_time.text.startswith("⏰ Rappel : Plenary commence dans 1\xa0jour.")
    assert "Envoyez-moi /mute" in on_time.text
    assert "12:00" not in on_time.text and "10:00" in on_time.text  # Paris time, not UTC
    assert late.text != on_time.text
    assert too_late is None


async def _deliver_all(database: Database, bot, now) -> int:
    return await Delivery(database, Sender(bot, database, rate_limits=False)).run(now)


async def test_restart_sends_pending_reminders_exactly_once(database, tg):
    meeting_id = await _setup(database)
    tg.group_chat(GROUP_CHAT, "WG")
    await _rsvp(database, meeting_id, 1002, "going")
    tg.private_chat(LocalUser(1002, "Bahati"))
    due = datetime(2026, 9, 9, 8, 0, tzinfo=UTC)  # the 1-day reminders
    # A first process claims the due rows and dies before sending them.
    claimed = await outbox.claim_due(database, due, worker="crashed")
    assert len(claimed) == 4  # 7-day rows (already past, to skip) and the two 1-day rows
    # After a restart (a new engine) and the lease, everything is delivered once.
    restarted = Database(database.url)
    try:
        after = due + outbox.CLAIM_LEASE + timedelta(seconds=1)
        assert await _deliver_all(restarted, tg.bot, after) == 2
        assert await _deliver_all(restarted, tg.bot, after) == 0
    finally:
        await restarted.dispose()
    texts = [c.params["text"] for c in tg.api.sent("sendMessage")]
    assert len(texts) == 2 and len(set(c.params["chat_id"] for c in tg.api.sent(
        "sendMessage"))) == 2


async def test_two_schedulers_on_one_database_send_nothing_twice(database, tg):
    tg.group_chat(GROUP_CHAT, "WG")
    for telegram_id in range(2000, 2040):
        tg.private_chat(LocalUser(telegram_id, f"P{telegram_id}"))
    meeting_id = await _setup(database)
    async with database.session() as session:
        group = await groups.get_group(session, GROUP_CHAT)
        meeting = await session.get(Meeting, meeting_id)
        occ = (await cal.next_occurrences(session, meeting, NOW, 1))[0]
        for telegram_id in range(2000, 2040):
            person = await people.touch_person(session, TelegramIdentity(telegram_id, "P"))
            await groups.ensure_member(session, group, person)
            await cal.set_rsvp(session, occ, person, "going", NOW)
        await reminders.sync_meeting(session, meeting, NOW)
    due = datetime(2026, 9, 3, 8, 0, tzinfo=UTC)  # the 7-day reminders: group + 40 people
    second = Database(database.url)
    try:
        sent = await asyncio.gather(_deliver_all(database, tg.bot, due),
                                    _deliver_all(second, tg.bot, due))
    finally:
        await second.dispose()
    assert sum(sent) == 41
    chats = [c.params["chat_id"] for c in tg.api.sent("sendMessage")]
    assert len(chats) == len(set(chats)) == 41

"""Decisions and action items through the real Dispatcher: recording, listing, the owner's
reminders and buttons, the weekly overdue digest, the meeting summary, and refusals of bad input.
Time is a controlled clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from bot.delivery.sender import Sender
from bot.delivery.worker import Delivery
from bot.services import actions
from storage.agenda_tables import ActionItem
from storage.models import Person

MEETING = datetime(2026, 11, 19, 8, 0, tzinfo=UTC)  # Thursday 10:00 in Lubumbashi
NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)  # Friday


@pytest.fixture
def clock_start() -> datetime:
    return MEETING - timedelta(days=1)


@pytest.fixture
async def met_group(tg, clock, amani, bahati, registered_group) -> int:
    await tg.send(amani, registered_group, "/schedule 2026-11-19 10:00 | Monthly meeting | Hall")
    await tg.send(amani, registered_group, "/schedule 2026-12-17 10:00 | December meeting")
    await tg.send(bahati, registered_group, "/join")
    tg.private_chat(amani)
    tg.private_chat(bahati)
    clock.now = NOW
    return registered_group


async def _deliver(tg, database, now):
    return await Delivery(database, Sender(tg.bot, database, rate_limits=False)).run(now)


def _alert(tg) -> str:
    return tg.api.sent("answerCallbackQuery")[-1].params.get("text", "")


async def test_record_list_remind_and_summarise(tg, database, clock, amani, bahati, met_group):
    await tg.send(amani, met_group, "/decision Hold a joint patrol review in January")
    assert "Decision #1 recorded" in tg.last_text(met_group)
    await tg.send(amani, met_group, "/action @bahati 2026-11-25 Send the incident figures")
    assert "#1 Bahati: Send the incident figures (due Nov 25, 2026)" in tg.last_text(met_group)
    await tg.send(amani, met_group, "/action @amani next friday Call the police chief")
    assert "Call the police chief (due Nov 27, 2026)" in tg.last_text(met_group)
    await tg.send(bahati, met_group, "/actions")
    listing = tg.last_text(met_group)
    assert listing.index("Amani") < listing.index("Bahati")

    await tg.send(amani, met_group, "/summary")
    summary = tg.last_text(met_group)
    assert "Summary of the meeting" in summary and "1. Hold a joint patrol review" in summary
    assert "Send the incident figures" in summary and "December meeting" in summary

    # Reminders: the day before and on the day, at 09:00 local, privately.
    await _deliver(tg, database, datetime(2026, 11, 24, 6, 59, tzinfo=UTC))
    assert not any("Due" in t for t in tg.texts(tg.private_chat(bahati)))
    await _deliver(tg, database, datetime(2026, 11, 24, 7, 0, tzinfo=UTC))
    reminder = tg.last_bot_message(tg.private_chat(bahati))
    assert reminder.text.startswith("⏰ Due tomorrow")
    clock.now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    await tg.press(bahati, reminder, "New date: +1 week")
    assert "New due date of #1: Dec 2, 2026" in tg.last_text(tg.private_chat(bahati))
    await _deliver(tg, database, datetime(2026, 11, 25, 7, 0, tzinfo=UTC))
    assert not tg.last_text(tg.private_chat(bahati)).startswith("⏰ Due today")
    await _deliver(tg, database, datetime(2026, 12, 2, 7, 0, tzinfo=UTC))
    reminder = tg.last_bot_message(tg.private_chat(bahati))
    assert reminder.text.startswith("⏰ Due today")
    await tg.press(amani, reminder, "✅ Done")
    assert _alert(tg) == "This button is not valid any more."
    await tg.press(bahati, reminder, "✅ Done")
    assert "is marked done" in tg.last_text(tg.private_chat(bahati))
    await tg.press(bahati, reminder, "✅ Done")
    assert _alert(tg) == "This action item is already done."


async def test_weekly_overdue_digest_to_the_secretariat(tg, database, clock, amani, bahati,
                                                        met_group):
    await tg.send(amani, met_group, "/action @bahati 2026-11-23 Send the figures")
    monday = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # 09:00 in Lubumbashi
    assert await actions.queue_digests(database, monday - timedelta(minutes=1)) == 0
    assert await actions.queue_digests(database, monday) == 1
    assert await actions.queue_digests(database, monday + timedelta(hours=2)) == 0
    await _deliver(tg, database, monday)
    digest = tg.last_text(tg.private_chat(amani))
    assert "Overdue action items of South Kivu" in digest and "Send the figures" in digest
    assert not any("Overdue" in t for t in tg.texts(tg.private_chat(bahati)))


async def test_mine_privately(tg, database, clock, amani, bahati, met_group):
    await tg.send(amani, met_group, "/action @bahati 2026-12-01 Draft the letter")
    await tg.send(bahati, met_group, "/actions mine")
    assert "private chat" in tg.last_text(met_group)
    await tg.send(bahati, tg.private_chat(bahati), "/actions mine")
    last = tg.last_bot_message(tg.private_chat(bahati))
    assert "Draft the letter" in last.text and last.buttons()
    await tg.press(bahati, last, "✅ Done")
    async with database.session() as s:
        [item] = (await s.exec(select(ActionItem))).all()
    assert item.status == "done"


async def test_bad_input(tg, database, clock, amani, bahati, carlos, met_group):
    await tg.send(bahati, met_group, "/action @amani 2026-12-01 Something")
    assert tg.last_text(met_group) == "Only the secretariat can do that."
    await tg.send(bahati, met_group, "/decision Something")
    assert tg.last_text(met_group) == "Only the secretariat can do that."
    await tg.send(bahati, met_group, "/summary")
    assert tg.last_text(met_group) == "Only the secretariat can do that."
    await tg.send(amani, met_group, "/action @nobody 2026-12-01 Something")
    assert "I do not know @nobody" in tg.last_text(met_group)
    await tg.send(amani, met_group, "/action @bahati someday-ish Something to do")
    assert "I could not read the due date" in tg.last_text(met_group)
    await tg.send(amani, met_group, "/action @bahati 2026-02-30 Something")
    assert "I could not read the due date" in tg.last_text(met_group)
    await tg.send(amani, met_group, "/action @bahati 2025-01-01 Something")
    assert "already passed" in tg.last_text(met_group)
    await tg.send(amani, met_group, "/action bahati 2026-12-01 Something")
    assert "Usage: /action" in tg.last_text(met_group)
    await tg.send(amani, met_group, "/action @bahati 2026-12-01 " + "x" * 401)
    assert "at most 400 characters" in tg.last_text(met_group)
    await tg.send(amani, met_group, "/decision")
    assert "Write the text after the command" in tg.last_text(met_group)
    async with database.session() as s:
        s.add(Person(telegram_id=carlos.id, username="carlos", full_name="Carlos"))
    await tg.send(amani, met_group, "/action @carlos 2026-12-01 Something")
    assert "Carlos is not a member of this group." in tg.last_text(met_group)
    await tg.press_data(amani, tg.last_bot_message(met_group), "ac:done:999")
    assert _alert(tg) == "This button is not valid any more."


async def test_no_meeting_yet(database, tg, clock, amani, registered_group):
    await tg.send(amani, registered_group, "/decision Something")
    assert "no meeting yet" in tg.last_text(registered_group)
    assert actions.split_due(["2026-12-01", "x"], "en", "UTC", NOW)[0] == date(2026, 12, 1)

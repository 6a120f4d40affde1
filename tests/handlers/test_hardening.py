"""Smaller hardening items through the real Dispatcher: dates at the end of the calendar, forged
callback numbers, RSVP on a message Telegram no longer shows the bot."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from icalendar import Calendar
from sqlmodel import select

from storage.calendar_tables import Meeting, Rsvp

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)  # the clock fixture starts here


async def _rows(database, model):
    async with database.session() as s:
        return list((await s.exec(select(model))).all())


@pytest.mark.parametrize("when", [
    "every tuesday 10:00 from 9999-12-20",
    "every tuesday 10:00 from 9999-12-31",
    "9999-12-31 23:00",
])
async def test_dates_at_the_end_of_the_calendar_are_refused_politely(
        tg, database, clock, amani, group_chat, when):
    await tg.send(amani, group_chat, "/setup Cauca | America/Bogota")
    await tg.send(amani, group_chat, f"/schedule {when} | Far meeting")
    answer = tg.last_text(group_chat)
    assert "too far ahead" in answer or "no meeting in the future" in answer
    assert await _rows(database, Meeting) == []


async def test_a_series_until_the_last_day_of_the_calendar_behind_utc(tg, database, clock, amani,
                                                                     group_chat):
    await tg.send(amani, group_chat, "/setup Cauca | America/Bogota")
    await tg.send(amani, group_chat, "/schedule every tuesday 10:00 until 9999-12-31 | Weekly")
    check = tg.last_bot_message(group_chat)  # a series is shown in full before it is saved
    await tg.press(amani, check, 1)
    assert len(await _rows(database, Meeting)) == 1
    await tg.send(amani, group_chat, "/ics")
    name, data = tg.last_bot_message(group_chat).document
    event = next(iter(Calendar.from_ical(data).walk("VEVENT")))
    assert event["SUMMARY"] == "Weekly"
    assert event["RRULE"]["UNTIL"][0].year == 9999


async def test_rsvp_pressed_on_an_inaccessible_message_is_recorded_and_answered(
        tg, database, clock, amani, bahati, registered_group):
    await tg.send(amani, registered_group, "/schedule 2026-12-03 10:00 | Monthly meeting")
    card = tg.last_bot_message(registered_group)
    data = card.buttons()[0]["callback_data"]
    tg.api.users[bahati.id] = bahati.as_dict()
    await tg.feed({"callback_query": {
        "id": "cb-old", "from": bahati.as_dict(), "chat_instance": "ci",
        "message": {"chat": {"id": registered_group, "type": "supergroup", "title": "WG"},
                    "message_id": card.message_id, "date": 0},
        "data": data,
    }})
    rows = await _rows(database, Rsvp)
    assert [r.answer for r in rows] == ["going"]
    answer = tg.api.sent("answerCallbackQuery")[-1].params
    assert answer["callback_query_id"] == "cb-old" and answer.get("text")

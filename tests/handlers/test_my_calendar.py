"""The private chat's /calendar, /meeting N, /ics and /actions mine across all the person's
groups, each item labelled with its group; meeting numbers counted per group."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from bot.services import calendar as cal
from bot.services.groups import get_group
from handlers.my_calendar import PickGroupCb
from storage.calendar_tables import Meeting

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
ITURI_ID = -1009876543210


@pytest.fixture
async def two_groups(tg, clock, amani, registered_group):
    """South Kivu has meetings #1 and #2, Ituri its own #1; Amani belongs to both."""
    ituri = tg.group_chat(ITURI_ID, "Ituri WG", creator=amani)
    await tg.send(amani, ituri, "/setup Ituri | Africa/Lubumbashi")
    await tg.send(amani, registered_group, "/schedule 2026-12-03 10:00 | Monthly meeting | Bukavu")
    assert "Scheduled meeting #1." in tg.last_text(registered_group)
    await tg.send(amani, registered_group, "/schedule 2026-12-10 10:00 | Workshop | Uvira")
    assert "Scheduled meeting #2." in tg.last_text(registered_group)
    await tg.send(amani, ituri, "/schedule 2026-12-05 09:00 | Ituri forum | Bunia")
    assert "Scheduled meeting #1." in tg.last_text(ituri)
    return registered_group, ituri


async def test_numbers_are_per_group(tg, database, two_groups, amani):
    kivu, ituri = two_groups
    async with database.session() as s:
        rows = (await s.exec(select(Meeting).order_by(Meeting.id))).all()
    assert [(m.title, m.number) for m in rows] == [
        ("Monthly meeting", 1), ("Workshop", 2), ("Ituri forum", 1)]
    await tg.send(amani, ituri, "/meeting 2")
    assert "There is no meeting #2 in this group." in tg.last_text(ituri)
    await tg.send(amani, ituri, "/meeting 1")
    card = tg.last_bot_message(ituri)
    assert "Ituri forum" in card.text and "#1" in card.text
    # the buttons keep the internal id: Ituri's meeting is row 3
    assert MeetingData(card).meeting_ids == {rows[2].id}
    await tg.send(amani, kivu, "/calendar")
    text = tg.last_text(kivu)
    assert "Monthly meeting</b> - /meeting 1" in text and "Workshop</b> - /meeting 2" in text


class MeetingData:
    def __init__(self, message) -> None:
        from handlers.calendar import MeetingCb

        self.meeting_ids = {MeetingCb.unpack(b["callback_data"]).m for b in message.buttons()
                            if b.get("callback_data", "").startswith("mt:")}


async def test_private_calendar_lists_every_group(tg, two_groups, amani):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/calendar")
    text = tg.last_text(chat)
    assert "Coming meetings of your working groups:" in text
    kivu_first = text.index("[South Kivu] <b>Monthly meeting</b> - /meeting 1")
    ituri = text.index("[Ituri] <b>Ituri forum</b> - /meeting 1")
    workshop = text.index("[South Kivu] <b>Workshop</b> - /meeting 2")
    assert kivu_first < ituri < workshop  # by date, across groups


async def test_private_meeting_asks_which_group_when_ambiguous(tg, two_groups, amani):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/meeting 1")
    question = tg.last_bot_message(chat)
    assert "Several of your groups have a meeting #1. Which group?" in question.text
    labels = [b["text"] for b in question.buttons()]
    assert labels == ["Ituri: Ituri forum", "South Kivu: Monthly meeting"]
    await tg.press(amani, question, "Ituri: Ituri forum")
    card = tg.last_bot_message(chat)
    assert card.text.startswith("<b>Ituri</b>") and "Ituri forum" in card.text
    assert "✅ Going" in [b["text"] for b in card.buttons()]
    await tg.send(amani, chat, "/meeting 2")  # only South Kivu has a #2: no question
    card = tg.last_bot_message(chat)
    assert card.text.startswith("<b>South Kivu</b>") and "Workshop" in card.text
    await tg.send(amani, chat, "/meeting 7")
    assert "None of your working groups has a meeting #7." in tg.last_text(chat)
    await tg.send(amani, chat, "/meeting seven")
    assert "Usage: /meeting N" in tg.last_text(chat)


async def test_forged_group_choice_is_refused(tg, database, two_groups, amani, bahati):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/meeting 1")
    question = tg.last_bot_message(chat)
    async with database.session() as s:
        ituri_meeting = (await s.exec(select(Meeting).where(Meeting.title == "Ituri forum"))
                         ).one()
    # Bahati is in South Kivu only: a button for Ituri's meeting, forged, shows nothing
    await tg.send(bahati, two_groups[0], "/join")
    bahati_chat = tg.private_chat(bahati)
    before = len(tg.texts(bahati_chat))
    tg.api.store(question.__class__(chat_id=bahati_chat, message_id=99, sender=question.sender,
                                    text=question.text, reply_markup=question.reply_markup))
    forged = tg.api.chat_messages(bahati_chat)[-1]
    await tg.press_data(bahati, forged, PickGroupCb(m=ituri_meeting.id).pack())
    answers = [c.params.get("text") for c in tg.api.sent("answerCallbackQuery")]
    assert answers[-1] == "You are not a member of this working group."
    await tg.press_data(bahati, forged, PickGroupCb(m=999999).pack())
    answers = [c.params.get("text") for c in tg.api.sent("answerCallbackQuery")]
    assert answers[-1] == "This button is not valid any more."
    assert not any("Ituri forum" in t for t in tg.texts(bahati_chat))
    assert len(tg.texts(bahati_chat)) == before + 1  # the forged copy only: no card sent


async def test_private_commands_for_someone_without_groups(tg, bahati):
    chat = tg.private_chat(bahati)
    for command in ("/calendar", "/meeting 1", "/ics"):
        await tg.send(bahati, chat, command)
        assert "not a member of any working group yet" in tg.last_text(chat)


async def test_private_ics_sends_one_file_per_group(tg, two_groups, amani):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/ics")
    files = [c.params for c in tg.api.sent("sendDocument") if int(c.params["chat_id"]) == chat]
    captions = sorted(f["caption"] for f in files)
    assert captions == ["The calendar of Ituri: open it with your calendar app.",
                        "The calendar of South Kivu: open it with your calendar app."]


async def test_actions_mine_labels_each_group(tg, two_groups, amani):
    kivu, ituri = two_groups
    await tg.send(amani, kivu, "/action @amani 2026-12-20 Share the report")
    await tg.send(amani, ituri, "/action @amani 2026-12-21 Visit the site")
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/actions mine")
    texts = tg.texts(chat)
    listing = next(t for t in texts if "Your open action items" in t)
    assert "[South Kivu] #1 Amani: Share the report" in listing
    assert "[Ituri] #2 Amani: Visit the site" in listing


@pytest.mark.postgresql
async def test_concurrent_meetings_get_distinct_numbers(tg, database, clock, registered_group):
    if database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    async with database.session() as first, database.session() as second:
        group_a = await get_group(first, registered_group)
        group_b = await get_group(second, registered_group)
        a = await cal.create_meeting(first, group_a, title="A",
                                     start_local=datetime(2026, 12, 3, 10, 0))
        # the second waits for the first's lock on the group instead of taking number 1 too
        pending = asyncio.create_task(cal.create_meeting(
            second, group_b, title="B", start_local=datetime(2026, 12, 4, 10, 0)))
        await asyncio.sleep(0.2)
        assert not pending.done()
        await first.commit()
        b = await pending
        await second.commit()
    assert (a.number, b.number) == (1, 2)

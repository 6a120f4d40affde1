"""The guided /schedule: Back on every step with buttons, /back on every typed step, and the
summary to check before anything is saved. Group messages arrive as with privacy mode on."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from storage.calendar_tables import Meeting

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)  # 10:00 in Lubumbashi (UTC+2)


async def _meetings(database) -> list[Meeting]:
    async with database.session() as s:
        return list((await s.exec(select(Meeting))).all())


def _labels(message) -> list[str]:
    return [b["text"] for b in message.buttons()]


def _alert(tg) -> str:
    return tg.api.sent("answerCallbackQuery")[-1].params.get("text", "")


async def test_back_through_every_step_then_save(tg, database, clock, amani, registered_group):
    tg.privacy_mode = True
    group = registered_group
    await tg.send(amani, group, "/schedule")
    kind = tg.last_bot_message(group)
    assert "⬅️ Back" not in _labels(kind)  # nothing before the first step
    await tg.press(amani, kind, "Workshop")
    repeat = tg.last_bot_message(group)
    assert _labels(repeat)[-2:] == ["⬅️ Back", "Stop"]
    await tg.press(amani, repeat, "⬅️ Back")
    assert "What kind is it?" in tg.last_text(group)
    await tg.press(amani, tg.last_bot_message(group), "Meeting")  # changed its mind
    await tg.press(amani, tg.last_bot_message(group), "Every week")
    when = tg.last_bot_message(group)
    assert "When is the first meeting?" in when.text and "/back" in when.text
    await tg.send(amani, group, "/back")  # a command reaches the bot in privacy mode
    assert "Does it repeat?" in tg.last_text(group)
    await tg.press(amani, tg.last_bot_message(group), "Every two weeks")
    await tg.reply(amani, group, "2026-12-03 10:00")
    end = tg.last_bot_message(group)
    assert "Until when?" in end.text
    await tg.press(amani, end, "⬅️ Back")
    assert "When is the first meeting?" in tg.last_text(group)
    await tg.reply(amani, group, "2026-12-04 10:00")
    await tg.press(amani, tg.last_bot_message(group), "12 meetings")
    duration = tg.last_bot_message(group)
    await tg.press(amani, duration, "⬅️ Back")
    assert "Until when?" in tg.last_text(group)
    await tg.press(amani, tg.last_bot_message(group), "6 meetings")
    await tg.press(amani, tg.last_bot_message(group), "2 h")
    await tg.reply(amani, group, "Monthly meeting")
    assert "Where?" in tg.last_text(group)
    await tg.send(amani, group, "/back")
    assert "What is the title?" in tg.last_text(group)
    await tg.send(amani, group, "/back")
    assert "How long will it last?" in tg.last_text(group)
    await tg.press(amani, tg.last_bot_message(group), "3 h")
    await tg.reply(amani, group, "Protection cluster meeting")
    await tg.reply(amani, group, "Town hall")

    summary = tg.last_bot_message(group)
    assert "Please check before I save:" in summary.text
    assert "Friday, December 4, 2026, 10:00" in summary.text
    assert "Meeting · Every two weeks · 3 h" in summary.text
    assert "Protection cluster meeting" in summary.text and "Town hall" in summary.text
    assert _labels(summary) == ["✅ Save", "✏️ Change the date", "⬅️ Back", "Stop"]
    assert await _meetings(database) == []  # nothing saved before Save
    await tg.press(amani, summary, "⬅️ Back")
    assert "Where?" in tg.last_text(group)
    await tg.reply(amani, group, "Online")
    await tg.press(amani, tg.last_bot_message(group), "✅ Save")
    assert "Scheduled meeting #1" in tg.last_text(group)
    [meeting] = await _meetings(database)
    assert (meeting.kind, meeting.title, meeting.place, meeting.duration_minutes,
            meeting.rrule, meeting.start_local) == (
        "meeting", "Protection cluster meeting", "Online", 180,
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR;COUNT=6", datetime(2026, 12, 4, 10, 0))


async def test_back_once_the_meeting_is_saved_or_stopped(tg, database, clock, amani,
                                                         registered_group):
    group = registered_group
    await tg.send(amani, group, "/schedule")
    await tg.press(amani, tg.last_bot_message(group), "Meeting")
    repeat = tg.last_bot_message(group)
    back = next(b for b in repeat.buttons() if b["text"] == "⬅️ Back")["callback_data"]
    await tg.press(amani, repeat, "Stop")
    await tg.press_data(amani, repeat, back)  # an old Back: the flow is over
    assert _alert(tg) == "This button is not valid any more."
    await tg.send(amani, group, "/back")  # no flow: no step to go back to, nothing happens
    assert tg.last_text(group) != "What kind is it?"
    assert await _meetings(database) == []


async def test_back_by_someone_else_or_forged(tg, database, clock, amani, bahati,
                                              registered_group):
    group = registered_group
    await tg.send(bahati, group, "/join")
    await tg.send(amani, group, "/schedule")
    await tg.press(amani, tg.last_bot_message(group), "Meeting")
    repeat = tg.last_bot_message(group)
    await tg.press(bahati, repeat, "⬅️ Back")
    assert "Only the secretariat" in _alert(tg)
    await tg.press_data(amani, repeat, "gs2:back:kind")  # forged: not the current step
    assert _alert(tg) == "This button is not valid any more."
    await tg.press_data(amani, repeat, "gs2:back:" + "x" * 60)
    assert _alert(tg) == "This button is not valid any more."
    assert "Does it repeat?" in tg.last_text(group)


async def test_one_line_schedule_summary_has_no_back(tg, database, clock, amani,
                                                     registered_group):
    group = registered_group
    await tg.send(amani, group, "/schedule tomorrow 15:00 | Field visit | Mine site")
    summary = tg.last_bot_message(group)
    assert "Please check before I save:" in summary.text
    assert "⬅️ Back" not in _labels(summary)
    await tg.press(amani, summary, "✏️ Change the date")
    await tg.send(amani, group, "/back")  # back to the summary, unchanged
    again = tg.last_bot_message(group)
    assert "Please check before I save:" in again.text and "Field visit" in again.text
    await tg.press(amani, again, "✅ Save")
    [meeting] = await _meetings(database)
    assert meeting.title == "Field visit"

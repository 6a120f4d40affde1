"""The calendar through the real Dispatcher: /schedule, /calendar, /meeting cards and RSVP,
edit/reschedule/cancel with private notices, reminders delivered by the outbox, /ics,
attendance, settings and mute. Time is a controlled clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlmodel import select

from bot.delivery.sender import Sender
from bot.delivery.worker import Delivery
from bot.local_api import LocalUser
from bot.services import reminders
from storage.calendar_tables import Meeting, Rsvp
from storage.models import OutboxMessage, Person

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)  # 10:00 in Lubumbashi (UTC+2)


async def _rows(database, model):
    async with database.session() as s:
        return list((await s.exec(select(model))).all())


async def _deliver(tg, database, now):
    return await Delivery(database, Sender(tg.bot, database, rate_limits=False)).run(now)


def _private_texts(tg, user: LocalUser) -> list[str]:
    return tg.texts(user.id)


async def _schedule(tg, amani, chat, text="2026-12-03 10:00 | Monthly meeting | Town hall"):
    await tg.send(amani, chat, f"/schedule {text}")
    return tg.last_bot_message(chat)


async def test_schedule_iso_shows_card_in_group_zone(tg, database, clock, amani,
                                                     registered_group):
    card = await _schedule(tg, amani, registered_group)
    assert "Scheduled meeting #1" in card.text
    assert "Monthly meeting" in card.text and "Town hall" in card.text
    assert "Dec 3, 2026, 10:00\u202fAM" in card.text  # the time without seconds
    [meeting] = await _rows(database, Meeting)
    assert meeting.start_local == datetime(2026, 12, 3, 10, 0)
    assert meeting.timezone == "Africa/Lubumbashi"
    labels = [b["text"] for b in card.buttons()]
    assert labels[:3] == ["✅ Going", "❔ Maybe", "✖️ Not going"]
    assert "📅 .ics file" in labels and "Reschedule" in labels


async def test_schedule_natural_language_in_french(tg, database, clock, amani,
                                                   registered_group):
    async with database.session() as s:
        person = (await s.exec(select(Person).where(Person.telegram_id == amani.id))).one()
        person.language = "fr"
        s.add(person)
    await tg.send(amani, registered_group, "/schedule 3 décembre 15h | Atelier | Bukavu")
    check = tg.last_bot_message(registered_group)  # read from words: echoed back in full
    assert "jeudi 3 décembre 2026, 15:00" in check.text and "Atelier" in check.text
    assert await _rows(database, Meeting) == []
    await tg.press(amani, check, "✅ Enregistrer")
    [meeting] = await _rows(database, Meeting)
    assert meeting.start_local == datetime(2026, 12, 3, 15, 0)
    assert "Réunion #1" in tg.last_text(registered_group) or "#1" in tg.last_text(
        registered_group)


async def test_schedule_tomorrow_and_refusals(tg, database, clock, amani, bahati,
                                              registered_group):
    await tg.send(amani, registered_group, "/schedule tomorrow 15:00 | Field visit")
    check = tg.last_bot_message(registered_group)
    assert "Sunday, November 22, 2026, 3:00\u202fPM" in check.text
    await tg.press(bahati, check, "✅ Save")  # only the one who scheduled
    assert await _rows(database, Meeting) == []
    await tg.press(amani, check, "✏️ Change the date")
    assert "Send the date and time again" in tg.last_text(registered_group)
    await tg.send(amani, registered_group, "kesho saa 10")
    assert "do you mean 16:00 or 10:00?" in tg.last_text(registered_group)
    await tg.send(amani, registered_group, "tomorrow 3 pm")
    await tg.press(amani, tg.last_bot_message(registered_group), "✅ Save")
    assert "Scheduled meeting #1" in tg.last_text(registered_group)
    [meeting] = await _rows(database, Meeting)
    assert meeting.start_local == datetime(2026, 11, 22, 15, 0)
    await tg.send(amani, registered_group, "/schedule 2020-01-01 10:00 | Old")
    assert "already passed" in tg.last_text(registered_group)
    assert "2026-12-03 10:00" in tg.last_text(registered_group)
    await tg.send(amani, registered_group, "/schedule blorp | Nonsense")
    assert "could not read that date" in tg.last_text(registered_group)
    await tg.send(amani, registered_group, "/schedule friday | No time")
    assert "give a time too" in tg.last_text(registered_group)
    await tg.send(amani, registered_group, "/schedule 2026-12-03 10:00 | " + "T" * 300)
    assert "too long" in tg.last_text(registered_group)
    await tg.send(bahati, registered_group, "/schedule 2026-12-03 10:00 | Coup")
    assert tg.last_text(registered_group) == "Only the secretariat can schedule meetings."
    await tg.send(amani, registered_group, "/schedule")
    assert "/schedule WHEN | TITLE | PLACE" in tg.texts(registered_group)[-2]
    assert "What kind is it?" in tg.last_text(registered_group)
    assert len(await _rows(database, Meeting)) == 1


async def test_calendar_lists_next_five_with_more_button(tg, database, clock, amani,
                                                         registered_group):
    for day in range(1, 8):
        await _schedule(tg, amani, registered_group, f"2026-12-{day:02d} 09:00 | Meeting {day}")
    await tg.send(amani, registered_group, "/calendar")
    page = tg.last_bot_message(registered_group)
    assert "Meeting 1" in page.text and "Meeting 5" in page.text
    assert "Meeting 6" not in page.text
    assert "Going: 0 · Maybe: 0 · Not going: 0" in page.text
    await tg.press(amani, page, "More ▶")
    second = tg.last_bot_message(registered_group)
    assert "Meeting 6" in second.text and "Meeting 7" in second.text
    assert second.buttons() == []


async def test_rsvp_updates_counts_in_place(tg, database, clock, amani, bahati,
                                            registered_group):
    card = await _schedule(tg, amani, registered_group)
    await tg.press(bahati, card, "✅ Going")
    updated = tg.api.chat_messages(registered_group)
    card_now = [m for m in updated if m.message_id == card.message_id][0]
    assert "Going: 1 · Maybe: 0 · Not going: 0" in card_now.text
    await tg.press(amani, card_now, "❔ Maybe")
    await tg.press(bahati, card_now, "✖️ Not going")
    card_now = [m for m in tg.api.chat_messages(registered_group)
                if m.message_id == card.message_id][0]
    assert "Going: 0 · Maybe: 1 · Not going: 1" in card_now.text
    assert len(await _rows(database, Rsvp)) == 2


async def test_forged_callback_for_another_groups_meeting_is_refused(
    tg, database, clock, amani, bahati, registered_group
):
    card = await _schedule(tg, amani, registered_group)
    other = tg.group_chat(-100999, "Other WG", creator=bahati)
    await tg.send(bahati, other, "/setup Ituri | Africa/Lubumbashi")
    other_card = tg.last_bot_message(other)
    data = card.buttons()[0]["callback_data"]
    await tg.press_data(bahati, other_card, data)
    answer = tg.api.sent("answerCallbackQuery")[-1].params
    assert answer["show_alert"] is True
    assert "does not belong to this group" in answer["text"]
    assert await _rows(database, Rsvp) == []


async def test_rsvp_in_private_by_non_member_is_refused(tg, database, clock, amani, carlos,
                                                        registered_group):
    card = await _schedule(tg, amani, registered_group)
    private = tg.private_chat(carlos)
    await tg.send(carlos, private, "/start")
    await tg.press_data(carlos, tg.last_bot_message(private), card.buttons()[0]["callback_data"])
    answer = tg.api.sent("answerCallbackQuery")[-1].params
    assert "not a member of this working group" in answer["text"]
    assert await _rows(database, Rsvp) == []


async def test_meeting_card_command_and_bad_numbers(tg, database, clock, amani,
                                                    registered_group):
    await _schedule(tg, amani, registered_group)
    await tg.send(amani, registered_group, "/meeting 1")
    assert "Monthly meeting" in tg.last_text(registered_group)
    await tg.send(amani, registered_group, "/meeting 42")
    assert "There is no meeting #42" in tg.last_text(registered_group)
    await tg.send(amani, registered_group, "/meeting abc")
    assert "Usage: /meeting N" in tg.last_text(registered_group)


async def test_reminders_delivered_when_clock_moves_once_each(
    tg, database, clock, amani, bahati, registered_group
):
    card = await _schedule(tg, amani, registered_group)  # 2026-12-03 08:00 UTC
    await tg.press(bahati, card, "✅ Going")
    bahati_chat = tg.private_chat(bahati)
    start = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    assert await _deliver(tg, database, start - timedelta(days=7, minutes=1)) == 0
    assert await _deliver(tg, database, start - timedelta(days=7)) == 2  # group + Bahati
    assert "starts in 1 week" in tg.last_text(registered_group)
    due = start - timedelta(days=1)
    sent = await _deliver(tg, database, due)
    assert sent == 2
    assert "Reminder: Monthly meeting starts in 1 day" in tg.last_text(registered_group)
    assert "Reminder: Monthly meeting" in tg.last_text(bahati_chat)
    assert "/mute" in tg.last_text(bahati_chat)
    assert await _deliver(tg, database, due) == 0  # never twice
    # /mute: no more private reminders for Bahati
    await tg.send(bahati, bahati_chat, "/mute")
    assert "Private reminders are off" in tg.last_text(bahati_chat)
    assert await _deliver(tg, database, start - timedelta(hours=1)) == 1


async def test_reminders_come_back_when_someone_who_blocked_the_bot_writes_again(
    tg, database, clock, amani, bahati, registered_group
):
    card = await _schedule(tg, amani, registered_group)  # 2026-12-03 08:00 UTC
    await tg.press(bahati, card, "✅ Going")
    bahati_chat = tg.private_chat(bahati)
    start = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    tg.api.blocked.add(bahati.id)
    assert await _deliver(tg, database, start - timedelta(days=7)) == 1  # the group only
    (person,) = [p for p in await _rows(database, Person) if p.telegram_id == bahati.id]
    assert person.blocked_bot_at is not None
    # Any later sync of the meeting drops her reminders: she blocked the bot.
    clock.now = start - timedelta(days=3)
    async with database.session() as session:
        meeting = (await session.exec(select(Meeting))).one()
        await reminders.sync_meeting(session, meeting, clock.now)
    assert await _deliver(tg, database, start - timedelta(days=1)) == 1
    # She unblocks the bot and writes to it: her reminders come back.
    clock.now = start - timedelta(hours=12)
    tg.api.blocked.discard(bahati.id)
    await tg.send(bahati, bahati_chat, "/help")
    (person,) = [p for p in await _rows(database, Person) if p.telegram_id == bahati.id]
    assert person.blocked_bot_at is None
    assert await _deliver(tg, database, start - timedelta(hours=1)) == 2  # group and Bahati
    assert "Reminder: Monthly meeting" in tg.last_text(bahati_chat)


async def test_late_reminder_within_grace_has_note_and_older_is_skipped(
    tg, database, clock, amani, registered_group
):
    await _schedule(tg, amani, registered_group)
    start = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    # Down for 20 minutes past the 1-day reminder: sent late, with a note.
    assert await _deliver(tg, database, start - timedelta(days=1) + timedelta(minutes=20)) == 1
    assert "Sent late" in tg.last_text(registered_group)
    # Down from before the 1-hour reminder until 50 minutes after it: skipped, not sent.
    assert await _deliver(tg, database, start - timedelta(minutes=10)) == 0
    statuses = {r.key.split(":")[4]: r.status for r in await _rows(database, OutboxMessage)}
    assert statuses == {"10080": "skipped", "1440": "sent", "60": "skipped"}


async def test_cancel_occurrence_notifies_attendees_and_drops_reminders(
    tg, database, clock, amani, bahati, registered_group
):
    card = await _schedule(tg, amani, registered_group)
    await tg.press(bahati, card, "❔ Maybe")  # the card is edited in place (the message after
    await tg.press(amani, card, "Cancel")      # it tells Bahati to open the private chat)
    assert [b["text"] for b in card.buttons()] == ["Yes, cancel it", "Back"]
    await tg.press(amani, card, "Yes, cancel it")
    assert "Cancelled" in card.text
    bahati_chat = tg.private_chat(bahati)
    assert await _deliver(tg, database, NOW) == 1
    assert "Monthly meeting" in tg.last_text(bahati_chat)
    assert "is cancelled" in tg.last_text(bahati_chat)
    assert await _deliver(tg, database, datetime(2026, 12, 3, 7, 0, tzinfo=UTC)) == 0


async def test_secretariat_buttons_refused_to_members(tg, database, clock, amani, bahati,
                                                      registered_group):
    card = await _schedule(tg, amani, registered_group)
    await tg.press(bahati, card, "Cancel")
    answer = tg.api.sent("answerCallbackQuery")[-1].params
    assert "Only the secretariat" in answer["text"]
    [meeting] = await _rows(database, Meeting)
    assert meeting.cancelled_at is None


async def test_reschedule_occurrence_moves_reminders_and_tells_attendees(
    tg, database, clock, amani, bahati, registered_group
):
    card = await _schedule(tg, amani, registered_group)
    await tg.press(bahati, card, "✅ Going")  # the card is edited in place
    await tg.press(amani, card, "Reschedule")
    await tg.press(amani, card, "Continue")
    assert "Send the new date and time" in tg.last_text(registered_group)
    await tg.send(amani, registered_group, "not a date")
    assert "could not read that date" in tg.last_text(registered_group)
    await tg.send(amani, registered_group, "2026-12-04 11:00")
    assert "Moved" in tg.last_text(registered_group)
    tg.private_chat(bahati)
    [meeting] = await _rows(database, Meeting)
    assert meeting.start_local == datetime(2026, 12, 4, 11, 0)
    assert await _deliver(tg, database, NOW) == 1
    assert "has moved" in tg.last_text(tg.private_chat(bahati))
    # The old 1-day reminder is gone, the new one fires (RSVP moved with the meeting).
    assert await _deliver(tg, database, datetime(2026, 12, 2, 8, 0, tzinfo=UTC)) == 0
    assert await _deliver(tg, database, datetime(2026, 12, 3, 9, 0, tzinfo=UTC)) == 2


async def test_series_schedule_next_date_and_cancel_one(tg, database, clock, amani,
                                                        registered_group):
    await tg.send(amani, registered_group,
                  "/schedule every first tuesday 10:00 | Monthly meeting | Online")
    check = tg.last_bot_message(registered_group)
    assert "Tuesday, December 1, 2026" in check.text and "first meeting" in check.text
    await tg.press(amani, check, "✅ Save")
    card = tg.last_bot_message(registered_group)
    assert "Repeats" in card.text
    [meeting] = await _rows(database, Meeting)
    assert meeting.rrule == "FREQ=MONTHLY;BYDAY=+1TU"
    assert meeting.start_local == datetime(2026, 12, 1, 10, 0)
    await tg.press(amani, card, "Next date ▶")
    card = tg.last_bot_message(registered_group)
    assert "2027" in card.text
    await tg.press(amani, card, "Cancel")
    await tg.press(amani, tg.last_bot_message(registered_group), "Cancel this date only")
    await tg.send(amani, registered_group, "/calendar")
    listing = tg.last_text(registered_group)
    assert listing.count("Monthly meeting") == 5
    assert "Jan 5, 2027" not in listing and "Dec 1, 2026" in listing


async def test_ics_command_and_button_send_documents(tg, database, clock, amani,
                                                     registered_group):
    card = await _schedule(tg, amani, registered_group)
    await tg.send(amani, registered_group, "/ics")
    document = tg.last_bot_message(registered_group).document
    name, data = document
    assert name.endswith(".ics")
    parsed = Calendar.from_ical(data)
    assert [e["SUMMARY"] for e in parsed.walk("VEVENT")] == ["Monthly meeting"]
    await tg.press(amani, card, "📅 .ics file")
    assert tg.last_bot_message(registered_group).document[0] == "monthly-meeting.ics"


async def test_settings_reminders_and_quorum(tg, database, clock, amani, bahati,
                                             registered_group):
    await tg.send(amani, registered_group, "/settings reminders 3d 1d 2h")
    assert "Reminders before each meeting: 3d 1d 2h" in tg.last_text(registered_group)
    await tg.send(amani, registered_group, "/settings reminders 3x")
    assert "could not read \"3x\"" in tg.last_text(registered_group)
    await tg.send(amani, registered_group, "/settings quorum 2 company")
    assert "at least 2 confirmed" in tg.last_text(registered_group)
    await tg.send(amani, registered_group, "/settings quorum 2 dragons")
    assert "Unknown pillar" in tg.last_text(registered_group)
    await tg.send(bahati, registered_group, "/settings quorum off")
    assert "Only the secretariat" in tg.last_text(registered_group)
    card = await _schedule(tg, amani, registered_group)
    assert "Quorum not met: 0 of 2 confirmed; no one yet from: Company" in card.text
    keys = {r.key.split(":")[4] for r in await _rows(database, OutboxMessage)}
    assert keys == {str(3 * 1440), "1440", "120"}


async def test_attendance_marking_and_rates(tg, database, clock, amani, bahati,
                                            registered_group):
    await tg.send(bahati, registered_group, "/join")
    await _schedule(tg, amani, registered_group)
    clock.now = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    await tg.send(amani, registered_group, "/meeting 1")
    card = tg.last_bot_message(registered_group)
    await tg.press(amani, card, "Attendance")
    marks = tg.last_bot_message(registered_group)
    assert [b["text"] for b in marks.buttons()] == ["▫️ Amani", "▫️ Bahati", "Done"]
    await tg.press(amani, marks, "▫️ Bahati")
    assert [b["text"] for b in tg.last_bot_message(registered_group).buttons()][1] == \
        "✅ Bahati"
    await tg.send(amani, registered_group, "/attendance")
    text = tg.last_text(registered_group)
    assert "Bahati: 1 of 1 (100%)" in text and "Amani: 0 of 1 (0%)" in text


async def test_guided_flow_schedules_a_monthly_series(tg, database, clock, amani,
                                                      registered_group):
    await tg.send(amani, registered_group, "/schedule")
    step = tg.last_bot_message(registered_group)
    assert "What kind is it?" in step.text
    assert [b["text"] for b in step.buttons()] == [
        "Meeting", "Workshop", "Training", "Field visit", "Stop"]
    await tg.press(amani, step, "Workshop")
    await tg.press(amani, tg.last_bot_message(registered_group), "Monthly, same weekday")
    assert "When is the first meeting?" in tg.last_text(registered_group)
    await tg.send(amani, registered_group, "yesterday 10:00")
    assert "already passed" in tg.last_text(registered_group)
    await tg.send(amani, registered_group, "2026-12-29 10:00")  # the last Tuesday of December
    await tg.press(amani, tg.last_bot_message(registered_group), "6 meetings")
    await tg.press(amani, tg.last_bot_message(registered_group), "3 h")
    await tg.send(amani, registered_group, "Security workshop")
    await tg.send(amani, registered_group, "https://meet.example.org/wg")
    summary = tg.last_bot_message(registered_group)
    assert "Tuesday, December 29, 2026, 10:00" in summary.text
    assert "Workshop · Monthly, same weekday · 3 h" in summary.text
    await tg.press(amani, summary, "✅ Save")
    assert "Scheduled meeting #1" in tg.last_text(registered_group)
    [meeting] = await _rows(database, Meeting)
    assert (meeting.kind, meeting.rrule, meeting.duration_minutes, meeting.place) == (
        "workshop", "FREQ=MONTHLY;BYDAY=-1TU;COUNT=6", 180, "https://meet.example.org/wg")


async def test_guided_flow_stop_and_buttons_for_others(tg, database, clock, amani, bahati,
                                                       registered_group):
    await tg.send(amani, registered_group, "/schedule")
    step = tg.last_bot_message(registered_group)
    meeting_data = step.buttons()[0]["callback_data"]
    await tg.press(bahati, step, "Meeting")
    answer = tg.api.sent("answerCallbackQuery")[-1].params
    assert "Only the secretariat" in answer["text"]
    await tg.press(amani, step, "Stop")
    assert "Nothing was scheduled" in tg.last_text(registered_group)
    await tg.press_data(amani, step, meeting_data)  # the flow is over: refused
    assert "not valid any more" in tg.api.sent("answerCallbackQuery")[-1].params["text"]
    assert await _rows(database, Meeting) == []


async def test_guided_flow_once_with_no_place(tg, database, clock, amani, registered_group):
    await tg.send(amani, registered_group, "/schedule")
    await tg.press(amani, tg.last_bot_message(registered_group), "Field visit")
    await tg.press(amani, tg.last_bot_message(registered_group), "Once")
    await tg.send(amani, registered_group, "tomorrow 09:00")
    await tg.press(amani, tg.last_bot_message(registered_group), "8 h")
    await tg.send(amani, registered_group, "Visit to the mine")
    assert "or - if there is no place yet" in tg.last_text(registered_group)
    await tg.send(amani, registered_group, "–")  # the dash a phone keyboard makes of "-"
    await tg.press(amani, tg.last_bot_message(registered_group), "✅ Save")
    [meeting] = await _rows(database, Meeting)
    assert (meeting.kind, meeting.rrule, meeting.place, meeting.start_local) == (
        "field_visit", None, "", datetime(2026, 11, 22, 9, 0))


async def test_private_reminder_and_card_in_the_readers_language(
    tg, database, clock, amani, registered_group
):
    zawadi = LocalUser(id=1004, first_name="Zawadi", username="zawadi", language_code="en")
    card = await _schedule(tg, amani, registered_group)
    await tg.press(zawadi, card, "✅ Going")
    await tg.send(zawadi, tg.private_chat(zawadi), "/language")  # she chose Swahili
    await tg.press(zawadi, tg.last_bot_message(zawadi.id), "Kiswahili")
    await tg.send(zawadi, registered_group, "/meeting 1")
    assert "Watakuja: 1" in tg.last_text(registered_group)
    assert [b["text"] for b in tg.last_bot_message(registered_group).buttons()][:3] == [
        "✅ Nitakuja", "❔ Labda", "✖️ Sitakuja"]
    chat = tg.private_chat(zawadi)
    await _deliver(tg, database, datetime(2026, 12, 2, 8, 0, tzinfo=UTC))
    assert tg.last_text(chat).startswith("⏰ Kikumbusho: Monthly meeting")
    # The private reminder carries RSVP buttons that work from the private chat.
    await tg.press(zawadi, tg.last_bot_message(chat), "✖️ Sitakuja")
    assert tg.last_text(chat) == "Hutakuja."
    async with database.session() as s:
        [rsvp] = (await s.exec(select(Rsvp))).all()
        assert rsvp.answer == "no"


@pytest.mark.parametrize(("data", "expected"), [
    ("mt:r:1:0:going", "has no such date"),
    ("mt:r:1:{o}:perhaps", "Unknown answer."),
    ("mt:zz:1:{o}:", "Only the secretariat"),
    ("mt:r:abc:{o}:going", "not valid any more"),
    ("mt:more:0:999999:", "not valid any more"),
])
async def test_forged_or_malformed_button_data(tg, database, clock, amani, bahati,
                                               registered_group, data, expected):
    card = await _schedule(tg, amani, registered_group)
    occurrence = card.buttons()[0]["callback_data"].split(":")[3]
    await tg.press_data(bahati, card, data.format(o=occurrence))
    answer = tg.api.sent("answerCallbackQuery")[-1].params
    assert expected in answer["text"]
    assert await _rows(database, Rsvp) == []


async def test_commands_outside_a_registered_group(tg, database, clock, amani, group_chat):
    for command in ("/schedule 2026-12-03 10:00 | X", "/calendar", "/meeting 1", "/ics",
                    "/attendance", "/settings"):
        await tg.send(amani, group_chat, command)
        assert "not a registered working group" in tg.last_text(group_chat)
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/calendar")  # privately: the calendar of the person's groups
    assert "not a member of any working group yet" in tg.last_text(chat)
    await tg.send(amani, chat, "/unmute")
    assert "Private reminders are on again." in tg.last_text(chat)


# --- Telegram's privacy mode: in a group the bot receives commands and replies to it only ------


def _forces_a_selective_reply(message) -> bool:
    return message.reply_markup == {"force_reply": True, "selective": True}


async def test_guided_flow_with_privacy_mode_answers_by_reply(tg, database, clock, amani,
                                                             registered_group):
    tg.privacy_mode = True
    await tg.send(amani, registered_group, "/schedule")
    await tg.press(amani, tg.last_bot_message(registered_group), "Meeting")
    await tg.press(amani, tg.last_bot_message(registered_group), "Once")
    prompt = tg.last_bot_message(registered_group)
    assert "When is the first meeting?" in prompt.text and "/cancel" in prompt.text
    assert _forces_a_selective_reply(prompt)
    # The mention that selects Amani's reply box (the reply box follows a button press).
    assert prompt.text.startswith('<a href="tg://user?id=1001">Amani</a>\n')
    assert await tg.send(amani, registered_group, "2026-12-03 10:00") is None  # withheld
    await tg.reply(amani, registered_group, "someday")
    assert "could not read that date" in tg.last_text(registered_group)
    assert _forces_a_selective_reply(tg.last_bot_message(registered_group))
    await tg.reply(amani, registered_group, "2026-12-03 10:00")
    await tg.press(amani, tg.last_bot_message(registered_group), "2 h")
    assert _forces_a_selective_reply(tg.last_bot_message(registered_group))
    await tg.reply(amani, registered_group, "Monthly meeting")
    place = tg.last_bot_message(registered_group)
    assert "Where?" in place.text and _forces_a_selective_reply(place)
    await tg.reply(amani, registered_group, "Town hall")
    summary = tg.last_bot_message(registered_group)
    assert "Thursday, December 3, 2026, 10:00" in summary.text
    await tg.press(amani, summary, "✏️ Change the date")  # back to the date, then the summary
    await tg.reply(amani, registered_group, "Friday 9:00")
    summary = tg.last_bot_message(registered_group)
    assert "Friday, November 27, 2026, 9:00" in summary.text and "Town hall" in summary.text
    await tg.press(amani, summary, "✅ Save")
    assert "Scheduled meeting #1" in tg.last_text(registered_group)
    [meeting] = await _rows(database, Meeting)
    assert (meeting.title, meeting.place, meeting.start_local) == (
        "Monthly meeting", "Town hall", datetime(2026, 11, 27, 9, 0))


async def test_guided_flow_cancel_in_a_text_step(tg, database, clock, amani, registered_group):
    tg.privacy_mode = True
    await tg.send(amani, registered_group, "/schedule")
    await tg.press(amani, tg.last_bot_message(registered_group), "Meeting")
    await tg.press(amani, tg.last_bot_message(registered_group), "Once")
    await tg.send(amani, registered_group, "/cancel")
    assert tg.last_text(registered_group) == "Stopped. Nothing was scheduled."
    await tg.reply(amani, registered_group, "2026-12-03 10:00")  # no flow any more: ignored
    assert tg.last_text(registered_group) == "Stopped. Nothing was scheduled."
    assert await _rows(database, Meeting) == []


async def test_reschedule_and_edit_with_privacy_mode(tg, database, clock, amani, bahati,
                                                    registered_group):
    card = await _schedule(tg, amani, registered_group)
    tg.privacy_mode = True
    await tg.press(amani, card, "Reschedule")
    await tg.press(amani, card, "Continue")
    prompt = tg.last_bot_message(registered_group)
    assert "Send the new date and time" in prompt.text and _forces_a_selective_reply(prompt)
    await tg.reply(bahati, registered_group, "2026-12-05 09:00")  # not Bahati's prompt
    assert tg.last_bot_message(registered_group) is prompt
    await tg.reply(amani, registered_group, "2026-12-04 11:00")
    assert "Moved" in tg.last_text(registered_group)
    card = tg.last_bot_message(registered_group)
    await tg.press(amani, card, "Edit")
    await tg.press(amani, tg.last_bot_message(registered_group), "Continue")
    prompt = tg.last_bot_message(registered_group)
    assert "TITLE | PLACE" in prompt.text and _forces_a_selective_reply(prompt)
    await tg.reply(amani, registered_group, "Extraordinary meeting | Bukavu office")
    assert "Saved" in tg.last_text(registered_group)
    [meeting] = await _rows(database, Meeting)
    assert (meeting.title, meeting.place, meeting.start_local) == (
        "Extraordinary meeting", "Bukavu office", datetime(2026, 12, 4, 11, 0))
    await tg.press(amani, tg.last_bot_message(registered_group), "Edit")
    await tg.press(amani, tg.last_bot_message(registered_group), "Continue")
    await tg.send(amani, registered_group, "/cancel")
    assert tg.last_text(registered_group) == "Cancelled. Nothing was changed."


async def test_a_new_date_in_words_is_checked_before_the_meeting_moves(
        tg, database, clock, amani, bahati, registered_group):
    card = await _schedule(tg, amani, registered_group)
    await tg.press(amani, card, "Reschedule")
    await tg.press(amani, card, "Continue")
    await tg.send(amani, registered_group, "mardi prochain 10h")
    check = tg.last_bot_message(registered_group)
    assert "Tuesday, November 24, 2026, 10:00" in check.text
    [meeting] = await _rows(database, Meeting)
    assert meeting.start_local == datetime(2026, 12, 3, 10, 0)  # not moved yet
    await tg.press(bahati, check, "✅ Save")  # not Bahati's question: nothing happens
    assert tg.last_bot_message(registered_group) is check
    await tg.press(amani, check, "✏️ Change the date")
    await tg.send(amani, registered_group, "Ijumaa saa 8 mchana")
    check = tg.last_bot_message(registered_group)
    assert "Friday, November 27, 2026, 2:00\u202fPM" in check.text
    await tg.press(amani, check, "✅ Save")
    assert "Moved" in tg.last_text(registered_group)
    [meeting] = await _rows(database, Meeting)
    assert meeting.start_local == datetime(2026, 11, 27, 14, 0)
    assert "Nov 27, 2026, 2:00\u202fPM" in tg.last_text(registered_group)


@pytest.mark.parametrize("locale", ["en", "fr", "es"])
def test_the_answer_counts_are_written_in_the_readers_locale(locale):
    """The card and the group's /calendar write the counts alike, grouped as the reader's
    language groups thousands (1,234 / 1 234 / 1.234)."""
    from babel.numbers import format_decimal

    from bot.i18n import get_i18n
    from bot.services import calendar as cal
    from handlers.calendar import tally_line

    i18n = get_i18n()
    with i18n.context(), i18n.use_locale(locale):
        line = tally_line(cal.RsvpCounts(going=1234, maybe=5, no=0), locale)
    assert format_decimal(1234, locale=locale) in line
    assert "1234" not in line

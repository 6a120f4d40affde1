"""A meeting through the real process and the emulator: schedule it, see it in /calendar,
answer with a button, and receive the reminder when its moment comes.

The bot is a separate process with its own clock, so the meeting is set a couple of minutes
ahead with a reminder two minutes before it: the reminder falls due within about a minute, and
the scheduler ticks every second (WGBOT_TICK_SECONDS=1).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from emulator import Chat, User, by_text

AMANI = User(id=2401, first_name="Amani", username="amani", language_code="en")
BAHATI = User(id=2402, first_name="Bahati", username="bahati", language_code="en")
GROUP = Chat.supergroup(-1002401, "Bukavu working group")


def _next_minute(instant: datetime) -> datetime:
    return (instant + timedelta(minutes=1)).replace(second=0, microsecond=0)


async def test_schedule_calendar_rsvp_and_reminder(bot_process, shim, tg):
    await bot_process(env={"WGBOT_TICK_SECONDS": "1"})
    shim.set_admins(GROUP.id, [AMANI.id])
    await tg.send_text(AMANI, GROUP, "/setup Bukavu | UTC")
    await tg.wait_for_reply(GROUP)
    await tg.send_text(AMANI, GROUP, "/settings reminders 2m")
    await tg.wait_for_reply(GROUP)

    start = _next_minute(datetime.now(UTC) + timedelta(minutes=2, seconds=10))
    await tg.send_text(AMANI, GROUP,
                       f"/schedule {start:%Y-%m-%d %H:%M} | Security briefing | Bukavu office")
    await tg.wait_for_reply(GROUP, by_text("Security briefing"))

    await tg.send_text(BAHATI, GROUP, "/calendar")
    listing = await tg.wait_for_reply(GROUP, by_text("Security briefing"))
    assert "Bukavu office" in listing.text

    await tg.send_text(BAHATI, GROUP, "/meeting 1")
    card = await tg.wait_for_reply(GROUP, lambda m: "✅ Going" in m.button_texts)
    await tg.press(BAHATI, GROUP, card, "✅ Going")
    updated = await tg.wait_for_edit(card)
    assert "Going: 1" in updated.text

    reminder_timeout = (start - datetime.now(UTC)).total_seconds() + 20
    await tg.wait_for_message(  # the reminder in the group, with answer buttons
        GROUP, lambda m: m.message_id > updated.message_id and "Security briefing" in (m.text or "")
        and "✅ Going" in m.button_texts, timeout=reminder_timeout)
    private_chat = Chat.private(BAHATI)  # and privately to Bahati, who said going
    await tg.wait_for_message(private_chat, by_text("Security briefing"), timeout=20)
    reminders = [m for m in await tg.bot_messages(private_chat) if "Security briefing" in m.text]
    assert len(reminders) == 1


# In a group the bot keeps Telegram's privacy mode (the shim withholds what Telegram would): the
# guided flow and the card's Reschedule and Edit are answered by replying to the bot's prompts.

KIVU = Chat.supergroup(-1002402, "Uvira working group")


def _forces_a_reply(message) -> bool:
    return (message.reply_markup or {}).get("force_reply") is True and \
        message.reply_markup.get("selective") is True


async def _answer(tg, user, chat, prompt, text):
    await tg.send_text(user, chat, text, reply_to=prompt)


async def test_guided_schedule_reschedule_and_edit_with_privacy_mode(bot_process, shim, tg):
    assert shim.privacy_mode
    await bot_process()
    shim.set_admins(KIVU.id, [AMANI.id])
    await tg.send_text(AMANI, KIVU, "/setup Uvira | UTC")
    await tg.wait_for_reply(KIVU)

    await tg.send_text(AMANI, KIVU, "/schedule")
    kind = await tg.wait_for_reply(KIVU, by_text("What kind is it?"))
    await tg.press(AMANI, KIVU, kind, "Meeting")
    repeat = await tg.wait_for_reply(KIVU, by_text("Does it repeat?"))
    await tg.press(AMANI, KIVU, repeat, "Once")
    when = await tg.wait_for_reply(KIVU, by_text("When is the first meeting?"))
    assert _forces_a_reply(when)
    await tg.send_text(AMANI, KIVU, "2027-03-05 10:00")  # not a reply: Telegram withholds it
    await _answer(tg, AMANI, KIVU, when, "2027-03-05 10:00")
    duration = await tg.wait_for_reply(KIVU, by_text("How long will it last?"))
    await tg.press(AMANI, KIVU, duration, "2 h")
    title = await tg.wait_for_reply(KIVU, by_text("What is the title?"))
    assert _forces_a_reply(title)
    await _answer(tg, AMANI, KIVU, title, "Security briefing")
    place = await tg.wait_for_reply(KIVU, by_text("Where?"))
    assert _forces_a_reply(place)
    await _answer(tg, AMANI, KIVU, place, "Uvira port")
    summary = await tg.wait_for_reply(KIVU, by_text("Please check before I save"))
    assert "Friday, March 5, 2027, 10:00\u202fAM" in summary.text
    await tg.press(AMANI, KIVU, summary, "✅ Save")
    card = await tg.wait_for_reply(KIVU, by_text("Scheduled meeting #1"))
    assert "Security briefing" in card.text and "Uvira port" in card.text
    assert "Mar 5, 2027, 10:00\u202fAM" in card.text  # no seconds

    await tg.press(AMANI, KIVU, card, "Reschedule")
    scope = await tg.wait_for_edit(card, lambda m: "Continue" in m.button_texts)
    await tg.press(AMANI, KIVU, scope, "Continue")
    prompt = await tg.wait_for_reply(KIVU, by_text("Send the new date and time"))
    assert _forces_a_reply(prompt)
    await _answer(tg, AMANI, KIVU, prompt, "2027-03-06 11:00")
    moved = await tg.wait_for_reply(KIVU, by_text("Moved."))
    assert "Mar 6, 2027, 11:00\u202fAM" in moved.text

    await tg.press(AMANI, KIVU, moved, "Edit")
    scope = await tg.wait_for_edit(moved, lambda m: "Continue" in m.button_texts)
    await tg.press(AMANI, KIVU, scope, "Continue")
    prompt = await tg.wait_for_reply(KIVU, by_text("TITLE | PLACE"))
    assert _forces_a_reply(prompt)
    await _answer(tg, AMANI, KIVU, prompt, "Extraordinary meeting | Bukavu office")
    saved = await tg.wait_for_reply(KIVU, by_text("Saved."))
    assert "Extraordinary meeting" in saved.text and "Bukavu office" in saved.text

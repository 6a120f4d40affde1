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

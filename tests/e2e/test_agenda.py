"""Agenda and co-chairs through the real process and the emulator: items proposed and accepted,
a co-chair invitation accepted with a button, and the agenda published at its deadline.

The meeting is set an hour and a bit ahead with a one-hour proposal deadline, so the
publication falls due about a minute after the test starts; the scheduler ticks every second.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from emulator import Chat, User, by_text

AMANI = User(id=2501, first_name="Amani", username="amani", language_code="en")
BAHATI = User(id=2502, first_name="Bahati", username="bahati", language_code="en")
JUMA = User(id=2503, first_name="Juma", username="juma", language_code="en")
GROUP = Chat.supergroup(-1002501, "Kamituga working group")


async def _willing_cochair(tg, user: User, pillar: str) -> None:
    private = Chat.private(user)
    await tg.send_text(user, private, "/profile")
    card = await tg.wait_for_reply(private, by_text("Your profile"))
    await tg.press(user, private, card, "Pillar")
    pillars = await tg.wait_for_edit(card)
    await tg.press(user, private, pillars, pillar)
    card = await tg.wait_for_edit(pillars, by_text(f"Pillar: {pillar}"))
    await tg.press(user, private, card, "Co-chair: no")
    await tg.wait_for_edit(card, lambda m: "Co-chair: yes" in m.button_texts)


async def test_propose_accept_cochair_and_publication(bot_process, shim, tg):
    await bot_process(env={"WGBOT_TICK_SECONDS": "1"})
    shim.set_admins(GROUP.id, [AMANI.id])
    await tg.send_text(AMANI, GROUP, "/setup Kamituga | UTC")
    await tg.wait_for_reply(GROUP)
    for user in (BAHATI, JUMA):
        await tg.send_text(user, GROUP, "/join")
        await tg.wait_for_reply(GROUP, by_text(f"Welcome to Kamituga, {user.first_name}"))
    await _willing_cochair(tg, BAHATI, "Company")
    await _willing_cochair(tg, JUMA, "Civil society")
    await tg.send_text(AMANI, GROUP, "/agendadeadline 1")
    await tg.wait_for_reply(GROUP)
    await tg.send_text(AMANI, GROUP, "/cochairs days 1")
    await tg.wait_for_reply(GROUP)

    start = (datetime.now(UTC) + timedelta(hours=1, minutes=2)).replace(second=0, microsecond=0)
    await tg.send_text(AMANI, GROUP, f"/schedule {start:%Y-%m-%d %H:%M} | Monthly meeting | Hall")
    await tg.wait_for_reply(GROUP, by_text("Monthly meeting"))

    await tg.send_text(BAHATI, GROUP, "/propose Road safety near the mine")
    await tg.wait_for_reply(GROUP, by_text("proposal #1"))
    review = await tg.wait_for_message(Chat.private(AMANI), by_text("Road safety near the mine"))
    await tg.press(AMANI, Chat.private(AMANI), review, "✅ Accept")

    for user in (BAHATI, JUMA):
        private = Chat.private(user)
        invitation = await tg.wait_for_message(private, by_text("Would you co-chair"))
        await tg.press(user, private, invitation, "✅ Yes, I accept")
        await tg.wait_for_message(private, by_text("you will co-chair"))
    await tg.wait_for_message(GROUP, by_text("Co-chairs confirmed"), timeout=15)

    timeout = (start - timedelta(hours=1) - datetime.now(UTC)).total_seconds() + 20
    published = await tg.wait_for_message(GROUP, by_text("📋 Agenda"), timeout=timeout)
    assert "1. Road safety near the mine" in published.text
    assert "Bahati" in published.text and "Juma" in published.text
    pin = await shim.wait_for_call("pinChatMessage")  # right after the message is recorded sent
    assert pin.params["message_id"] == published.message_id

"""`wgbot run` as a separate process against the Bot API emulator, used as people use it."""

from __future__ import annotations

from emulator import Chat, User

from bot.i18n import translate

AMANI = User(id=2101, first_name="Amani", username="amani", language_code="en")
BAHATI = User(id=2102, first_name="Bahati", username="bahati", language_code="en")
GROUP = Chat.supergroup(-1002101, "South Kivu working group")


async def test_start_in_private_lists_commands(bot_process, tg):
    await bot_process()
    private = Chat.private(AMANI)
    await tg.send_text(AMANI, private, "/start")
    reply = await tg.wait_for_reply(private)
    assert reply.text.startswith("Hello Amani!")
    assert "/profile" in reply.text and "/language" in reply.text


async def test_setup_and_join_in_a_group(bot_process, shim, tg):
    await bot_process()
    shim.set_admins(GROUP.id, [AMANI.id])
    await tg.send_text(BAHATI, GROUP, "/setup Takeover")
    refusal = await tg.wait_for_reply(GROUP)
    assert refusal.text == "Only a chat administrator can register this group."
    await tg.send_text(AMANI, GROUP, "/setup South Kivu | Africa/Lubumbashi")
    card = await tg.wait_for_reply(GROUP)
    assert "This chat is now a working group." in card.text
    assert "Africa/Lubumbashi" in card.text and "Secretariat: Amani" in card.text
    await tg.press(AMANI, GROUP, card, "Level")
    levels = await tg.wait_for_edit(card)
    assert "Provincial" in levels.button_texts
    await tg.send_text(BAHATI, GROUP, "/join")
    welcome = await tg.wait_for_reply(GROUP)
    assert welcome.text.startswith("Welcome to South Kivu, Bahati!")
    assert "start=profile" in welcome.button("Set my profile")["url"]
    await tg.send_text(BAHATI, GROUP, "/members")
    members = await tg.wait_for_reply(GROUP)
    assert "Amani - secretariat" in members.text and "Bahati" in members.text


async def test_profile_with_buttons(bot_process, tg):
    await bot_process()
    private = Chat.private(BAHATI)
    await tg.send_text(BAHATI, private, "/profile")
    card = await tg.wait_for_reply(private)
    assert "Pillar: Pillar not set" in card.text
    await tg.press(BAHATI, private, card, "Pillar")
    pillars = await tg.wait_for_edit(card)
    await tg.press(BAHATI, private, pillars, "Community")
    card = await tg.wait_for_edit(pillars, lambda m: "Pillar: Community" in (m.text or ""))
    await tg.press(BAHATI, private, card, "Organisation")
    prompt = await tg.wait_for_reply(private)
    assert "Send the name of your organisation" in prompt.text
    await tg.send_text(BAHATI, private, "Comité de vigilance de Kamituga")
    saved = await tg.wait_for_reply(private, lambda m: "Organisation:" in (m.text or ""))
    assert "Organisation: Comité de vigilance de Kamituga" in saved.text


async def test_language_switches_to_french_then_swahili(bot_process, tg):
    await bot_process()
    private = Chat.private(AMANI)
    await tg.send_text(AMANI, private, "/language")
    menu = await tg.wait_for_reply(private)
    await tg.press(AMANI, private, menu, "Français")
    confirmed = await tg.wait_for_edit(menu)
    assert confirmed.text == "Désormais, je vous écrirai en Français."
    await tg.send_text(AMANI, private, "/help")
    help_fr = await tg.wait_for_reply(private)
    assert help_fr.text.startswith("Dans cette discussion privée, vous pouvez")
    await tg.send_text(AMANI, private, "/language")
    menu = await tg.wait_for_reply(private)
    await tg.press(AMANI, private, menu, "Kiswahili")
    confirmed = await tg.wait_for_edit(menu)
    assert confirmed.text == translate("From now on I will write to you in {language}.", "sw",
                                       language="Kiswahili")
    await tg.send_text(AMANI, private, "/help")
    help_sw = await tg.wait_for_reply(private)
    assert help_sw.text.split("\n")[0] == translate("In this private chat you can:", "sw")

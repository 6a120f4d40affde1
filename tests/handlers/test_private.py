"""Dispatcher-level tests of the private chat: /start, /help, /profile, /language, errors."""

from __future__ import annotations

import logging
import re

from sqlmodel import select

from bot.local_api import LocalUser
from bot.logs import configure_logging
from storage.models import Person


async def _person(database, telegram_id) -> Person:
    async with database.session() as s:
        return (await s.exec(select(Person).where(Person.telegram_id == telegram_id))).one()


async def test_start_greets_and_lists_private_commands(tg, amani):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/start")
    text = tg.last_text(chat)
    assert text.startswith("Hello Amani!")
    for command in ("/profile", "/language", "/groups", "/help"):
        assert command in text
    assert "/setup" not in text and "/grant" not in text and "/reports" not in text


async def test_private_help_shows_case_commands_to_the_secretariat_only(
    tg, amani, bahati, registered_group
):
    await tg.send(bahati, registered_group, "/join")
    for user, shown in ((amani, True), (bahati, False)):
        chat = tg.private_chat(user)
        await tg.send(user, chat, "/help")
        text = tg.last_text(chat)
        assert ("/reports -" in text) is shown and ("/case -" in text) is shown
        assert "/report -" in text and "/status -" in text


async def test_help_depends_on_chat_and_role(tg, amani, bahati, group_chat):
    bahati.language_code = "en"
    await tg.send(bahati, group_chat, "/help")
    text = tg.last_text(group_chat)
    assert "not a registered working group" in text and "/setup -" not in text
    await tg.send(amani, group_chat, "/help")  # the chat's creator may register it
    assert "/setup -" in tg.last_text(group_chat)
    await tg.send(amani, group_chat, "/setup South Kivu")
    await tg.send(bahati, group_chat, "/help")
    member_help = tg.last_text(group_chat)
    assert "/join -" in member_help and "/members -" in member_help
    assert "/grant -" not in member_help and "/setup -" not in member_help
    await tg.send(amani, group_chat, "/help")
    secretariat_help = tg.last_text(group_chat)
    assert "/grant -" in secretariat_help and "/setup -" in secretariat_help


async def test_help_in_french_for_a_french_telegram_user(tg):
    marie = LocalUser(id=2001, first_name="Marie", username="marie", language_code="fr-FR")
    chat = tg.private_chat(marie)
    await tg.send(marie, chat, "/help")
    assert tg.last_text(chat).startswith("Dans cette discussion privée")


async def test_language_choice_is_stored_and_used(tg, database, amani):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/language")
    keyboard = tg.last_bot_message(chat)
    assert [b["text"] for b in keyboard.buttons()] == [
        "Kiswahili", "Français", "Lingála", "English", "Español"]
    await tg.press(amani, keyboard, "Français")
    assert (await _person(database, amani.id)).language == "fr"
    assert tg.last_text(chat) == "Désormais, je vous écrirai en Français."
    await tg.send(amani, chat, "/nothing")
    assert tg.last_text(chat).startswith("Je ne connais pas la commande /nothing")
    await tg.send(amani, chat, "/language")
    await tg.press(amani, tg.last_bot_message(chat), "Kiswahili")
    await tg.send(amani, chat, "/help")
    assert tg.last_text(chat) != "" and "/profile" in tg.last_text(chat)
    assert tg.last_text(chat).split("\n")[0] != "In this private chat you can:"


async def test_group_language_is_the_fallback(tg, database, amani, registered_group):
    stranger = LocalUser(id=3001, first_name="Jo", username="jo", language_code=None)
    await tg.send(amani, registered_group, "/setup")
    card = tg.last_bot_message(registered_group)
    await tg.press(amani, card, "Español")
    await tg.send(stranger, registered_group, "/members")
    assert tg.last_text(registered_group).startswith("Miembros de")


async def test_profile_flow_with_buttons_and_text(tg, database, bahati):
    chat = tg.private_chat(bahati)
    bahati.language_code = "en"
    await tg.send(bahati, chat, "/profile")
    card = tg.last_bot_message(chat)
    assert "Pillar: Pillar not set" in card.text
    await tg.press(bahati, card, "Pillar")
    await tg.press(bahati, tg.last_bot_message(chat), "Civil society")
    await tg.press(bahati, tg.last_bot_message(chat), "Co-chair: no")
    assert "Co-chair: yes" in [b["text"] for b in tg.last_bot_message(chat).buttons()]
    await tg.press(bahati, tg.last_bot_message(chat), "Organisation")
    assert "Send the name of your organisation" in tg.last_text(chat)
    await tg.send(bahati, chat, "x" * 200)
    assert tg.last_text(chat) == "That is too long: at most 120 characters."
    await tg.send(bahati, chat, "Réseau des femmes de Kamituga")
    assert "Organisation: Réseau des femmes de Kamituga" in tg.last_text(chat)
    card = tg.last_bot_message(chat)
    await tg.press(bahati, card, "Time zone")
    await tg.send(bahati, chat, "Africa/Nowhere")
    assert "I don't know that time zone" in tg.last_text(chat)
    await tg.send(bahati, chat, "/cancel")
    assert "Cancelled." in tg.texts(chat)[-2]
    person = await _person(database, bahati.id)
    assert (person.pillar, person.organisation, person.willing_cochair, person.timezone) == (
        "civil_society", "Réseau des femmes de Kamituga", True, None)
    await tg.press(bahati, tg.last_bot_message(chat), "Time zone")
    await tg.send(bahati, chat, "Africa/Kinshasa")
    assert "Time zone: Africa/Kinshasa" in tg.last_text(chat)


async def test_profile_language_button_rerenders_in_new_language(tg, database, amani):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/profile")
    await tg.press(amani, tg.last_bot_message(chat), "Language")
    await tg.press(amani, tg.last_bot_message(chat), "Español")
    assert "perfil</b>" in tg.last_bot_message(chat).text
    assert (await _person(database, amani.id)).language == "es"


async def test_profile_in_group_points_to_private_chat(tg, amani, registered_group):
    await tg.send(amani, registered_group, "/profile")
    message = tg.last_bot_message(registered_group)
    assert message.text == "Your profile is set in a private chat with me."
    assert message.buttons()[0]["url"].endswith("?start=profile")


async def test_unknown_commands_and_free_text(tg, amani, group_chat):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/frobnicate now")
    assert tg.last_text(chat) == (
        "I don't know the command /frobnicate. Send /help to see what I can do here.")
    await tg.send(amani, chat, "hello?")
    assert tg.last_text(chat).startswith("I did not understand that.")
    before = len(tg.api.sent("sendMessage"))
    await tg.send(amani, group_chat, "/ban@some_other_bot")
    await tg.send(amani, group_chat, "just chatting in the group")
    assert len(tg.api.sent("sendMessage")) == before
    await tg.send(amani, group_chat, "/frobnicate@wgbot_local_bot")
    assert "I don't know the command /frobnicate" in tg.last_text(group_chat)


async def test_unknown_command_with_markup_is_escaped(tg, amani):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/<b>x</b>")
    assert "&lt;b&gt;x&lt;/b&gt;" in tg.last_text(chat)


async def test_handler_error_gives_localized_apology_and_logs_code_without_text(
    tg, amani, registered_group, monkeypatch, caplog
):
    import handlers.members

    words = "secret words " + "from the user"

    async def broken(*args, **kwargs):
        raise RuntimeError(f"database exploded: {words}")

    monkeypatch.setattr(handlers.members, "members_by_pillar", broken)
    await tg.send(amani, tg.private_chat(amani), "/language")  # Amani chose French
    await tg.press(amani, tg.last_bot_message(amani.id), "Français")
    caplog.set_level(logging.DEBUG)
    await tg.send(amani, registered_group, "/members")
    text = tg.last_text(registered_group)
    assert text.startswith("Désolé")
    match = re.search(r"([0-9A-F]{8})$", text)
    assert match, text
    assert match.group(1) in caplog.text
    assert "secret words" not in caplog.text


async def test_private_texts_never_reach_the_logs(tg, amani, caplog):
    configure_logging("DEBUG")
    caplog.set_level(logging.DEBUG)
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "the colonel beat my brother at the checkpoint")
    await tg.send(amani, chat, "/profile")
    await tg.press(amani, tg.last_bot_message(chat), "Organisation")
    await tg.send(amani, chat, "Secret Network of Witnesses")
    assert "colonel" not in caplog.text
    assert "Secret Network" not in caplog.text


async def test_over_long_reply_is_refused_by_the_api_like_telegram(tg, amani):
    # The local API enforces Telegram's 4096-character limit, so a handler that forgot to
    # split would fail in tests as it would in production.
    chat = tg.private_chat(amani)
    from aiogram.exceptions import TelegramBadRequest

    try:
        await tg.bot.send_message(chat, "x" * 4097)
    except TelegramBadRequest as exc:
        assert "too long" in str(exc)
    else:
        raise AssertionError("a 4097-character message was accepted")

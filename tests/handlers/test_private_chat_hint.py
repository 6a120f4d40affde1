"""Someone who answers an RSVP in the group but cannot be written to privately (never opened the
private chat, or Telegram refused a delivery) is told once, in the group, with a button that
opens the private chat."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from storage.models import Person

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
HINT = "meeting reminders come in a private chat with me"


async def _card(tg, amani, chat):
    await tg.send(amani, chat, "/schedule 2026-12-03 10:00 | Monthly meeting | Town hall")
    return tg.last_bot_message(chat)


async def _person(database, user) -> Person:
    async with database.session() as s:
        return (await s.exec(select(Person).where(Person.telegram_id == user.id))).one()


def _hints(tg, chat):
    return [m for m in tg.api.chat_messages(chat) if m.from_bot and HINT in (m.text or "")]


async def test_hint_sent_once_with_a_button_that_opens_the_private_chat(
        tg, database, clock, amani, bahati, registered_group):
    card = await _card(tg, amani, registered_group)
    await tg.press(bahati, card, "✅ Going")
    [hint] = _hints(tg, registered_group)
    assert f'<a href="tg://user?id={bahati.id}">Bahati</a>' in hint.text
    [button] = hint.buttons()
    username = (await tg.bot.me()).username
    assert button["url"] == f"https://t.me/{username}?start=reminders"
    assert button["text"] == "💬 Open the private chat"
    await tg.press(bahati, card, "❔ Maybe")
    await tg.press(bahati, card, "✅ Going")
    assert len(_hints(tg, registered_group)) == 1  # once
    assert (await _person(database, bahati)).private_hint_at is not None


async def test_no_hint_for_someone_with_a_private_chat(tg, database, clock, amani, bahati,
                                                       registered_group):
    card = await _card(tg, amani, registered_group)
    await tg.press(bahati, card, "✖️ Not going")  # no reminders for "not going": no hint
    assert _hints(tg, registered_group) == []
    private = tg.private_chat(bahati)
    await tg.send(bahati, private, "/start reminders")  # what the button opens
    assert (await _person(database, bahati)).private_chat_at is not None
    await tg.press(bahati, card, "✅ Going")
    assert _hints(tg, registered_group) == []


async def test_hint_after_a_refused_private_delivery(tg, database, clock, amani, bahati,
                                                     registered_group):
    await tg.send(bahati, registered_group, "/join")
    private = tg.private_chat(bahati)
    await tg.send(bahati, private, "/help")
    card = await _card(tg, amani, registered_group)
    assert (await _person(database, bahati)).private_chat_at is not None
    async with database.session() as s:  # a reminder was refused: "bot can't initiate..."
        person = (await s.exec(select(Person).where(Person.telegram_id == bahati.id))).one()
        person.blocked_bot_at = NOW
        s.add(person)
    await tg.press(bahati, card, "✅ Going")
    assert len(_hints(tg, registered_group)) == 1


async def test_no_hint_when_answering_privately(tg, database, clock, amani, bahati,
                                                registered_group):
    card = await _card(tg, amani, registered_group)
    await tg.send(bahati, registered_group, "/join")
    private = tg.private_chat(bahati)
    await tg.send(bahati, private, "/meeting 1")
    private_card = tg.last_bot_message(private)
    await tg.press(bahati, private_card, "✅ Going")
    assert "You are going." in tg.last_text(private)
    assert _hints(tg, registered_group) == [] and _hints(tg, private) == []
    assert card is not None

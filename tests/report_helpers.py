"""Helpers shared by the handler tests: delivery of what is due, the last alert, media messages
and a whole concern report by buttons."""

from __future__ import annotations

from sqlmodel import select

from bot.delivery.sender import Sender
from bot.delivery.worker import Delivery
from bot.local_api import LocalUser, StoredMessage
from storage.models import WorkingGroup
from storage.report_tables import ReportCase

MEDIA = {
    "photo": lambda n: {"photo": [
        {"file_id": f"small-{n}", "file_unique_id": f"s{n}", "width": 90, "height": 90},
        {"file_id": f"PHOTO-{n}", "file_unique_id": f"p{n}", "width": 800, "height": 600}]},
    "voice": lambda n: {"voice": {"file_id": f"VOICE-{n}", "file_unique_id": f"v{n}",
                                  "duration": 4}},
    "document": lambda n: {"document": {"file_id": f"DOC-{n}", "file_unique_id": f"d{n}",
                                        "file_name": "scan.jpg"}},
}


async def deliver(tg, database, now) -> int:
    """Send what the outbox holds due at `now`, without the send limits."""
    return await Delivery(database, Sender(tg.bot, database, rate_limits=False)).run(now)


def last_alert(tg) -> str:
    """The text of the last callback answer (the alert a button press showed)."""
    return tg.api.sent("answerCallbackQuery")[-1].params.get("text", "")


async def send_media(tg, user: LocalUser, chat_id: int, kind: str, n: int = 1) -> StoredMessage:
    tg.api.users[user.id] = user.as_dict()
    message = tg.api.store(StoredMessage(
        chat_id=chat_id, message_id=tg.api.next_message_id(chat_id), sender=user.as_dict()))
    data = tg.api.message_dict(message)
    data.update(MEDIA[kind](n))
    await tg.feed({"message": data})
    return message


async def stored_cases(database) -> list[ReportCase]:
    async with database.session() as s:
        return list((await s.exec(select(ReportCase))).all())


async def group_code(database, chat_id: int) -> str:
    async with database.session() as s:
        group = (await s.exec(select(WorkingGroup).where(WorkingGroup.chat_id == chat_id))).one()
        return group.code


def bot_messages(tg, chat_id: int) -> list[StoredMessage]:
    return [m for m in tg.api.chat_messages(chat_id) if m.from_bot]


async def press_last(tg, user: LocalUser, chat_id: int, button: int | str) -> None:
    await tg.press(user, tg.last_bot_message(chat_id), button)


def labels(tg, chat_id: int) -> list[str]:
    return [b["text"] for b in tg.last_bot_message(chat_id).buttons()]


LANGUAGE_ORDER = ["sw", "fr", "ln", "en", "es"]


async def make_report(
    tg, database, user: LocalUser, group_chat: int, *, language: str = "en",
    category: int = 1, urgent: bool = False, where: str = "Near the mine gate",
    when: str = "Last Tuesday", texts: tuple[str, ...] = ("Soldiers beat a man.",),
    media: tuple[str, ...] = (),
) -> str:
    """Run the whole flow by buttons from the group's deep link; returns the receipt digits."""
    code = await group_code(database, group_chat)
    chat = tg.private_chat(user)
    await tg.send(user, chat, f"/start report_{code}")
    await press_last(tg, user, chat, LANGUAGE_ORDER.index(language) + 1)
    await press_last(tg, user, chat, 1)  # continue after the safety notice
    await press_last(tg, user, chat, category)
    await press_last(tg, user, chat, 1 if urgent else 2)
    await tg.send(user, chat, where)
    await tg.send(user, chat, when)
    for text in texts:
        await tg.send(user, chat, text)
    for n, kind in enumerate(media, start=1):
        await send_media(tg, user, chat, kind, n)
    await press_last(tg, user, chat, 1)  # done
    await press_last(tg, user, chat, 1)  # send the report
    receipt_text = tg.last_text(chat)
    digits = "".join(receipt_text.split("<code>", 1)[1].split("</code>", 1)[0].split())
    assert len(digits) == 16 and digits.isdigit()
    return digits

"""Last router: unknown commands, stale or forged buttons, free text the bot cannot place."""

from __future__ import annotations

from aiogram import Bot, F
from aiogram.types import CallbackQuery, Message

from bot.i18n import _
from handlers.commands import suggest
from handlers.common import RouterTemplate
from handlers.language import language_keyboard, never_chose, offer_text
from storage.models import Person

router = RouterTemplate("fallback")


def _addressed_to(text: str, username: str | None) -> bool:
    """In groups, `/cmd@otherbot` belongs to another bot; `/cmd` and `/cmd@us` are ours."""
    head = text.split(maxsplit=1)[0]
    _, at, mention = head.partition("@")
    return not at or (username is not None and mention.lower() == username.lower())


@router.message(F.text.startswith("/"))
async def unknown_command(message: Message, bot: Bot) -> None:
    text = message.text or ""
    if message.chat.type != "private" and not _addressed_to(text, (await bot.me()).username):
        return
    command = text.split(maxsplit=1)[0].split("@", 1)[0][:64]
    near = suggest(command[1:])
    if near is not None:
        await message.answer(_("I don't know the command {command}. Did you mean /{near}?").format(
            command=command.replace("<", "&lt;").replace(">", "&gt;"), near=near))
        return
    await message.answer(
        _("I don't know the command {command}. Send /help to see what I can do here.").format(
            command=command.replace("<", "&lt;").replace(">", "&gt;"))
    )


@router.message(F.chat.type == "private", F.voice | F.photo)
async def private_media(message: Message) -> None:
    """A voice note or photo outside any conversation is not kept: point to /report."""
    await message.answer(_("I do not keep voice notes or photos sent like this. To report a "
                           "concern with them, send /report: I will ask for them at each step, "
                           "and only your working group's secretariat will see them."))


@router.message(F.chat.type == "private")
async def private_text(message: Message, person: Person | None) -> None:
    text = _("I did not understand that. Send /help to see what I can do.")
    if never_chose(person):  # a first private message: offer the five languages too
        await message.answer(f"{text}\n\n{offer_text()}",
                             reply_markup=language_keyboard(first=True))
        return
    await message.answer(text)


@router.callback_query()
async def stale_button(query: CallbackQuery) -> None:
    await query.answer(_("This button is not valid any more."), show_alert=True)

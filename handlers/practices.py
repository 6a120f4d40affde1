"""/ask and /practices: what good practice says, and browsing the catalogue.

`/ask QUESTION` works in any chat (in a group the answer goes to the group); in a private chat
any text outside another flow is a question too. The matches of a question are kept per chat in
the FSM storage (ids only, never the question), under a short token that the buttons carry.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from aiogram import Bot, F
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.config import LANGUAGES, Settings
from bot.i18n import _, get_i18n
from bot.practices.answers import (
    QUESTION_MAX,
    Card,
    CatalogueUnavailable,
    Listing,
    Match,
    QuestionError,
    answer_card,
    browse_chapter,
    browse_factsheets,
    browse_section,
    browse_top,
    challenge_card,
    clean_question,
    decode_matches,
    encode_matches,
    entry_by_key,
    entry_key,
    entry_parent,
    find_matches,
    get_practice_index,
    matches_listing,
    no_match_text,
    unwritten_match_text,
)
from bot.practices.catalogue import Catalogue, Entry
from bot.unread_answers import unread
from handlers.common import RouterTemplate, SmallIndex
from storage.models import Person

if TYPE_CHECKING:  # the search itself is imported with the first question
    from bot.practices.search import PracticeIndex

log = logging.getLogger(__name__)
router = RouterTemplate("practices")

ANSWERS_KEPT = 20  # questions per chat whose buttons keep working
WORDS_TO_TELL_LANGUAGE = 3  # a shorter question is answered in the reader's language
ANSWERS_FIELD = "practice_answers"
ENTRIES_PER_ROW = 3


class AskCb(CallbackData, prefix="pq"):
    action: str  # "a": answer card of match `rank` from practice `start`; "o": list of matches
    token: str
    rank: SmallIndex = 0
    start: SmallIndex = 0


class EntryCb(CallbackData, prefix="pe"):
    key: str  # bot.practices.answers.entry_key
    start: SmallIndex = 0


class BrowseCb(CallbackData, prefix="pb"):
    level: str  # top, chapter, section, factsheets
    ref: str = ""
    new: bool = False  # send a new message instead of editing the pressed one


# -- the matches of a question, per chat -----------------------------------------------------

def _answers_key(bot: Bot, chat_id: int) -> StorageKey:
    # Per chat (anyone in a group may press the buttons), under user id 0, which no Telegram
    # user has: the data never mixes with a person's own flow in the same chat.
    return StorageKey(bot_id=bot.id, chat_id=chat_id, user_id=0)


async def _remember(storage: BaseStorage, key: StorageKey, matches: Sequence[Match],
                    lang: str | None = None) -> str:
    """A token for the matches of a question, and the language its answer was written in when
    that is not the reader's (the buttons under it keep to it)."""
    token = secrets.token_urlsafe(6)
    answers = dict((await storage.get_data(key)).get(ANSWERS_FIELD) or {})
    answers[token] = {"m": encode_matches(matches), "l": lang}
    while len(answers) > ANSWERS_KEPT:
        answers.pop(next(iter(answers)))
    await storage.update_data(key, {ANSWERS_FIELD: answers})
    return token


async def _recall(storage: BaseStorage, key: StorageKey,
                  token: str) -> tuple[list[Match], str | None]:
    """The matches remembered under `token` and the language of their answer (None: the
    reader's); a plain list is the matches as stored before the language was kept."""
    answers = (await storage.get_data(key)).get(ANSWERS_FIELD) or {}
    found = answers.get(token) if isinstance(answers, dict) else None
    if isinstance(found, dict):
        lang = found.get("l")
        return decode_matches(found.get("m")), lang if lang in LANGUAGES else None
    return decode_matches(found), None


# -- keyboards -----------------------------------------------------------------------------------

def _button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def _browse_data(entry: Entry, *, new: bool) -> BrowseCb:
    level, ref = entry_parent(entry)
    return BrowseCb(level=level, ref=ref, new=new)


def _answer_keyboard(catalogue: Catalogue, card: Card, token: str, rank: int,
                     matches: Sequence[Match]) -> InlineKeyboardMarkup:
    rows = []
    if card.next_start is not None:
        rows.append([_button(_("More practices"),
                             AskCb(action="a", token=token, rank=rank, start=card.next_start))])
    row = []
    if len(matches) > 1:
        row.append(_button(_("Other matches"), AskCb(action="o", token=token)))
    entry = catalogue.get(card.entry_id)
    if entry is not None:
        row.append(_button(_("Browse"), _browse_data(entry, new=True)))
    rows.append(row)
    return InlineKeyboardMarkup(inline_keyboard=[r for r in rows if r])


def _rows(buttons: list[InlineKeyboardButton], per_row: int) -> list[list[InlineKeyboardButton]]:
    return [buttons[i:i + per_row] for i in range(0, len(buttons), per_row)]


def _listing_keyboard(listing: Listing, token: str = "") -> InlineKeyboardMarkup:
    buttons = []
    for choice in listing.choices:
        if choice.level == "entry":
            data: CallbackData = EntryCb(key=choice.ref)
        elif choice.level == "rank":
            data = AskCb(action="a", token=token, rank=int(choice.ref))
        else:
            data = BrowseCb(level=choice.level, ref=choice.ref)
        buttons.append(_button(choice.label, data))
    short = all(c.level in ("entry", "rank") for c in listing.choices)
    rows = _rows(buttons, ENTRIES_PER_ROW if short else 1)
    if listing.parent is not None:
        level, ref = listing.parent
        rows.append([_button(_("Back"), BrowseCb(level=level, ref=ref))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _entry_keyboard(catalogue: Catalogue, entry: Entry, card: Card) -> InlineKeyboardMarkup:
    rows = []
    if card.next_start is not None:
        rows.append([_button(_("More practices"),
                             EntryCb(key=entry_key(entry.id), start=card.next_start))])
    related = [_button(r.id, EntryCb(key=entry_key(r.id))) for r in catalogue.related(entry.id)]
    rows += _rows(related, ENTRIES_PER_ROW)
    rows.append([_button(_("Back"), _browse_data(entry, new=False))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


# -- shared steps ----------------------------------------------------------------------------

def _unavailable_text() -> str:
    return _("The good-practice catalogue is not available right now. Please try again later.")


INDEX_CACHE = "cache"  # under the data directory: the search index, keyed by catalogue content


async def _catalogue_index(settings: Settings) -> PracticeIndex | None:
    try:
        return await get_practice_index(settings.catalogue_dirs,
                                        settings.data_dir / INDEX_CACHE)
    except CatalogueUnavailable as exc:
        log.error("the practice catalogue has %d error(s): run `wgbot catalogue check`",
                  exc.errors)
        return None


async def _invalid(query: CallbackQuery) -> None:
    await query.answer(_("This button is not valid any more."), show_alert=True)


async def _show(message: Message, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Replace the pressed message's text and buttons (a new message if it cannot be edited)."""
    try:
        await message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as exc:
        if "not modified" not in str(exc):
            await message.answer(text, reply_markup=markup)


def _ask_hint(private: bool) -> str:
    example = _("/ask what should we do if the police arrest protesters?")
    if private:
        return _("Ask me what good practice says about a situation: write your question here, "
                 "or send it after /ask. For example:\n{example}").format(example=example)
    return _("Write your question after the command. For example:\n{example}").format(
        example=example)


def _question_error_text(code: str, private: bool) -> str:
    if code == "long":
        return _("That question is too long: at most {max} characters, please.").format(
            max=QUESTION_MAX)
    return _ask_hint(private)


# -- questions -----------------------------------------------------------------------------------

async def _decline(send: Callable[..., Awaitable[Message]], index: PracticeIndex, question: str,
                   locale: str, asked: bool) -> None:
    """Nothing written answers the question: say so, with browsing; when an entry whose practices
    are not written is what it is about, name it and offer its summary."""
    rows = [[_button(_("Browse"), BrowseCb(level="top", new=True))]]
    unwritten = index.unwritten_match(question, locale)
    if unwritten is None:
        text = no_match_text(locale, asked=asked)
    else:
        text = unwritten_match_text(index.catalogue, unwritten, locale)
        rows.insert(0, [_button(_("Read what it is about"),
                                EntryCb(key=entry_key(unwritten)))])
    await unread(send(text, reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)))


async def _answer_question(message: Message, text: str | None, *, bot: Bot, settings: Settings,
                           locale: str, storage: BaseStorage, person: Person | None,
                           asked: bool = True) -> None:
    private = message.chat.type == "private"
    send = message.answer if private else message.reply
    try:
        question = clean_question(text)
    except QuestionError as err:
        await send(_question_error_text(err.code, private))
        return
    index = await _catalogue_index(settings)
    if index is None:
        await send(_unavailable_text())
        return
    written_in = locale
    if (private and (person is None or person.language is None)
            and len(question.split()) >= WORDS_TO_TELL_LANGUAGE):
        # No language chosen: the app's says little (Telegram has no Swahili or Lingala app),
        # a question of a few words says more. In a group the group's language stays.
        written_in = index.written_in(question, locale)
    matches = find_matches(index, question, written_in)
    if not matches:  # a question the catalogue does not answer is declined in the reader's
        written_in = locale
    with get_i18n().use_locale(written_in):
        card = answer_card(index.catalogue, matches[0], written_in) if matches else None
        if card is None:
            await _decline(send, index, question, written_in, asked)
            return
        token = await _remember(storage, _answers_key(bot, message.chat.id), matches,
                                written_in if written_in != locale else None)
        await unread(send(card.text, reply_markup=_answer_keyboard(index.catalogue, card, token,
                                                                   0, matches)))


@router.message(Command("ask"))
async def ask_command(message: Message, command: CommandObject, bot: Bot, settings: Settings,
                      locale: str, fsm_storage: BaseStorage, person: Person | None) -> None:
    text = command.args
    replied = message.reply_to_message
    if (not text and replied is not None and replied.text and not replied.text.startswith("/")
            and not (replied.from_user and replied.from_user.is_bot)):
        text = replied.text  # "/ask" in reply to someone's message asks that message
    await _answer_question(message, text, bot=bot, settings=settings, locale=locale,
                           storage=fsm_storage, person=person)


@router.message(StateFilter(None), F.chat.type == "private", F.text, ~F.text.startswith("/"))
async def free_text_question(message: Message, bot: Bot, settings: Settings, locale: str,
                             fsm_storage: BaseStorage, person: Person | None) -> None:
    await _answer_question(message, message.text, bot=bot, settings=settings, locale=locale,
                           storage=fsm_storage, person=person, asked=False)


async def _pressed(query: CallbackQuery,
                   settings: Settings) -> tuple[Message, PracticeIndex] | None:
    """The pressed message and the index, or None after telling the user why not."""
    message = query.message
    if not isinstance(message, Message):
        await _invalid(query)
        return None
    index = await _catalogue_index(settings)
    if index is None:
        await query.answer(_unavailable_text(), show_alert=True)
        return None
    return message, index


@router.callback_query(AskCb.filter())
async def answer_pressed(query: CallbackQuery, callback_data: AskCb, bot: Bot,
                         settings: Settings, locale: str, fsm_storage: BaseStorage) -> None:
    pressed = await _pressed(query, settings)
    if pressed is None:
        return
    message, index = pressed
    token = callback_data.token
    matches, written_in = await _recall(fsm_storage, _answers_key(bot, message.chat.id), token)
    with get_i18n().use_locale(written_in or locale):
        await _show_pressed(query, message, index, callback_data, matches, written_in or locale)


async def _show_pressed(query: CallbackQuery, message: Message, index: PracticeIndex,
                        callback_data: AskCb, matches: list[Match], locale: str) -> None:
    token = callback_data.token
    if callback_data.action == "o" and len(matches) > 1:
        listing = matches_listing(index.catalogue, matches, locale)
        await _show(message, listing.text, _listing_keyboard(listing, token))
        await query.answer()
        return
    rank = callback_data.rank
    card = None
    if callback_data.action == "a" and 0 <= rank < len(matches):
        card = answer_card(index.catalogue, matches[rank], locale, callback_data.start)
    if card is None:
        await _invalid(query)
        return
    await _show(message, card.text,
                _answer_keyboard(index.catalogue, card, token, rank, matches))
    await query.answer()


# -- browsing ----------------------------------------------------------------------------------

def _listing(catalogue: Catalogue, level: str, ref: str, locale: str) -> Listing | None:
    if level == "top":
        return browse_top(catalogue, locale)
    if level == "chapter":
        return browse_chapter(catalogue, int(ref), locale) if ref.isdecimal() else None
    if level == "section":
        return browse_section(catalogue, ref, locale)
    if level == "factsheets":
        return browse_factsheets(catalogue, locale)
    return None


@router.message(Command("practices"))
async def practices_command(message: Message, settings: Settings, locale: str) -> None:
    index = await _catalogue_index(settings)
    if index is None:
        await message.answer(_unavailable_text())
        return
    listing = browse_top(index.catalogue, locale)
    await message.answer(listing.text, reply_markup=_listing_keyboard(listing))


@router.callback_query(BrowseCb.filter())
async def browse_pressed(query: CallbackQuery, callback_data: BrowseCb, settings: Settings,
                         locale: str) -> None:
    pressed = await _pressed(query, settings)
    if pressed is None:
        return
    message, index = pressed
    listing = _listing(index.catalogue, callback_data.level, callback_data.ref, locale)
    if listing is None:
        await _invalid(query)
        return
    if callback_data.new:
        await message.answer(listing.text, reply_markup=_listing_keyboard(listing))
    else:
        await _show(message, listing.text, _listing_keyboard(listing))
    await query.answer()


@router.callback_query(EntryCb.filter())
async def entry_pressed(query: CallbackQuery, callback_data: EntryCb, settings: Settings,
                        locale: str) -> None:
    pressed = await _pressed(query, settings)
    if pressed is None:
        return
    message, index = pressed
    entry = entry_by_key(index.catalogue, callback_data.key)
    card = challenge_card(index.catalogue, entry, locale, callback_data.start) if entry else None
    if entry is None or card is None:
        await _invalid(query)
        return
    await _show(message, card.text, _entry_keyboard(index.catalogue, entry, card))
    await query.answer()

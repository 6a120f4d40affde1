"""Pending prompts and previews, shared by the features that wait for typed text.

A message the bot sends to someone else on a person's behalf (a reply to a reporter, a decline
reason) is first shown to its author as a preview with Send / Edit / Cancel: nothing goes before
Send. A pending prompt says what it waits for and accepts Cancel (its button, /cancel, or the
word "cancel" in any of the five languages). An obvious question typed where a name, an
organisation or a reply is expected is not taken silently: the bot asks whether it is the
answer or a question."""

from __future__ import annotations

import re

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.formatting import escape
from bot.i18n import _
from bot.telegram_text import split_html

# "cancel" as people type it, in en, fr, es, sw and ln (lower case, without the final stop).
CANCEL_WORDS = frozenset({
    "cancel", "annuler", "annule", "annulez", "cancelar", "cancela", "anular",
    "ghairi", "sitisha", "katisha", "futa", "tika", "kotika", "longola",
})

# Words a question begins with, in the five languages (compared in lower case, accents kept).
QUESTION_STARTS = frozenset({
    # English
    "what", "how", "why", "when", "where", "who", "whom", "whose", "which", "should", "can",
    "could", "shall", "is", "are", "do", "does", "did", "will", "would", "may", "must",
    # French
    "que", "quoi", "qu'est-ce", "quest-ce", "comment", "pourquoi", "quand", "où", "ou", "qui",
    "quel", "quelle", "quels", "quelles", "combien", "est-ce", "peut-on", "faut-il", "doit-on",
    "dois-je", "puis-je", "avez-vous",
    # Spanish
    "qué", "cómo", "por", "porqué", "cuándo", "dónde", "quién", "quiénes", "cuál", "cuáles",
    "cuánto", "cuánta", "cuántos", "cuántas", "debemos", "podemos", "puedo", "hay",
    # Swahili
    "je", "nini", "kwa", "vipi", "lini", "wapi", "nani", "gani", "mbona", "tufanye", "tunaweza",
    # Lingala
    "ndenge", "mpo", "boni", "ntango", "tango", "esengeli", "tokoki", "nakoki",
})
_WORD = re.compile(r"[\w'’-]+", re.UNICODE)


class PromptCb(CallbackData, prefix="pr"):
    action: str  # send, edit, cancel, answer, question
    kind: str  # which prompt: reply, decline, org, tz


def is_cancel_word(text: str | None) -> bool:
    """Whether `text` is only the word "cancel" in one of the five languages."""
    return (text or "").strip().strip(".!").strip().lower() in CANCEL_WORDS


def looks_like_question(text: str | None) -> bool:
    """An obvious question: ends with "?" (or Spanish "¿...?") and begins with a question word."""
    text = (text or "").strip()
    if not text.endswith("?"):
        return False
    first = _WORD.search(text.lstrip("¿¡\"'«“ "))
    return first is not None and first.group(0).lower().replace("’", "'") in QUESTION_STARTS


def _button(text: str, action: str, kind: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=PromptCb(action=action, kind=kind).pack())


def cancel_keyboard(kind: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_button(_("Cancel"), "cancel", kind)]])


def preview_keyboard(kind: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[
        _button(_("Send"), "send", kind), _button(_("Edit"), "edit", kind),
        _button(_("Cancel"), "cancel", kind)]])


def question_keyboard(kind: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[
        [_button(_("It is my answer"), "answer", kind)],
        [_button(_("It was a question"), "question", kind)],
        [_button(_("Cancel"), "cancel", kind)]])


async def ask_for(message: Message, text: str, kind: str) -> Message:
    """A prompt that says what it waits for, with a Cancel button (a private chat's prompt)."""
    way_out = _("Or press Cancel.")
    return await message.answer(f"{text}\n{way_out}", reply_markup=cancel_keyboard(kind))


async def show_preview(message: Message, heading: str, text: str, kind: str) -> Message:
    """The preview of a message to be sent on the author's behalf: nothing goes before Send."""
    parts = split_html(f"{heading}\n\n<blockquote>{escape(text)}</blockquote>\n\n"
                       + _("Nothing is sent until you press Send."))
    for part in parts[:-1]:  # a long text is shown whole, in as many messages as it takes
        await message.answer(part)
    return await message.answer(parts[-1], reply_markup=preview_keyboard(kind))


async def preview_pressed(query: CallbackQuery, state: FSMContext, action: str,
                          valid: bool) -> Message | None:
    """What every preview's buttons share: a stale button (not `valid`, or its message gone) is
    refused with an alert, and Cancel clears the state, drops the keyboard and says nothing was
    sent. Returns the preview's message for the feature to handle Send and Edit, None when the
    press is already answered."""
    message = query.message
    if not valid or not isinstance(message, Message):
        await query.answer(_("This button is not valid any more."), show_alert=True)
        return None
    if action != "cancel":
        return message
    await state.clear()
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(cancelled_text())
    return None


async def ask_answer_or_question(message: Message, kind: str) -> Message:
    return await message.answer(
        _("This looks like a question. Is it your answer to what I asked, or a question?"),
        reply_markup=question_keyboard(kind))


def question_hint() -> str:
    """What the bot says when the text was a question, not the awaited answer."""
    return _("Nothing was saved or sent. To ask the good-practice guide, send /ask followed by "
             "your question. I am still waiting for your answer, or press Cancel.")


def cancelled_text() -> str:
    return _("Cancelled. Nothing was sent.")

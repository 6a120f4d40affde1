"""/decline N REASON: the reason goes to the proposer, so it is shown first as a preview with
Send / Edit / Cancel (handlers/prompts.py); without a reason the item is declined at once."""

from __future__ import annotations

from aiogram import F
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.scheduler import Ticker
from bot.i18n import _, translate
from bot.services import agenda
from handlers.agenda import error_text
from handlers.calendar import now_of
from handlers.common import RouterTemplate, ask
from handlers.prompts import (
    PromptCb,
    cancelled_text,
    is_cancel_word,
    preview_pressed,
    show_preview,
)
from storage.models import Person

router = RouterTemplate("agenda_decline")


class DeclineForm(StatesGroup):
    preview = State()  # the reason is shown; nothing goes before Send
    reason = State()  # waiting for the new text of the reason (Edit)


async def _preview(message: Message, state: FSMContext, number: int, reason: str) -> None:
    await state.set_state(DeclineForm.preview)
    sent = await show_preview(message, _("The proposer of agenda item #{number} will be told it "
                                         "is declined, with this reason:").format(number=number),
                              reason, "decline")
    await state.set_data({"item": number, "reason": reason, "preview": sent.message_id})


@router.message(Command("decline"))
async def decline(
    message: Message, command: CommandObject, session: AsyncSession, person: Person | None,
    locale: str, ticker: Ticker, state: FSMContext,
) -> None:
    number, _sep, reason = (command.args or "").strip().lstrip("#").partition(" ")
    if not number.isdecimal() or len(number) > 9:
        await message.answer(translate("Usage: /decline N REASON", locale))
        return
    reason = " ".join(reason.split())
    try:
        item, group = await agenda.item_for_secretariat(session, int(number), person)
        if reason:
            if item.status == "declined":
                raise agenda.AgendaError("already")
            if len(reason) > agenda.TEXT_MAX:
                raise agenda.AgendaError("text_long", max=agenda.TEXT_MAX)
        else:
            await agenda.review(session, item, group, "decline", now_of(ticker))
    except agenda.AgendaError as err:
        await message.answer(error_text(err.code, locale, **err.params))
        return
    if reason:
        await _preview(message, state, item.id, reason)
        return
    await message.answer(translate("Declined; the proposer is told.", locale))


@router.message(Command("cancel"), StateFilter(DeclineForm))
@router.message(StateFilter(DeclineForm), F.text.func(is_cancel_word))
async def cancel(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(cancelled_text())


@router.message(DeclineForm.reason, F.text, ~F.text.startswith("/"))
async def new_reason(message: Message, state: FSMContext, locale: str) -> None:
    reason = " ".join((message.text or "").split())
    if len(reason) > agenda.TEXT_MAX:
        await message.answer(error_text("text_long", locale, max=agenda.TEXT_MAX))
        return
    await _preview(message, state, int((await state.get_data()).get("item") or 0), reason)


@router.callback_query(PromptCb.filter(F.kind == "decline"))
async def decline_pressed(
    query: CallbackQuery, callback_data: PromptCb, session: AsyncSession, person: Person | None,
    locale: str, ticker: Ticker, state: FSMContext,
) -> None:
    action = callback_data.action
    data, current = await state.get_data(), await state.get_state()
    valid = isinstance(query.message, Message) and current == DeclineForm.preview.state and (
        action in ("send", "edit", "cancel") and data.get("preview") == query.message.message_id)
    message = await preview_pressed(query, state, action, valid)
    if message is None:
        return
    if action == "edit":
        await state.set_state(DeclineForm.reason)
        await query.answer()
        await message.edit_reply_markup(reply_markup=None)
        await ask(message, _("Send the new reason for declining item #{number}.").format(
            number=data.get("item")), query.from_user)
        return
    try:
        item, group = await agenda.item_for_secretariat(session, int(data.get("item") or 0),
                                                        person)
        await agenda.review(session, item, group, "decline", now_of(ticker),
                            str(data.get("reason") or ""))
    except agenda.AgendaError as err:
        await state.clear()
        await query.answer(error_text(err.code, locale, **err.params)[:200], show_alert=True)
        return
    await query.answer()  # commits first: a failed commit confirms nothing
    await state.clear()
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(translate("Declined; the proposer is told.", locale))

"""/monthly [YYYY-MM] and /monthly settings (the secretariat's monthly security status report,
only in a private chat), /engagement ORGANISATION [YEAR] (a company's engagement report), and
the outbox renderer of the automatic report."""

from __future__ import annotations

import logging
import re
from datetime import date, datetime
from typing import Annotated

from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from pydantic import Field
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.scheduler import Ticker
from bot.delivery.worker import Rendered, renderer
from bot.formatting import escape, fill
from bot.i18n import N_, translate
from bot.services import monthly
from bot.services.groups import get_membership, is_secretariat
from bot.services.monthly_render import (
    csv_zip,
    engagement_files,
    file_stem,
    month_label,
    monthly_files,
    monthly_pdf,
    monthly_tables,
)
from bot.services.people import ORGANISATION_MAX
from bot.services.reminders import person_locale
from bot.services.reports import secretariat_groups
from handlers.calendar import now_of
from handlers.common import RouterTemplate, RowId, edit_in_place
from storage.models import OutboxMessage, Person, Pillar, WorkingGroup

log = logging.getLogger(__name__)
router = RouterTemplate("monthly")
YEAR = re.compile(r"^(19|20)\d\d$")
Month = Annotated[int, Field(ge=0, le=999912)]


class MonthlyCb(CallbackData, prefix="mo"):
    a: str  # rep (make the report), set (show settings), on, off, who (toggle a recipient)
    g: RowId
    m: Month = 0  # YYYYMM for rep
    p: RowId = 0  # person for who


def error_text(code: str, locale: str, **params: object) -> str:
    texts = {
        "bad_month": N_("Write the month as YYYY-MM, for example /monthly 2026-11."),
        "future_month": N_("That month has not begun yet."),
        "not_secretariat": N_("Only the secretariat of a working group can do that."),
        "private": N_("The monthly report is only sent in a private chat with me."),
        "gone": N_("This button is not valid any more."),
        "no_recipient": N_("At least one member of the secretariat must receive the report."),
        "engagement_usage": N_("Usage: /engagement ORGANISATION [YEAR], for example "
                               "/engagement Banro Mining 2026."),
        "unknown_organisation": N_("No member of a working group gives \"{name}\" as their "
                                   "organisation in /profile."),
        "engagement_refused": N_("Only the secretariat, or a company representative for their "
                                 "own organisation (see /profile), can have this report."),
        "bad_year": N_("The year must be between 2000 and this year."),
    }
    return fill(translate(texts.get(code, N_("That did not work.")), locale), **params)


def _button(text: str, **data) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=MonthlyCb(**data).pack())


async def _documents(message: Message, files, caption: str) -> None:
    (pdf_name, pdf), (zip_name, archive) = files
    await message.answer_document(BufferedInputFile(pdf, filename=pdf_name), caption=caption)
    await message.answer_document(BufferedInputFile(archive, filename=zip_name))


async def _send_report(message: Message, session: AsyncSession, group: WorkingGroup,
                       month: date, now: datetime, locale: str) -> None:
    report = await monthly.build_report(session, group, month, now)
    files = monthly_files(report, group.language)
    caption = translate("Monthly security status report of {group}, {month}.", locale,
                        group=escape(group.name), month=month_label(month, locale))
    await _documents(message, files, caption)


async def _allowed(session: AsyncSession, person: Person | None, group_id: int
                   ) -> WorkingGroup | None:
    group = await session.get(WorkingGroup, group_id)
    if group is None or person is None:
        return None
    return group if is_secretariat(await get_membership(session, group, person)) else None


@router.message(Command("monthly"))
async def monthly_command(message: Message, command: CommandObject, session: AsyncSession,
                          person: Person | None, ticker: Ticker, locale: str) -> None:
    if message.chat.type != "private":
        await message.answer(error_text("private", locale))
        return
    groups = await secretariat_groups(session, person) if person is not None else []
    if not groups:
        await message.answer(error_text("not_secretariat", locale))
        return
    now = now_of(ticker)
    args = (command.args or "").strip()
    if args.lower() in ("settings", "setting", "réglages", "mipangilio", "ajustes"):
        if len(groups) == 1:
            text, markup = await settings_view(session, groups[0], now, locale)
            await message.answer(text, reply_markup=markup)
            return
        rows = [[_button(g.name, a="set", g=g.id)] for g in groups]
        await message.answer(translate("Monthly report settings of which group?", locale),
                             reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))
        return
    try:
        months = {g.id: monthly.parse_month(args, now, g.timezone) for g in groups}
    except monthly.MonthlyError as err:
        await message.answer(error_text(err.code, locale))
        return
    if len(groups) == 1:
        await _send_report(message, session, groups[0], months[groups[0].id], now, locale)
        return
    rows = [[_button(g.name, a="rep", g=g.id, m=months[g.id].year * 100 + months[g.id].month)]
            for g in groups]
    await message.answer(translate("The monthly report of which group?", locale),
                         reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))


async def settings_view(session: AsyncSession, group: WorkingGroup, now: datetime, locale: str
                        ) -> tuple[str, InlineKeyboardMarkup]:
    settings = await monthly.get_settings(session, group)
    people = await monthly.secretariat(session, group)
    chosen = [p for p in people if monthly.receives(settings, p.id)]
    names = ", ".join(escape(p.full_name or p.username or "?") for p in chosen)
    lines = [translate("<b>Monthly security status report of {group}</b>", locale,
                       group=escape(group.name))]
    if settings.enabled:
        lines.append(translate("Sent automatically on the first working day of each month at "
                               "08:00 ({zone}), privately, to: {names}.", locale,
                               zone=escape(group.timezone), names=names))
    else:
        lines.append(translate("Not sent automatically. /monthly makes it at any time.", locale))
    lines.append(translate("Tap a name to add or remove a recipient.", locale))
    rows = [[_button(translate("Turn the automatic report off", locale) if settings.enabled
                     else translate("Turn the automatic report on", locale),
                     a="off" if settings.enabled else "on", g=group.id)]]
    rows += [[_button(("✅ " if p in chosen else "▫️ ") + (p.full_name or p.username or "?"),
                      a="who", g=group.id, p=p.id)] for p in people]
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


@router.callback_query(MonthlyCb.filter())
async def monthly_pressed(query: CallbackQuery, callback_data: MonthlyCb,
                          session: AsyncSession, person: Person | None, ticker: Ticker,
                          locale: str) -> None:
    group = await _allowed(session, person, callback_data.g)
    message = query.message
    if group is None or not isinstance(message, Message) or message.chat.type != "private":
        await query.answer(error_text("not_secretariat", locale)[:200], show_alert=True)
        return
    now = now_of(ticker)
    if callback_data.a == "rep":
        year, month = divmod(callback_data.m, 100)
        try:
            first = monthly.parse_month(f"{year:04d}-{month:02d}", now, group.timezone)
        except monthly.MonthlyError as err:
            await query.answer(error_text(err.code, locale)[:200], show_alert=True)
            return
        await query.answer()
        await _send_report(message, session, group, first, now, locale)
        return
    if callback_data.a in ("on", "off"):
        settings = await monthly.get_settings(session, group)
        settings.enabled = callback_data.a == "on"
        await monthly.save_settings(session, settings, now)
    elif callback_data.a == "who":
        try:
            await monthly.toggle_recipient(session, group, callback_data.p, now)
        except monthly.MonthlyError as err:
            await query.answer(error_text(err.code, locale)[:200], show_alert=True)
            return
    elif callback_data.a != "set":
        await query.answer(error_text("gone", locale)[:200], show_alert=True)
        return
    await query.answer()
    text, markup = await settings_view(session, group, now, locale)
    if callback_data.a == "set":
        await message.answer(text, reply_markup=markup)
    else:
        await edit_in_place(message, text, markup)


# -- /engagement ------------------------------------------------------------------------------
def split_year(args: str, this_year: int) -> tuple[str, int]:
    words = args.split()
    if len(words) > 1 and YEAR.match(words[-1]):
        year = int(words[-1])
        if not 2000 <= year <= this_year:
            raise monthly.MonthlyError("bad_year")
        return " ".join(words[:-1]), year
    return " ".join(words), this_year


@router.message(Command("engagement"))
async def engagement_command(message: Message, command: CommandObject, session: AsyncSession,
                             person: Person | None, ticker: Ticker, locale: str) -> None:
    if message.chat.type != "private":
        await message.answer(translate("The engagement report is only sent in a private chat "
                                       "with me.", locale))
        return
    now = now_of(ticker)
    try:
        organisation, year = split_year(command.args or "", now.year)
    except monthly.MonthlyError as err:
        await message.answer(error_text(err.code, locale))
        return
    if not organisation:
        await message.answer(error_text("engagement_usage", locale))
        return
    people, groups, name = await monthly.organisation_groups(session, organisation)
    own = (person is not None and person.pillar == Pillar.COMPANY.value
           and monthly.same_organisation(person.organisation, organisation))
    if not own:
        mine = {g.id for g in await secretariat_groups(session, person)} if person else set()
        groups = [g for g in groups if g.id in mine]
        if not groups and not mine:
            await message.answer(error_text("engagement_refused", locale))
            return
    if not people or not groups:
        shown = organisation if len(organisation) <= ORGANISATION_MAX else (
            organisation[:ORGANISATION_MAX] + "…")  # no organisation in /profile is longer
        await message.answer(error_text("unknown_organisation", locale, name=escape(shown)))
        return
    report = await monthly.build_engagement(session, name, year, groups, people, now)
    caption = translate("Engagement of {organisation} in {count} working group(s), {year}.",
                        locale, organisation=escape(report.organisation), count=len(groups),
                        year=year)
    await _documents(message, engagement_files(report, locale), caption)


# -- the automatic report -----------------------------------------------------------------------
@renderer(monthly.KIND)
async def render_monthly(session: AsyncSession, row: OutboxMessage, now: datetime
                         ) -> Rendered | None:
    payload = row.payload
    group = await session.get(WorkingGroup, payload["group"])
    person = await session.get(Person, payload["person"])
    if group is None or person is None:
        return None
    settings = await monthly.get_settings(session, group)
    if (not settings.enabled or not monthly.receives(settings, person.id)
            or not is_secretariat(await get_membership(session, group, person))):
        return None
    year, month = (int(p) for p in payload["month"].split("-"))
    first = date(year, month, 1)
    report = await monthly.build_report(session, group, first, now)
    stem = f"{file_stem(group.name)}_{first:%Y-%m}"
    locale = person_locale(person, group)
    if payload["part"] == "pdf":
        text = translate("Monthly security status report of {group}, {month}.", locale,
                         group=escape(group.name), month=month_label(first, locale))
        return Rendered(text, document=(f"{stem}.pdf", monthly_pdf(report, group.language)))
    tables = csv_zip(monthly_tables(report, group.language), stem)
    return Rendered(translate("Its tables, as CSV files.", locale),
                    document=(f"{stem}_tables.zip", tables))

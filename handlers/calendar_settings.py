"""/settings reminders|quorum (the group's calendar settings), /mute and /unmute (a person's
private reminders)."""

from __future__ import annotations

from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.scheduler import Ticker
from bot.i18n import _
from bot.services import calendar as cal
from bot.services import reminders, words
from bot.services.groups import groups_of, is_secretariat
from handlers.calendar import error_text, now_of
from handlers.common import RouterTemplate, pillar_label, require_registered
from storage.models import Membership, Person, WorkingGroup

router = RouterTemplate("calendar_settings")



def _settings_summary(settings, locale: str) -> str:
    offsets = reminders.format_offsets(settings.reminder_offsets, locale) or "-"
    lines = [_("Reminders before each meeting: {offsets}").format(offsets=offsets)]
    if settings.quorum_min or settings.quorum_pillars:
        pillars = ", ".join(pillar_label(p) for p in settings.quorum_pillars) or "-"
        lines.append(_("Quorum: at least {minimum} confirmed; pillars required: {pillars}").format(
            minimum=settings.quorum_min or 0, pillars=pillars))
    else:
        lines.append(_("Quorum: none"))
    lines.append("")
    lines.append(_("Change with /settings reminders 3d 1d 2h (or off), /settings quorum 5 "
                   "company civil_society community (or off)."))
    return "\n".join(lines)


@router.message(Command("settings"))
async def calendar_settings(
    message: Message, command: CommandObject, session: AsyncSession, group: WorkingGroup | None,
    membership: Membership | None, locale: str, ticker: Ticker,
) -> None:
    if not await require_registered(message, group):
        return
    settings = await cal.get_settings(session, group)
    args = (command.args or "").split()
    if not args:
        await message.answer(_settings_summary(settings, locale))
        return
    if not is_secretariat(membership):
        await message.answer(_("Only the secretariat can change the settings."))
        return
    # Topic, "off" and pillar names are read in every language (`/settings rappels 3 j 2 h`).
    topic, rest = words.topic(args[0]), args[1:]
    off = len(rest) == 1 and words.is_off(rest[0])
    try:
        if topic == "reminders":
            offsets = [] if off else reminders.parse_offsets(" ".join(rest))
            settings.reminder_offsets = offsets
            await cal.save_settings(session, settings)
            await reminders.sync_group(session, group, now_of(ticker))
        elif topic == "quorum":
            if off or not rest:
                settings = await cal.set_quorum(session, group, None, [])
            else:
                number = next((w for w in rest if w.isdecimal()), None)
                pillars = [words.pillar_code(w.lower()) for w in rest if not w.isdecimal()]
                settings = await cal.set_quorum(session, group, int(number) if number else None,
                                                pillars)
        else:
            await message.answer(_settings_summary(settings, locale))
            return
    except (reminders.OffsetError, cal.CalendarError) as err:
        params = dict(err.params)
        if err.code == "quorum_pillar":
            params["pillars"] = words.pillar_words(locale)
        await message.answer(error_text(err.code, **params))
        return
    await message.answer(_("Saved.") + "\n" + _settings_summary(settings, locale))


@router.message(Command("mute"))
async def mute(message: Message, session: AsyncSession, person: Person | None,
               ticker: Ticker) -> None:
    if person is None:
        return
    await cal.set_muted(session, person, True)
    await _resync_person(session, person, ticker)
    await message.answer(_("Private reminders are off. Send /unmute to turn them back on."))


@router.message(Command("unmute"))
async def unmute(message: Message, session: AsyncSession, person: Person | None,
                 ticker: Ticker) -> None:
    if person is None:
        return
    await cal.set_muted(session, person, False)
    await _resync_person(session, person, ticker)
    await message.answer(_("Private reminders are on again."))


async def _resync_person(session: AsyncSession, person: Person, ticker: Ticker) -> None:
    now = now_of(ticker)
    for group, _membership in await groups_of(session, person):
        await reminders.sync_group(session, group, now)

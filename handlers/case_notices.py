"""The notices the secretariat gets about concern reports through the outbox (never with
content, never in a group)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import LANGUAGES
from bot.delivery.worker import Rendered, renderer
from bot.formatting import escape
from bot.i18n import pick_locale, translate
from bot.services.groups import is_secretariat
from bot.services.report_crypto import ReportCipher
from bot.services.reports import (
    KIND_DIGEST,
    KIND_REMINDER,
    KIND_RETENTION,
    KIND_URGENT,
    closing_soon,
    group_counts,
    today_of,
)
from handlers.report_texts import day_text
from storage.models import OutboxMessage, Person, WorkingGroup


async def _recipient(session: AsyncSession, row: OutboxMessage
                     ) -> tuple[Person, WorkingGroup, str] | None:
    person = (await session.exec(select(Person).where(
        Person.telegram_id == row.chat_id))).first()
    group = await session.get(WorkingGroup, int(row.payload.get("group_id", 0)))
    if person is None or group is None:
        return None
    from bot.services.groups import get_membership

    if not is_secretariat(await get_membership(session, group, person)):
        return None  # no longer in the secretariat
    locale = pick_locale(person.language, person.telegram_language, group.language)
    return person, group, locale if locale in LANGUAGES else "en"


def _cipher_or_none() -> ReportCipher | None:
    from bot.services.report_crypto import ReportKeyError, get_cipher

    try:
        return get_cipher()
    except ReportKeyError:
        return None


@renderer(KIND_DIGEST)
@renderer(KIND_URGENT)
@renderer(KIND_REMINDER)
async def render_notice(session: AsyncSession, row: OutboxMessage, now: datetime
                        ) -> Rendered | None:
    found = await _recipient(session, row)
    if found is None:
        return None
    _person, group, locale = found
    counts = await group_counts(session, _cipher_or_none(), group.id, today_of(now))
    name = escape(group.name)
    if row.kind == KIND_URGENT:
        head = translate("<b>Urgent concern report</b> for {group}: someone may be injured or "
                         "in danger. Read it now with /reports.", locale, group=name)
    elif row.kind == KIND_REMINDER:
        if not counts.overdue:
            return None
        head = translate("<b>Reminder</b>: {count} concern reports of {group} are past their "
                         "acknowledgement deadline.", locale, count=counts.overdue, group=name)
    else:
        if not counts.unacknowledged and not counts.updated:
            return None
        head = translate("<b>Concern reports</b> for {group}.", locale, group=name)
    body = translate("Waiting for acknowledgement: {waiting}. With new information from the "
                     "reporter: {updated}. Open /reports in this private chat.", locale,
                     waiting=counts.unacknowledged, updated=counts.updated)
    return Rendered(f"{head}\n{body}")


@renderer(KIND_RETENTION)
async def render_retention(session: AsyncSession, row: OutboxMessage, now: datetime
                           ) -> Rendered | None:
    found = await _recipient(session, row)
    if found is None:
        return None
    _person, group, locale = found
    soon = await closing_soon(session, _cipher_or_none(), group.id, today_of(now))
    if not soon:
        return None
    lines = [translate("<b>Closed concern reports of {group} will be deleted</b> at the end of "
                       "their retention period:", locale, group=escape(group.name))]
    lines += [translate("Case #{number}: on {day}", locale, number=case.id,
                        day=day_text(day, locale)) for case, day in soon]
    lines.append(translate("Reopen a case (set another status) to keep it.", locale))
    return Rendered("\n".join(lines))

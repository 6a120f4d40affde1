"""The agenda's messages sent later through the outbox: review requests to the secretariat,
decline notices to proposers, the deadline reminder and the published agenda in the group."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.worker import Rendered, renderer
from bot.formatting import escape, format_when
from bot.i18n import translate
from bot.services import agenda, reminders
from bot.services import calendar as cal
from handlers.agenda import agenda_text, review_keyboard, review_text
from storage.agenda_tables import AgendaItem
from storage.calendar_tables import Meeting
from storage.models import OutboxMessage, Person, WorkingGroup


async def _recipient_locale(session: AsyncSession, row: OutboxMessage,
                            group: WorkingGroup) -> str:
    person_id = row.payload.get("person")
    person = await session.get(Person, person_id) if person_id else None
    return reminders.person_locale(person, group) if person else group.language


@renderer("agenda_review")
async def render_review(session: AsyncSession, row: OutboxMessage, now: datetime
                        ) -> Rendered | None:
    item = await session.get(AgendaItem, row.payload["item"])
    if item is None or item.status != "pending":
        return None
    group = await session.get(WorkingGroup, item.group_id)
    locale = await _recipient_locale(session, row, group)
    text = await review_text(session, item, locale)
    return None if text is None else Rendered(text, review_keyboard(item, locale))


@renderer("agenda_declined")
async def render_declined(session: AsyncSession, row: OutboxMessage, now: datetime
                          ) -> Rendered | None:
    item = await session.get(AgendaItem, row.payload["item"])
    if item is None or item.proposer_id is None:
        return None
    group = await session.get(WorkingGroup, item.group_id)
    proposer = await session.get(Person, item.proposer_id)
    if group is None or proposer is None:
        return None
    locale = reminders.person_locale(proposer, group)
    lines = [translate("Your agenda proposal for {group} was not accepted: «{text}»", locale,
                       group=escape(group.name), text=escape(item.text))]
    if row.payload.get("reason"):
        lines.append(translate("Reason: {reason}", locale, reason=escape(row.payload["reason"])))
    return Rendered("\n".join(lines))


async def _occurrence(session: AsyncSession, row: OutboxMessage, now: datetime
                      ) -> tuple[WorkingGroup, cal.Occurrence] | None:
    meeting = await session.get(Meeting, row.payload["meeting"])
    if meeting is None or meeting.cancelled_at is not None:
        return None
    group = await session.get(WorkingGroup, meeting.group_id)
    try:
        occ = await cal.get_occurrence(session, meeting, row.payload["occurrence"])
    except cal.CalendarError:
        return None
    if group is None or occ.cancelled or occ.start <= now:
        return None
    return group, occ


@renderer("agenda_deadline")
async def render_deadline(session: AsyncSession, row: OutboxMessage, now: datetime
                          ) -> Rendered | None:
    found = await _occurrence(session, row, now)
    if found is None:
        return None
    group, occ = found
    deadline = occ.start - timedelta(hours=await agenda.deadline_hours(session, group))
    locale = group.language
    text = translate("📝 Agenda proposals for {name} close on {when}. Send /propose TEXT here, "
                     "or to me privately to propose without your name.", locale,
                     name=escape(occ.title), when=format_when(deadline, locale, group.timezone))
    return Rendered(text)


@renderer("agenda_publish")
async def render_publication(session: AsyncSession, row: OutboxMessage, now: datetime
                             ) -> Rendered | None:
    found = await _occurrence(session, row, now)
    if found is None:
        return None
    group, occ = found
    text = await agenda_text(session, group, occ, group.language, group.timezone,
                             published=True)
    return Rendered(text, pin=True)

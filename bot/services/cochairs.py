"""Fair co-chair rotation. Each occurrence has slots (by default one company co-chair and one from
civil society or communities); the next candidate of a slot is the eligible member who served
least recently, then with the fewest turns, then in a stable order. Candidates unavailable for a
date, or who declined or did not answer that date's invitation in 48 hours, are skipped and keep
their place. The secretariat can override; the override is recorded. No Telegram here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.outbox import enqueue
from bot.refusals import Refusal
from bot.services import calendar as cal
from bot.services.groups import members
from storage.agenda_tables import CochairMark, CochairSettings, CochairTurn, CochairUnavailable
from storage.calendar_tables import MeetingOccurrence
from storage.database import Database
from storage.models import Membership, Person, Pillar, WorkingGroup

DEFAULT_SLOTS = [[Pillar.COMPANY.value], [Pillar.CIVIL_SOCIETY.value, Pillar.COMMUNITY.value]]
DEFAULT_DAYS_BEFORE = 14
ANSWER_WITHIN = timedelta(hours=48)
SERVING = ("accepted", "override")
HOLDING = ("invited", "accepted", "override")


class CochairError(Refusal):
    """A co-chair operation was refused; see Refusal."""


@dataclass(frozen=True)
class Standing:
    person: Person
    last: int  # epoch of the last occurrence served, -1 when never
    turns: int


async def policy(session: AsyncSession, group: WorkingGroup) -> tuple[list[list[str]], int]:
    settings = await session.get(CochairSettings, group.id)
    if settings is None or not settings.slots:
        return [list(s) for s in DEFAULT_SLOTS], (settings.days_before if settings
                                                  else DEFAULT_DAYS_BEFORE)
    return [list(s) for s in settings.slots], settings.days_before


async def set_policy(session: AsyncSession, group: WorkingGroup, *,
                     slots: list[list[str]] | None = None, days: int | None = None) -> None:
    """Name the pillar sets of the slots (one to four) or the invitation lead time in days."""
    settings = await session.get(CochairSettings, group.id) or CochairSettings(
        group_id=group.id, slots=[list(s) for s in DEFAULT_SLOTS])
    if slots is not None:
        known = {p.value for p in Pillar}
        if not 1 <= len(slots) <= 4 or not all(slots):
            raise CochairError("slots_count")
        unknown = [p for slot in slots for p in slot if p not in known]
        if unknown:
            raise CochairError("pillar", pillar=unknown[0], pillars=", ".join(sorted(known)))
        settings.slots = [list(dict.fromkeys(slot)) for slot in slots]
    if days is not None:
        if not 1 <= days <= 60:
            raise CochairError("days_range")
        settings.days_before = days
    session.add(settings)
    await session.flush()


async def mark(session: AsyncSession, group: WorkingGroup, person: Person) -> None:
    if await session.get(CochairMark, (group.id, person.id)) is None:
        session.add(CochairMark(group_id=group.id, person_id=person.id))
        await session.flush()


async def eligible(session: AsyncSession, group: WorkingGroup, pillars: list[str]) -> list[Person]:
    marked = set((await session.exec(select(CochairMark.person_id).where(
        CochairMark.group_id == group.id))).all())
    return [p for p, _m in await members(session, group)
            if p.pillar in pillars and (p.willing_cochair or p.id in marked)]


async def _served(session: AsyncSession, group: WorkingGroup) -> list[CochairTurn]:
    return list((await session.exec(select(CochairTurn).where(
        CochairTurn.group_id == group.id, col(CochairTurn.status).in_(SERVING)))).all())


async def queue(session: AsyncSession, group: WorkingGroup, pillars: list[str]) -> list[Standing]:
    """The slot's eligible members in turn order: least recently served, fewest turns, id."""
    served = await _served(session, group)
    standings = []
    for person in await eligible(session, group, pillars):
        mine = [t.occurrence for t in served if t.person_id == person.id]
        standings.append(Standing(person, max(mine, default=-1), len(mine)))
    return sorted(standings, key=lambda s: (s.last, s.turns, s.person.id))


async def turns_of(session: AsyncSession, meeting_id: int, occurrence: int) -> list[CochairTurn]:
    return list((await session.exec(select(CochairTurn).where(
        CochairTurn.meeting_id == meeting_id, CochairTurn.occurrence == occurrence,
    ).order_by(CochairTurn.slot, CochairTurn.id))).all())


async def confirmed(session: AsyncSession, occ: cal.Occurrence) -> list[Person]:
    people = []
    for turn in await turns_of(session, occ.meeting.id, occ.key):
        if turn.status in SERVING:
            person = await session.get(Person, turn.person_id)
            if person is not None:
                people.append(person)
    return people


async def _unavailable(session: AsyncSession, occ: cal.Occurrence) -> set[int]:
    return set((await session.exec(select(CochairUnavailable.person_id).where(
        CochairUnavailable.meeting_id == occ.meeting.id,
        CochairUnavailable.occurrence == occ.key))).all())


async def set_unavailable(session: AsyncSession, occ: cal.Occurrence, person: Person) -> None:
    if person.id not in await _unavailable(session, occ):
        session.add(CochairUnavailable(meeting_id=occ.meeting.id, occurrence=occ.key,
                                       person_id=person.id))
    for turn in await turns_of(session, occ.meeting.id, occ.key):
        if turn.person_id == person.id and turn.status == "invited":
            turn.status = "declined"
            session.add(turn)
    await session.flush()


async def fill(session: AsyncSession, group: WorkingGroup, occ: cal.Occurrence,
               now: datetime) -> list[CochairTurn]:
    """Invite the next candidate of every slot that has nobody invited or confirmed."""
    slots, _days = await policy(session, group)
    turns = await turns_of(session, occ.meeting.id, occ.key)
    for turn in turns:
        if turn.status == "invited" and cal.as_utc(turn.invited_at) + ANSWER_WITHIN <= now:
            turn.status = "expired"
            turn.answered_at = now
            session.add(turn)
    skipped = {t.person_id for t in turns} | await _unavailable(session, occ)
    invited = []
    for slot, pillars in enumerate(slots):
        if any(t.slot == slot and t.status in HOLDING for t in turns):
            continue
        candidates = [s for s in await queue(session, group, pillars)
                      if s.person.id not in skipped]
        if not candidates:
            continue
        turn = CochairTurn(group_id=group.id, meeting_id=occ.meeting.id, occurrence=occ.key,
                           slot=slot, person_id=candidates[0].person.id, invited_at=now)
        session.add(turn)
        await session.flush()
        skipped.add(turn.person_id)
        invited.append(turn)
        person = candidates[0].person
        await enqueue(session, key=f"cochair:invite:{turn.id}", kind="cochair_invite",
                      chat_id=person.telegram_id, due_at=now, payload={"turn": turn.id})
    await session.flush()
    return invited


async def answer(session: AsyncSession, turn_id: int, person: Person, accept: bool,
                 now: datetime) -> CochairTurn:
    turn = await session.get(CochairTurn, turn_id)
    if turn is None or turn.person_id != person.id:
        raise CochairError("gone")
    if turn.status != "invited":
        raise CochairError("answered")
    turn.status = "accepted" if accept else "declined"
    turn.answered_at = now
    session.add(turn)
    await session.flush()
    await _announce_if_complete(session, turn, now)
    return turn


async def _announce_if_complete(session: AsyncSession, turn: CochairTurn, now: datetime) -> None:
    group = await session.get(WorkingGroup, turn.group_id)
    slots, _days = await policy(session, group)
    turns = await turns_of(session, turn.meeting_id, turn.occurrence)
    if all(any(t.slot == s and t.status in SERVING for t in turns) for s in range(len(slots))):
        await enqueue(session, key=f"cochair:announce:{turn.meeting_id}:{turn.occurrence}",
                      kind="cochair_announce", chat_id=group.chat_id, due_at=now,
                      payload={"meeting": turn.meeting_id, "occurrence": turn.occurrence})


async def override(session: AsyncSession, group: WorkingGroup, occ: cal.Occurrence,
                   people: list[Person], by: Person, now: datetime) -> list[CochairTurn]:
    """The secretariat names the co-chairs of one date; earlier turns are kept as replaced."""
    if not people or len(people) > 4 or len({p.id for p in people}) != len(people):
        raise CochairError("override_count")
    for person in people:
        if not await cal.is_member(session, group, person):
            raise CochairError("not_member", name=person.full_name)
    for turn in await turns_of(session, occ.meeting.id, occ.key):
        if turn.status in HOLDING:
            turn.status = "replaced"
            session.add(turn)
    made = []
    for slot, person in enumerate(people):
        turn = CochairTurn(group_id=group.id, meeting_id=occ.meeting.id, occurrence=occ.key,
                           slot=slot, person_id=person.id, status="override", invited_at=now,
                           answered_at=now, set_by=by.id)
        session.add(turn)
        made.append(turn)
    await session.flush()
    return made


async def history(session: AsyncSession, group: WorkingGroup) -> list[tuple[Person, int]]:
    counts: dict[int, int] = {}
    for turn in await _served(session, group):
        counts[turn.person_id] = counts.get(turn.person_id, 0) + 1
    rows = []
    for person_id, count in counts.items():
        person = await session.get(Person, person_id)
        if person is not None:
            rows.append((person, count))
    return sorted(rows, key=lambda r: (-r[1], r[0].full_name))


async def invite_due(database: Database, now: datetime) -> int:
    """For every occurrence within its group's invitation window, fill the open slots.

    The database returns only the occurrences of the window (occurrence index, by start) that
    have a slot without anyone invited or confirmed, or an invitation left unanswered too long;
    in steady state that is what is due and nothing else. Their turns, unavailabilities and the
    groups' eligible members are then read in bulk, and `fill` runs only where an invitation
    expired or an open slot has someone left to invite.
    """
    invited = 0
    async with database.session() as session:
        await cal.refresh_index(session, now)
        settings = {row.group_id: row for row in (await session.exec(
            select(CochairSettings))).all()}

        def slots_of(group_id: int) -> list[list[str]]:
            row = settings.get(group_id)
            return [list(s) for s in (row.slots if row is not None and row.slots
                                      else DEFAULT_SLOTS)]

        def days_of(group_id: int) -> int:
            row = settings.get(group_id)
            return row.days_before if row is not None else DEFAULT_DAYS_BEFORE

        longest = max([DEFAULT_DAYS_BEFORE] + [row.days_before for row in settings.values()])
        most = max([len(DEFAULT_SLOTS)] + [len(slots_of(g)) for g in settings])
        same = and_(CochairTurn.meeting_id == MeetingOccurrence.meeting_id,
                    CochairTurn.occurrence == MeetingOccurrence.occurrence)
        expired = exists().where(same, CochairTurn.status == "invited",
                                 CochairTurn.invited_at <= now - ANSWER_WITHIN)
        open_slot = [~exists().where(same, CochairTurn.slot == slot,
                                     col(CochairTurn.status).in_(HOLDING))
                     for slot in range(most)]
        window = [w for w in (await session.exec(
            select(MeetingOccurrence.meeting_id, MeetingOccurrence.occurrence,
                   MeetingOccurrence.group_id, MeetingOccurrence.start_at)
            .where(MeetingOccurrence.start_at >= now,
                   MeetingOccurrence.start_at < now + timedelta(days=longest, minutes=1),
                   or_(expired, *open_slot))
            .order_by(MeetingOccurrence.start_at, MeetingOccurrence.meeting_id))).all()
            if cal.as_utc(w[3]) < now + timedelta(days=days_of(w[2]), minutes=1)]
        if not window:
            return 0
        in_window = {(w[0], w[1]) for w in window}
        meeting_ids = sorted({w[0] for w in window})
        turns: dict[tuple[int, int], list[tuple[int, int, str, datetime]]] = {}
        away: dict[tuple[int, int], set[int]] = {}
        for i in range(0, len(meeting_ids), 500):
            batch = meeting_ids[i:i + 500]
            for meeting_id, occurrence, slot, person_id, status, invited_at in (
                    await session.exec(select(
                        CochairTurn.meeting_id, CochairTurn.occurrence, CochairTurn.slot,
                        CochairTurn.person_id, CochairTurn.status, CochairTurn.invited_at,
                    ).where(col(CochairTurn.meeting_id).in_(batch)))).all():
                if (meeting_id, occurrence) in in_window:
                    turns.setdefault((meeting_id, occurrence), []).append(
                        (slot, person_id, status, cal.as_utc(invited_at)))
            for meeting_id, occurrence, person_id in (await session.exec(select(
                    CochairUnavailable.meeting_id, CochairUnavailable.occurrence,
                    CochairUnavailable.person_id,
            ).where(col(CochairUnavailable.meeting_id).in_(batch)))).all():
                away.setdefault((meeting_id, occurrence), set()).add(person_id)
        group_ids = sorted({w[2] for w in window})
        eligible_people: dict[int, list[tuple[int, str | None]]] = {}
        for i in range(0, len(group_ids), 500):
            batch = group_ids[i:i + 500]
            marked = select(CochairMark.person_id).where(
                CochairMark.group_id == Membership.group_id)
            for group_id, person_id, pillar in (await session.exec(
                    select(Membership.group_id, Person.id, Person.pillar)
                    .join(Person, Person.id == Membership.person_id)
                    .where(col(Membership.group_id).in_(batch),
                           or_(col(Person.willing_cochair).is_(True),
                               col(Person.id).in_(marked))))).all():
                eligible_people.setdefault(group_id, []).append((person_id, pillar))
        due = []
        for meeting_id, occurrence, group_id, start_at in window:
            mine = turns.get((meeting_id, occurrence), [])
            if any(status == "invited" and invited_at + ANSWER_WITHIN <= now
                   for _slot, _person, status, invited_at in mine):
                due.append((meeting_id, occurrence, group_id, start_at))
                continue
            skipped = {person for _slot, person, _status, _at in mine} | away.get(
                (meeting_id, occurrence), set())
            for slot, pillars in enumerate(slots_of(group_id)):
                if any(s == slot and status in HOLDING for s, _p, status, _at in mine):
                    continue
                if any(pillar in pillars and person not in skipped
                       for person, pillar in eligible_people.get(group_id, [])):
                    due.append((meeting_id, occurrence, group_id, start_at))
                    break
        if not due:
            return 0
        rows = [MeetingOccurrence(meeting_id=m, occurrence=o, group_id=g, start_at=at)
                for m, o, g, at in due]
        for occ in await cal.occurrences_of(session, rows):
            group = await session.get(WorkingGroup, occ.meeting.group_id)
            if group is not None:
                invited += len(await fill(session, group, occ, now))
    return invited


def register_jobs(ticker, database: Database) -> None:
    """Add the co-chair invitation job to the ticker (call from the composition root)."""

    async def cochair_invitations(now: datetime) -> None:
        await invite_due(database, now)

    ticker.add("cochair_invitations", cochair_invitations)

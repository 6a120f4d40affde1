"""A concern report on a meeting's agenda, and its outcome back to the reporter. No Telegram here.

The secretariat writes an anonymised summary of a case (checked here for what could identify the
reporter), puts it on a coming meeting's agenda whose proposals are still open, and the item
enters the normal agenda flow marked only as "from a concern": no case number, no proposer,
nothing of the reporter. Decisions and action items recorded for that item reach the case through
`concern_link`; when the last of them is done, the secretariat is told it may resolve the case.
The outcome the reporter reads with /status is the secretariat's own text, encrypted like every
other case text, shown only once the secretariat chooses to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.outbox import enqueue
from bot.refusals import Refusal
from bot.services import agenda
from bot.services import calendar as cal
from bot.services.groups import secretariat_members
from bot.services.recurrence import to_local
from bot.services.report_crypto import ReportCipher
from bot.services.reports import today_of
from storage.agenda_tables import ActionItem, AgendaItem, Decision
from storage.calendar_tables import Meeting
from storage.models import Person, WorkingGroup
from storage.report_tables import ConcernLink, ReportCase, ReportEvent

SUMMARY_MAX = agenda.TEXT_MAX
OUTCOME_MAX = 1000
MEETINGS_OFFERED = 6
SHARED_MIN_LETTERS = 5
WORDS_SHOWN = 8
KIND_RESOLVE = "concern_resolve"
WARNING_KINDS = ("phone", "date", "number", "name", "place", "shared")


class ConcernError(Refusal):
    """A concern-to-agenda operation was refused; `code` names the reason."""


# -- anonymisation warnings ----------------------------------------------------------------------
_PHONE = re.compile(r"\+?\d[\d ().-]{6,}\d")
_DATE = re.compile(r"\b\d{1,4}[/.-]\d{1,2}(?:[/.-]\d{1,4})?\b")
_NUMBER = re.compile(r"\d+")
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_TIME_WORDS = frozenset("""
january february march april may june july august september october november december
monday tuesday wednesday thursday friday saturday sunday yesterday today tonight
janvier février fevrier mars avril mai juin juillet août aout septembre octobre novembre décembre
decembre lundi mardi mercredi jeudi vendredi samedi dimanche hier aujourd'hui
enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre lunes
martes miércoles miercoles jueves viernes sábado sabado domingo ayer hoy anoche
januari februari machi aprili mei juni julai agosti septemba oktoba novemba desemba jumatatu
jumanne jumatano alhamisi ijumaa jumamosi jumapili jana leo juzi
lobi lelo mokolo
""".split())
_PLACE_BEFORE = frozenset("""
in at near from to à au aux en près vers chez dans de du sur kwa karibu huko katika mjini toka
hadi cerca desde hacia na o epai penepene
""".split())


@dataclass(frozen=True)
class Hint:
    """One kind of detail in a summary that could point to the reporter, and the words found."""

    kind: str  # one of WARNING_KINDS
    words: tuple[str, ...]


def _sentence_starts(text: str) -> set[int]:
    starts = {0}
    for match in re.finditer(r"[.!?:;\n]\s*", text):
        starts.add(match.end())
    return starts


def anonymity_warnings(summary: str, case_text: str) -> list[Hint]:
    """What in a summary could identify the reporter: phone numbers, dates, other numbers,
    names (capitalised words), places (a capitalised word after "in", "à", "kwa"...), and words
    that also occur in the case's own text."""
    found: dict[str, list[str]] = {kind: [] for kind in WARNING_KINDS}

    def add(kind: str, word: str) -> None:
        if word not in found[kind]:
            found[kind].append(word)

    rest = summary
    for match in _PHONE.finditer(summary):
        if sum(ch.isdigit() for ch in match.group()) >= 7:
            add("phone", match.group().strip())
            rest = rest.replace(match.group(), " ")
    for match in _DATE.finditer(rest):
        add("date", match.group())
    rest = _DATE.sub(" ", rest)
    for match in _NUMBER.finditer(rest):
        add("number", match.group())
    starts = _sentence_starts(summary)
    previous = ""
    case_words = {w.lower() for w in _WORD.findall(case_text)}
    for match in _WORD.finditer(summary):
        word = match.group()
        lower = word.lower()
        if lower in _TIME_WORDS:
            add("date", word)
        elif word[0].isupper() and len(word) > 1 and match.start() not in starts:
            add("place" if previous in _PLACE_BEFORE else "name", word)
        if len(word) >= SHARED_MIN_LETTERS and lower in case_words:
            add("shared", word)
        previous = lower
    return [Hint(kind, tuple(words[:WORDS_SHOWN])) for kind, words in found.items() if words]


def case_text(content: dict) -> str:
    """The words of a case a summary should not repeat: its text, place and time."""
    texts = [p.get("value", "") for p in content.get("parts", []) if p.get("kind") == "text"]
    return "\n".join([content.get("where", ""), content.get("when", ""), *texts])


def clean_summary(text: str | None) -> str:
    value = " ".join((text or "").split())
    if not value:
        raise ConcernError("summary_empty")
    if len(value) > SUMMARY_MAX:
        raise ConcernError("summary_long", max=SUMMARY_MAX)
    return value


# -- the agenda ------------------------------------------------------------------------------------
async def case_group(session: AsyncSession, case: ReportCase) -> WorkingGroup:
    group = await session.get(WorkingGroup, case.group_id) if case.group_id else None
    if group is None:
        raise ConcernError("no_group")
    return group


async def open_meetings(session: AsyncSession, group: WorkingGroup, now: datetime,
                        limit: int = MEETINGS_OFFERED) -> list[agenda.Target]:
    """The group's coming occurrences whose agenda still takes proposals."""
    coming, _more = await cal.upcoming(session, group, now, limit=limit)
    hours = await agenda.deadline_hours(session, group)
    targets = [agenda.Target(group, occ, occ.start - timedelta(hours=hours)) for occ in coming]
    return [t for t in targets if now < t.deadline]


async def put_on_agenda(
    session: AsyncSession, cipher: ReportCipher, case: ReportCase, actor: Person,
    meeting_id: int, occurrence: int, summary: str, now: datetime,
) -> AgendaItem:
    """Add the summary to the chosen occurrence's agenda (refused once its agenda is closed)."""
    text = clean_summary(summary)
    group = await case_group(session, case)
    targets = await open_meetings(session, group, now, limit=MEETINGS_OFFERED * 4)
    where = next((t for t in targets
                  if t.occ.meeting.id == meeting_id and t.occ.key == occurrence), None)
    if where is None:
        raise ConcernError("agenda_closed")
    item = await agenda.add_from_concern(session, where, text, now)
    session.add(ConcernLink(case_id=case.id, item_id=item.id, linked_on=today_of(now)))
    session.add(ReportEvent(case_id=case.id, on_day=today_of(now), kind="agenda",
                            actor_id=actor.id,
                            body=cipher.encrypt({"item": item.id, "text": text}, "event")))
    await session.flush()
    return item


@dataclass
class LinkedItem:
    item: AgendaItem
    meeting: Meeting | None
    start: datetime | None
    decisions: list[Decision] = field(default_factory=list)
    actions: list[tuple[ActionItem, Person]] = field(default_factory=list)


async def _start(session: AsyncSession, item: AgendaItem, meeting: Meeting | None
                 ) -> datetime | None:
    """When the item's meeting actually starts (a rescheduled occurrence keeps its key)."""
    if meeting is None:
        return None
    try:
        return (await cal.get_occurrence(session, meeting, item.occurrence)).start
    except cal.CalendarError:
        return None


async def linked(session: AsyncSession, case: ReportCase) -> list[LinkedItem]:
    """The agenda items a case became, with their meeting and the decisions and actions
    recorded for them (three queries, and one per item for a rescheduled start)."""
    rows = (await session.exec(
        select(AgendaItem, Meeting)
        .join(ConcernLink, col(ConcernLink.item_id) == col(AgendaItem.id))
        .join(Meeting, col(Meeting.id) == col(AgendaItem.meeting_id), isouter=True)
        .where(ConcernLink.case_id == case.id).order_by(AgendaItem.id))).all()
    found = {item.id: LinkedItem(item, meeting, await _start(session, item, meeting))
             for item, meeting in rows}
    if not found:
        return []
    for decision in (await session.exec(select(Decision).where(
            col(Decision.item_id).in_(list(found))).order_by(Decision.id))).all():
        found[decision.item_id].decisions.append(decision)
    for action, owner in (await session.exec(
            select(ActionItem, Person).join(Person, col(Person.id) == col(ActionItem.owner_id))
            .where(col(ActionItem.item_id).in_(list(found))).order_by(ActionItem.id))).all():
        found[action.item_id].actions.append((action, owner))
    return list(found.values())


async def group_item(session: AsyncSession, group: WorkingGroup, item_id: int) -> AgendaItem:
    """An agenda item of `group` that decisions and actions may be recorded for."""
    item = await session.get(AgendaItem, item_id)
    if item is None or item.group_id != group.id or item.status not in ("accepted", "pending"):
        raise ConcernError("item_not_found", number=item_id)
    return item


async def action_done(session: AsyncSession, action: ActionItem, now: datetime) -> int:
    """After an action item is done: for every open case whose linked actions are now all done,
    tell its group's secretariat it may be resolved. Returns the number of cases concerned."""
    if action.item_id is None:
        return 0
    case_ids = (await session.exec(select(ConcernLink.case_id).where(
        ConcernLink.item_id == action.item_id))).all()
    concerned = 0
    for case_id in case_ids:
        case = await session.get(ReportCase, case_id)
        if case is None or case.status in ("resolved", "closed") or case.group_id is None:
            continue
        items = (await session.exec(select(ConcernLink.item_id).where(
            ConcernLink.case_id == case_id))).all()
        still_open = (await session.exec(select(ActionItem.id).where(
            col(ActionItem.item_id).in_(list(items)), ActionItem.status == "open"))).first()
        if still_open is not None:
            continue
        concerned += 1
        group = await session.get(WorkingGroup, case.group_id)
        for person in await secretariat_members(session, group):
            await enqueue(session, key=f"concern:resolve:{case.id}:{action.id}:{person.id}",
                          kind=KIND_RESOLVE, chat_id=person.telegram_id, due_at=now,
                          payload={"case": case.id, "person": person.id})
    return concerned


# -- the outcome the reporter reads ----------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    text: str  # the secretariat's words, as written
    day: date  # when the working group discussed it
    shown_on: date | None


def discussed_on(links: list[LinkedItem], now: datetime, zone: str) -> date | None:
    """The local day of the latest meeting, already started, that had the case on its agenda."""
    past = [link.start for link in links if link.start is not None and link.start <= now]
    if not past:
        return None
    return to_local(max(past), zone).date()


async def set_outcome(
    session: AsyncSession, cipher: ReportCipher, case: ReportCase, actor: Person, text: str,
    now: datetime,
) -> Outcome:
    """Keep the secretariat's outcome text (hidden from the reporter until shown)."""
    value = " ".join((text or "").split())
    if not value:
        raise ConcernError("outcome_empty")
    if len(value) > OUTCOME_MAX:
        raise ConcernError("outcome_long", max=OUTCOME_MAX)
    group = await case_group(session, case)
    day = discussed_on(await linked(session, case), now, group.timezone)
    if day is None:
        raise ConcernError("not_discussed")
    case.outcome = cipher.encrypt({"text": value, "day": day.isoformat()}, "outcome")
    case.outcome_shown_on = None
    session.add(case)
    await session.flush()
    return Outcome(value, day, None)


def read_outcome(cipher: ReportCipher, case: ReportCase) -> Outcome | None:
    if case.outcome is None:
        return None
    data = cipher.decrypt(case.outcome, "outcome")
    assert isinstance(data, dict)
    return Outcome(str(data["text"]), date.fromisoformat(data["day"]), case.outcome_shown_on)


async def show_outcome(session: AsyncSession, case: ReportCase, actor: Person, shown: bool,
                       now: datetime) -> None:
    if case.outcome is None:
        raise ConcernError("no_outcome")
    if shown == (case.outcome_shown_on is not None):
        raise ConcernError("already")
    case.outcome_shown_on = today_of(now) if shown else None
    session.add(ReportEvent(case_id=case.id, on_day=today_of(now), actor_id=actor.id,
                            kind="outcome_shown" if shown else "outcome_hidden"))
    session.add(case)
    await session.flush()


def visible_outcome(cipher: ReportCipher, case: ReportCase) -> Outcome | None:
    """The outcome the reporter may read with /status, if the secretariat chose to show it."""
    if case.outcome_shown_on is None:
        return None
    return read_outcome(cipher, case)

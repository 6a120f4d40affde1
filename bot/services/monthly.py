"""The group's monthly security status report and a company's engagement report: the figures,
computed with a fixed number of aggregate queries whatever the size of the group's history;
the small-count suppression of concern reports; the report settings; and the scheduled
delivery of last month's report to the secretariat through the outbox on the first working day
of each month. Rendering (charts, PDF, CSV) is in bot/services/monthly_render.py. No Telegram.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import String, and_, case, cast, exists, func, literal, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.outbox import enqueue_many
from bot.refusals import Refusal
from bot.services import calendar as cal
from bot.services.cochairs import SERVING
from bot.services.recurrence import localize, to_local
from bot.services.reports import CATEGORIES, STATUSES, SUPPRESS_BELOW
from storage.agenda_tables import ActionItem, AgendaItem, CochairTurn, Decision
from storage.calendar_tables import Attendance, Meeting, MeetingException
from storage.database import Database
from storage.models import Membership, OutboxMessage, Person, Pillar, Role, WorkingGroup
from storage.monthly_tables import MonthlyReportSettings
from storage.report_tables import ConcernLink, ReportCase

SEND_AT = time(8, 0)  # local time of the automatic report on the first working day
SEND_WITHIN = timedelta(days=7)  # after downtime, still sent within a week of that day
TREND_MONTHS = 6
CONCERN_TREND_MONTHS = 12
CANCELLED_SERIES_WINDOW = timedelta(days=35)
KIND = "monthly_report"
PARTS = ("pdf", "csv")
HIDDEN = "*"  # a count hidden so that a count below 3 cannot be worked out from the total
BATCH = 500
PILLARS = [p.value for p in Pillar]


class MonthlyError(Refusal):
    """A report request was refused; see Refusal."""


# -- months -------------------------------------------------------------------------------------
def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def previous_month(now: datetime, zone: str) -> date:
    return add_months(month_start(to_local(now, zone).date()), -1)


def parse_month(text: str, now: datetime, zone: str) -> date:
    """`YYYY-MM` (or empty: last month); a month not begun yet is refused."""
    text = (text or "").strip()
    if not text:
        return previous_month(now, zone)
    parts = text.split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or len(parts[0]) != 4:
        raise MonthlyError("bad_month")
    year, month = int(parts[0]), int(parts[1])
    if not 1 <= month <= 12 or year < 2000:
        raise MonthlyError("bad_month")
    first = date(year, month, 1)
    if first > to_local(now, zone).date():
        raise MonthlyError("future_month")
    return first


def first_working_day(first: date) -> date:
    day = first
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def bounds(first: date, zone: str, months: int = 1) -> tuple[datetime, datetime]:
    """UTC instants of the local midnights that open and close `months` months from `first`."""
    return (localize(datetime.combine(first, time()), zone),
            localize(datetime.combine(add_months(first, months), time()), zone))


# -- suppression --------------------------------------------------------------------------------
def protect(cells: dict[str, int], total: int) -> tuple[dict[str, str], str]:
    """Counts safe to publish beside their total: 1 and 2 become "<3" (primary suppression),
    and further counts are hidden ("*", complementary suppression) until none of the counts
    below 3 can be worked out by subtracting the shown counts from the total; when no count
    is left to hide, the total is hidden too. Zero stays 0, except in a table whose total is
    below 3, where every count is "<3"."""
    primary = {k for k, v in cells.items() if 0 < v < SUPPRESS_BELOW}
    if 0 < total < SUPPRESS_BELOW:  # then "<3" may be 0 too: two cells of 1 would show
        return {k: f"<{SUPPRESS_BELOW}" for k in cells}, f"<{SUPPRESS_BELOW}"
    secondary: set[str] = set()
    total_shown = str(total)
    while primary and _derivable(cells, primary, secondary, total):
        visible = sorted((v, k) for k, v in cells.items()
                         if v > 0 and k not in primary and k not in secondary)
        if not visible:
            total_shown = HIDDEN
            break
        secondary.add(visible[0][1])
    shown = {}
    for key, value in cells.items():
        if key in primary:
            shown[key] = f"<{SUPPRESS_BELOW}"
        elif key in secondary:
            shown[key] = HIDDEN
        else:
            shown[key] = str(value)
    return shown, total_shown


def _derivable(cells: dict[str, int], primary: set[str], secondary: set[str], total: int
               ) -> bool:
    """Whether a reader who knows the total, the shown counts, that each "<3" is 1 or 2 and
    that each hidden count is at least 3, can tell any count exactly."""
    hidden_sum = total - sum(v for k, v in cells.items() if k not in primary | secondary)
    ranges = {k: (1, SUPPRESS_BELOW - 1) for k in primary}
    ranges.update({k: (SUPPRESS_BELOW, hidden_sum) for k in secondary})
    low, high = sum(r[0] for r in ranges.values()), sum(r[1] for r in ranges.values())
    for lo, hi in ranges.values():
        rest_low, rest_high = low - lo, high - hi
        possible = [v for v in range(lo, min(hi, hidden_sum) + 1)
                    if rest_low <= hidden_sum - v <= rest_high]
        if len(possible) <= 1:
            return True
    return False


# -- the figures --------------------------------------------------------------------------------
@dataclass
class Rate:
    present: int = 0
    expected: int = 0

    @property
    def value(self) -> float | None:
        return self.present / self.expected if self.expected else None


@dataclass
class ActionCounts:
    opened: int = 0
    done: int = 0
    overdue: int = 0  # open past their due date at the end of the month
    open_at_end: int = 0


@dataclass
class MeetingLine:
    start: datetime
    title: str
    cancelled: bool
    marked: bool = False  # attendance was taken
    present: int = 0


@dataclass
class ConcernTable:
    total: int
    total_shown: str
    by_category: dict[str, str]
    by_urgency: dict[str, str]
    by_status: dict[str, str]
    trend: list[tuple[date, str]]  # per month, suppressed
    # concerns that reached a meeting's agenda this month: current status, outcome shown or not
    agenda_total: str = "0"
    agenda_status: dict[str, str] = field(default_factory=dict)
    agenda_outcome: dict[str, str] = field(default_factory=dict)


@dataclass
class MonthlyReport:
    group: WorkingGroup
    month: date
    generated_at: datetime
    months: list[date]  # the trend's months, oldest first, ending with `month`
    meetings: list[MeetingLine]
    held_by_month: list[int]
    cancelled_by_month: list[int]
    attendance_pillar: dict[str, list[Rate]]
    attendance_org: dict[str, list[Rate]]
    cochairs: dict[str, list[int]]  # pillar -> turns served per month
    decisions: list[tuple[datetime, str]]
    actions: dict[str, ActionCounts]
    concerns: ConcernTable

    @property
    def held(self) -> int:
        return self.held_by_month[-1]

    @property
    def cancelled(self) -> int:
        return self.cancelled_by_month[-1]


@dataclass
class _Occ:
    meeting_id: int
    key: int
    start: datetime
    title: str
    cancelled: bool


async def _occurrences(session: AsyncSession, group_ids: list[int], start: datetime,
                       end: datetime, now: datetime) -> dict[int, list[_Occ]]:
    """Per group, the meeting dates in [start, min(end, now)) held or cancelled, from two
    queries (meetings, their exceptions) whatever the number of meetings."""
    meetings = list((await session.exec(select(Meeting).where(
        col(Meeting.group_id).in_(group_ids), Meeting.created_at < end))).all())
    exceptions: dict[int, dict[int, MeetingException]] = {}
    ids = [m.id for m in meetings]
    for i in range(0, len(ids), BATCH):
        for exc in (await session.exec(select(MeetingException).where(
                col(MeetingException.meeting_id).in_(ids[i:i + BATCH])))).all():
            exceptions.setdefault(exc.meeting_id, {})[exc.occurrence] = exc
    stop = min(end, now)
    found: dict[int, list[_Occ]] = defaultdict(list)
    for meeting in meetings:
        stopped = cal.as_utc(meeting.cancelled_at) if meeting.cancelled_at else None
        for occ in cal._expand(meeting, exceptions.get(meeting.id, {}), start, stop,
                               include_cancelled=True):
            cancelled = occ.cancelled
            if stopped is not None and occ.start >= stopped:
                if occ.start - stopped > CANCELLED_SERIES_WINDOW:
                    continue  # a series stopped long ago: its later dates were never planned
                cancelled = True
            found[meeting.group_id].append(
                _Occ(meeting.id, occ.key, occ.start, occ.title, cancelled))
    for occs in found.values():
        occs.sort(key=lambda o: (o.start, o.meeting_id))
    return found


def _in(column, values: list[int]):
    return col(column).in_(sorted(set(values)) or [-1])


async def build_report(session: AsyncSession, group: WorkingGroup, month: date, now: datetime
                       ) -> MonthlyReport:
    """The report of `month` (its first day) for `group`."""
    zone = group.timezone
    months = [add_months(month, -i) for i in range(TREND_MONTHS - 1, -1, -1)]
    start, _ = bounds(months[0], zone)
    m_start, m_end = bounds(month, zone)
    edges = [bounds(m, zone)[0] for m in months] + [m_end]

    def month_index(instant: datetime) -> int | None:
        for i in range(len(months)):
            if edges[i] <= instant < edges[i + 1]:
                return i
        return None

    occs = (await _occurrences(session, [group.id], start, m_end, now)).get(group.id, [])
    held = [o for o in occs if not o.cancelled]
    where = {(o.meeting_id, o.key): month_index(o.start) for o in held}
    held_by_month = [0] * len(months)
    cancelled_by_month = [0] * len(months)
    for o in occs:
        (cancelled_by_month if o.cancelled else held_by_month)[month_index(o.start)] += 1
    meeting_ids = [o.meeting_id for o in held]
    keys = [o.key for o in held]

    # Members now, with their pillar, organisation and the day they joined.
    members = (await session.exec(
        select(Person.id, Person.pillar, Person.organisation, Membership.joined_at)
        .join(Membership, Membership.person_id == Person.id)
        .where(Membership.group_id == group.id).order_by(Person.id))).all()
    # Organisations are compared without case or extra spaces, shown as first written.
    org_names: dict[str, str] = {}
    for _pid, _pillar, org, _joined in members:
        org_names.setdefault(_org(org).casefold(), _org(org))

    def org_of(organisation: str | None) -> str:
        return org_names.setdefault(_org(organisation).casefold(), _org(organisation))

    # Attendance of current members, counted per date, pillar and organisation.
    present_sum = func.sum(case((col(Attendance.present), 1), else_=0))
    marked: dict[tuple[int, int], list] = defaultdict(list)
    for mid, key, pillar, org, present in (await session.exec(
            select(Attendance.meeting_id, Attendance.occurrence, Person.pillar,
                   Person.organisation, present_sum)
            .join(Person, Person.id == Attendance.person_id)
            .join(Membership, and_(Membership.person_id == Person.id,
                                   Membership.group_id == group.id))
            .where(_in(Attendance.meeting_id, meeting_ids), _in(Attendance.occurrence, keys))
            .group_by(Attendance.meeting_id, Attendance.occurrence, Person.pillar,
                      Person.organisation))).all():
        if (mid, key) in where:
            marked[(mid, key)].append((pillar, org_of(org), int(present or 0)))
    attendance_pillar: dict[str, list[Rate]] = defaultdict(lambda: [Rate() for _ in months])
    attendance_org: dict[str, list[Rate]] = defaultdict(lambda: [Rate() for _ in months])
    lines: list[MeetingLine] = []
    for o in occs:
        index = month_index(o.start)
        rows = marked.get((o.meeting_id, o.key))
        if index == len(months) - 1:
            lines.append(MeetingLine(o.start, o.title, o.cancelled, bool(rows),
                                     sum(r[2] for r in rows or [])))
        if o.cancelled or not rows:
            continue
        for pillar, org, present in rows:
            attendance_pillar[pillar or ""][index].present += present
            attendance_org[org][index].present += present
        for _pid, pillar, org, joined in members:
            if cal.as_utc(joined) - timedelta(days=1) <= o.start:
                attendance_pillar[pillar or ""][index].expected += 1
                attendance_org[org_of(org)][index].expected += 1

    # Co-chair turns served, per date and pillar.
    cochairs: dict[str, list[int]] = defaultdict(lambda: [0] * len(months))
    for mid, key, pillar, count in (await session.exec(
            select(CochairTurn.meeting_id, CochairTurn.occurrence, Person.pillar, func.count())
            .join(Person, Person.id == CochairTurn.person_id)
            .where(CochairTurn.group_id == group.id, col(CochairTurn.status).in_(SERVING),
                   _in(CochairTurn.meeting_id, meeting_ids), _in(CochairTurn.occurrence, keys))
            .group_by(CochairTurn.meeting_id, CochairTurn.occurrence, Person.pillar))).all():
        if where.get((mid, key)) is not None:
            cochairs[pillar or ""][where[(mid, key)]] += int(count)

    # Decisions of the month's meetings.
    month_keys = [(o.meeting_id, o.key) for o in held if where[(o.meeting_id, o.key)]
                  == len(months) - 1]
    starts = {(o.meeting_id, o.key): o.start for o in held}
    decisions = [
        (starts[(d.meeting_id, d.occurrence)], d.text)
        for d in (await session.exec(select(Decision).where(
            Decision.group_id == group.id,
            _in(Decision.meeting_id, [m for m, _ in month_keys]),
            _in(Decision.occurrence, [k for _, k in month_keys])).order_by(Decision.id))).all()
        if (d.meeting_id, d.occurrence) in set(month_keys)]
    decisions.sort(key=lambda d: d[0])

    # Action items by owner's pillar.
    last_day = add_months(month, 1)
    open_at_end = or_(ActionItem.status == "open", ActionItem.done_at >= m_end)
    actions: dict[str, ActionCounts] = {}
    for pillar, opened, done, overdue, still_open in (await session.exec(
            select(Person.pillar,
                   func.sum(case((ActionItem.created_at >= m_start, 1), else_=0)),
                   func.sum(case((and_(ActionItem.done_at >= m_start,
                                       ActionItem.done_at < m_end), 1), else_=0)),
                   func.sum(case((and_(open_at_end, ActionItem.due < last_day), 1), else_=0)),
                   func.sum(case((open_at_end, 1), else_=0)))
            .join(Person, Person.id == ActionItem.owner_id)
            .where(ActionItem.group_id == group.id, ActionItem.created_at < m_end)
            .group_by(Person.pillar))).all():
        counts = ActionCounts(int(opened or 0), int(done or 0), int(overdue or 0),
                              int(still_open or 0))
        if counts.opened or counts.done or counts.overdue or counts.open_at_end:
            actions[pillar or ""] = counts

    concerns = await _concerns(session, group, month)
    return MonthlyReport(
        group=group, month=month, generated_at=now, months=months, meetings=lines,
        held_by_month=held_by_month, cancelled_by_month=cancelled_by_month,
        attendance_pillar=dict(attendance_pillar), attendance_org=dict(attendance_org),
        cochairs=dict(cochairs), decisions=decisions, actions=actions, concerns=concerns)


def _org(organisation: str | None) -> str:
    return " ".join((organisation or "").split())


async def _concerns(session: AsyncSession, group: WorkingGroup, month: date) -> ConcernTable:
    first = add_months(month, -(CONCERN_TREND_MONTHS - 1))
    end = add_months(month, 1)
    rows = (await session.exec(
        select(ReportCase.submitted_on, ReportCase.category, ReportCase.urgent,
               ReportCase.status, func.count())
        .where(ReportCase.group_id == group.id, ReportCase.submitted_on >= first,
               ReportCase.submitted_on < end)
        .group_by(ReportCase.submitted_on, ReportCase.category, ReportCase.urgent,
                  ReportCase.status))).all()
    per_month: Counter = Counter()
    category: Counter = Counter()
    urgency: Counter = Counter()
    status: Counter = Counter()
    for day, cat, urgent, state, count in rows:
        per_month[month_start(day)] += count
        if month_start(day) == month:
            category[cat] += count
            urgency["urgent" if urgent else "not_urgent"] += count
            status[state] += count
    total = per_month[month]
    by_category, total_shown = protect({c: category[c] for c in CATEGORIES}, total)
    by_urgency, shown_u = protect({u: urgency[u] for u in ("urgent", "not_urgent")}, total)
    by_status, shown_s = protect({s: status[s] for s in STATUSES}, total)
    if HIDDEN in (total_shown, shown_u, shown_s):
        total_shown = HIDDEN
    trend = []
    for i in range(CONCERN_TREND_MONTHS):
        m = add_months(first, i)
        count = per_month[m]
        trend.append((m, f"<{SUPPRESS_BELOW}" if 0 < count < SUPPRESS_BELOW else str(count)))
    table = ConcernTable(total, total_shown, by_category, by_urgency, by_status, trend)
    await _agenda_concerns(session, group, month, table)
    return table


async def _agenda_concerns(session: AsyncSession, group: WorkingGroup, month: date,
                           table: ConcernTable) -> None:
    """Cases on the agenda of a meeting of the month (one query), with the same suppression."""
    start, end = bounds(month, group.timezone)
    rows = (await session.exec(
        select(ReportCase.id, ReportCase.status, ReportCase.outcome_shown_on)
        .join(ConcernLink, col(ConcernLink.case_id) == col(ReportCase.id))
        .join(AgendaItem, col(AgendaItem.id) == col(ConcernLink.item_id))
        .where(AgendaItem.group_id == group.id,
               AgendaItem.occurrence >= int(start.timestamp()),
               AgendaItem.occurrence < int(end.timestamp()))
        .distinct())).all()
    status = Counter(state for _id, state, _shown in rows)
    shown = Counter("shown" if day is not None else "not_shown" for _id, _state, day in rows)
    table.agenda_status, total_s = protect({s: status[s] for s in STATUSES}, len(rows))
    table.agenda_outcome, total_o = protect({k: shown[k] for k in ("shown", "not_shown")},
                                            len(rows))
    table.agenda_total = HIDDEN if HIDDEN in (total_s, total_o) else total_s


# -- the company engagement report -------------------------------------------------------------
@dataclass
class EngagementMeeting:
    day: date  # in the group's time zone
    group: str
    title: str
    representatives: int


@dataclass
class EngagementGroup:
    name: str
    held: int = 0
    attended: int = 0  # meetings with at least one representative present
    marked: int = 0  # meetings where attendance was taken
    cochair_turns: int = 0
    actions_owned: int = 0
    actions_done: int = 0
    actions_done_on_time: int = 0
    actions_open: int = 0


@dataclass
class EngagementReport:
    organisation: str
    year: int
    generated_at: datetime
    representatives: int
    groups: list[EngagementGroup]
    meetings: list[EngagementMeeting]
    cochair_turns: list[tuple[date, str, str]]  # day, group, meeting title
    actions: list[tuple[str, date, str, date | None, str]]  # group, due, status, done, text
    totals: EngagementGroup = field(default_factory=lambda: EngagementGroup(""))


def _day(instant: datetime, group: WorkingGroup) -> date:
    return to_local(instant, group.timezone).date()


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def same_organisation(a: str | None, b: str | None) -> bool:
    return bool(a and b) and _org(a).casefold() == _org(b).casefold()


async def organisation_groups(session: AsyncSession, organisation: str
                              ) -> tuple[list[int], list[WorkingGroup], str]:
    """The people of `organisation`, the groups they are members of, and the organisation's
    name as its first member wrote it."""
    wanted = _org(organisation).casefold()
    if not wanted:
        return [], [], ""
    found = [(pid, _org(org)) for pid, org in (await session.exec(
        select(Person.id, Person.organisation).where(col(Person.organisation).is_not(None))
        .where(func.lower(Person.organisation).like(f"%{_like(wanted.split()[0])}%",
                                                    escape="\\"))
        .order_by(Person.id))).all() if _org(org).casefold() == wanted]
    if not found:
        return [], [], _org(organisation)
    people = [pid for pid, _ in found]
    groups = list((await session.exec(
        select(WorkingGroup).join(Membership, Membership.group_id == WorkingGroup.id)
        .where(_in(Membership.person_id, people)).distinct()
        .order_by(WorkingGroup.name))).all())
    return people, groups, found[0][1]


async def build_engagement(session: AsyncSession, organisation: str, year: int,
                           groups: list[WorkingGroup], people: list[int], now: datetime
                           ) -> EngagementReport:
    """The organisation's engagement in `groups` during `year` (each group's local year)."""
    by_id = {g.id: g for g in groups}
    stats = {g.id: EngagementGroup(g.name) for g in groups}
    spans = {g.id: (localize(datetime(year, 1, 1), g.timezone),
                    localize(datetime(year + 1, 1, 1), g.timezone)) for g in groups}
    start = min((s for s, _ in spans.values()), default=now)
    end = max((e for _, e in spans.values()), default=now)
    occs = await _occurrences(session, list(by_id), start - timedelta(days=1),
                              end + timedelta(days=1), now)
    held: dict[tuple[int, int], tuple[int, _Occ]] = {}
    for group_id, found in occs.items():
        s, e = spans[group_id]
        for o in found:
            if not o.cancelled and s <= o.start < e:
                held[(o.meeting_id, o.key)] = (group_id, o)
                stats[group_id].held += 1
    mids = [m for m, _ in held]
    keys = [k for _, k in held]
    present_sum = func.sum(case((and_(col(Attendance.person_id).in_(people or [-1]),
                                      col(Attendance.present)), 1), else_=0))
    meetings = []
    for mid, key, present in (await session.exec(
            select(Attendance.meeting_id, Attendance.occurrence, present_sum)
            .where(_in(Attendance.meeting_id, mids), _in(Attendance.occurrence, keys))
            .group_by(Attendance.meeting_id, Attendance.occurrence))).all():
        if (mid, key) not in held:
            continue
        group_id, o = held[(mid, key)]
        stats[group_id].marked += 1
        if present:
            stats[group_id].attended += 1
            meetings.append(EngagementMeeting(_day(o.start, by_id[group_id]),
                                              by_id[group_id].name, o.title, int(present)))
    meetings.sort(key=lambda m: (m.day, m.group))
    turns = []
    for mid, key in (await session.exec(
            select(CochairTurn.meeting_id, CochairTurn.occurrence)
            .where(_in(CochairTurn.person_id, people), col(CochairTurn.status).in_(SERVING),
                   _in(CochairTurn.meeting_id, mids), _in(CochairTurn.occurrence, keys)))).all():
        if (mid, key) in held:
            group_id, o = held[(mid, key)]
            stats[group_id].cochair_turns += 1
            turns.append((_day(o.start, by_id[group_id]), by_id[group_id].name, o.title))
    turns.sort()
    actions = []
    for item in (await session.exec(
            select(ActionItem).where(_in(ActionItem.owner_id, people),
                                     _in(ActionItem.group_id, list(by_id)))
            .order_by(ActionItem.due, ActionItem.id))).all():
        s, e = spans[item.group_id]
        created = cal.as_utc(item.created_at)
        done = cal.as_utc(item.done_at) if item.done_at else None
        if not (s <= created < e or (done is not None and s <= done < e)):
            continue
        group = by_id[item.group_id]
        entry = stats[item.group_id]
        entry.actions_owned += 1
        done_day = to_local(done, group.timezone).date() if done else None
        if done is not None and done < e:
            entry.actions_done += 1
            entry.actions_done_on_time += done_day <= item.due
        else:
            entry.actions_open += 1
        actions.append((group.name, item.due, item.status if done is None or done < e
                        else "open", done_day if done is not None and done < e else None,
                        item.text))
    rows = [stats[g.id] for g in groups]
    totals = EngagementGroup("")
    for row in rows:
        for name in ("held", "attended", "marked", "cochair_turns", "actions_owned",
                     "actions_done", "actions_done_on_time", "actions_open"):
            setattr(totals, name, getattr(totals, name) + getattr(row, name))
    return EngagementReport(_org(organisation), year, now, len(people), rows, meetings, turns,
                            actions, totals)


# -- settings -----------------------------------------------------------------------------------
async def get_settings(session: AsyncSession, group: WorkingGroup) -> MonthlyReportSettings:
    return (await session.get(MonthlyReportSettings, group.id)
            or MonthlyReportSettings(group_id=group.id))


async def save_settings(session: AsyncSession, settings: MonthlyReportSettings,
                        now: datetime) -> None:
    settings.updated_at = now
    session.add(settings)
    await session.flush()


async def secretariat(session: AsyncSession, group: WorkingGroup) -> list[Person]:
    return list((await session.exec(
        select(Person).join(Membership, Membership.person_id == Person.id)
        .where(Membership.group_id == group.id, Membership.role == Role.SECRETARIAT.value)
        .order_by(Person.full_name, Person.id))).all())


async def toggle_recipient(session: AsyncSession, group: WorkingGroup, person_id: int,
                           now: datetime) -> MonthlyReportSettings:
    """Add or remove one secretariat member from the recipients; an empty list means all of
    them, so removing someone from "all" keeps the others."""
    settings = await get_settings(session, group)
    members = [p.id for p in await secretariat(session, group)]
    if person_id not in members:
        raise MonthlyError("gone")
    chosen = [p for p in settings.recipients if p in members] or list(members)
    chosen = [p for p in chosen if p != person_id] if person_id in chosen else [*chosen,
                                                                                 person_id]
    if not chosen:
        raise MonthlyError("no_recipient")
    settings.recipients = [] if set(chosen) == set(members) else sorted(chosen)
    await save_settings(session, settings, now)
    return settings


def receives(settings: MonthlyReportSettings, person_id: int) -> bool:
    return not settings.recipients or person_id in settings.recipients


# -- scheduled delivery -------------------------------------------------------------------------
def due_month(now: datetime, zone: str) -> date | None:
    """The month whose report is due now in `zone`: the previous month, from 08:00 local on the
    first working day (Monday to Friday) of the current month, for a week."""
    local = to_local(now, zone)
    first_day = first_working_day(month_start(local.date()))
    opens = datetime.combine(first_day, SEND_AT)
    if opens <= local < opens + SEND_WITHIN:
        return add_months(month_start(local.date()), -1)
    return None


def outbox_key(group_id: int, month: date, person_id: int, part: str) -> str:
    return f"monthly:{group_id}:{month:%Y-%m}:{person_id}:{part}"


async def queue_reports(database: Database, now: datetime) -> int:
    """Queue last month's report for the recipients of every group where it is due; the keys
    make sure nobody gets it twice. On other days only the list of zones in use is read."""
    added = 0
    async with database.session() as session:
        months: dict[date, list[str]] = defaultdict(list)
        for zone in (await session.exec(select(WorkingGroup.timezone).distinct())).all():
            month = due_month(now, zone)
            if month is not None:
                months[month].append(zone)
        for month, zones in sorted(months.items()):
            key = (literal("monthly:") + cast(WorkingGroup.id, String) + literal(":")
                   + literal(f"{month:%Y-%m}") + literal(":") + cast(Person.id, String)
                   + literal(":pdf"))
            rows = (await session.exec(
                select(WorkingGroup.id, Person.id, Person.telegram_id,
                       MonthlyReportSettings.recipients)
                .join(Membership, Membership.group_id == WorkingGroup.id)
                .join(Person, Person.id == Membership.person_id)
                .outerjoin(MonthlyReportSettings,
                           MonthlyReportSettings.group_id == WorkingGroup.id)
                .where(col(WorkingGroup.timezone).in_(zones),
                       Membership.role == Role.SECRETARIAT.value,
                       col(Person.blocked_bot_at).is_(None),
                       or_(col(MonthlyReportSettings.group_id).is_(None),
                           col(MonthlyReportSettings.enabled).is_(True)),
                       WorkingGroup.created_at < localize(datetime.combine(
                           add_months(month, 1), time()), "UTC"),
                       ~exists().where(OutboxMessage.key == key))
                .order_by(WorkingGroup.id, Person.id))).all()
            batch = []
            for group_id, person_id, telegram_id, recipients in rows:
                if recipients and person_id not in recipients:
                    continue
                for part in PARTS:
                    batch.append({"key": outbox_key(group_id, month, person_id, part),
                                  "kind": KIND, "chat_id": telegram_id, "due_at": now,
                                  "payload": {"group": group_id, "month": f"{month:%Y-%m}",
                                              "person": person_id, "part": part}})
            added += await enqueue_many(session, batch)
    return added


def register_jobs(ticker, database: Database) -> None:
    async def monthly_report(now: datetime) -> None:
        await queue_reports(database, now)

    ticker.add("monthly_report", monthly_report)

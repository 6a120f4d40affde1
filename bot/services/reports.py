"""Anonymous concern reports: cases, receipts, follow-up, anti-abuse counters, notifications,
statistics and retention. No Telegram here; see DESIGN.md, "the privacy model".

What a case row holds: the group (or, encrypted, the groups a reporter hesitated between), the
category, urgency, language, status, dates to the day, an Argon2 hash of the receipt and the
encrypted content. Never who reported it.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from sqlalchemy import delete, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import storage.report_tables  # noqa: F401  (registers the tables)
from bot.delivery import outbox
from bot.refusals import Refusal
from bot.services.groups import is_secretariat, members
from bot.services.report_crypto import ReportCipher, ReportKeyError, ReportUnreadable, get_cipher
from storage.database import Database
from storage.models import Membership, OutboxMessage, OutboxStatus, Person, Role, WorkingGroup
from storage.report_tables import ReportCase, ReportEvent, ReportGroupSettings

log = logging.getLogger(__name__)

CATEGORIES = (
    "public_security", "private_security", "land", "compensation", "employment",
    "environment", "harassment", "other",
)
STATUSES = ("received", "acknowledged", "under_review", "referred", "resolved", "closed")
PART_KINDS = ("text", "voice", "photo")

REPORTS_PER_DAY = 5
WRONG_CODES_PER_HOUR = 5
WHERE_MAX = 300
WHEN_MAX = 100
TEXT_MAX = 3500
PARTS_MAX = 20
REPLY_MAX = 3000
EMERGENCY_MAX = 1000
RETENTION_MIN, RETENTION_MAX = 30, 3650
ACK_MIN, ACK_MAX = 1, 60
RETENTION_WARNING = timedelta(days=7)
DIGEST_WINDOW = timedelta(minutes=30)
SUPPRESS_BELOW = 3

KIND_DIGEST = "reports-digest"
KIND_URGENT = "reports-urgent"
KIND_REMINDER = "reports-reminder"
KIND_RETENTION = "reports-retention"
KIND_REPLY = "reports-reply"
OUTBOX_KINDS = (KIND_DIGEST, KIND_URGENT, KIND_REMINDER, KIND_RETENTION, KIND_REPLY)


class ReportError(Refusal):
    """A report operation was refused; `code` names the reason for a localized message."""


@dataclass
class Draft:
    """What a reporter has told so far (kept in the conversation state until submitted)."""

    language: str
    group_id: int | None = None
    candidates: list[int] = field(default_factory=list)
    category: str | None = None
    urgent: bool | None = None
    where: str | None = None
    when: str | None = None
    parts: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "language": self.language, "group_id": self.group_id, "candidates": self.candidates,
            "category": self.category, "urgent": self.urgent, "where": self.where,
            "when": self.when, "parts": self.parts,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Draft:
        return cls(**{k: data.get(k) for k in (
            "language", "group_id", "category", "urgent", "where", "when")},
            candidates=list(data.get("candidates") or []), parts=list(data.get("parts") or []))


def today_of(now: datetime) -> date:
    return now.astimezone(UTC).date()


def day_start(now: datetime) -> datetime:
    """`now` coarsened to the day: what the report tables and their notices keep of a time."""
    return datetime.combine(today_of(now), datetime.min.time(), tzinfo=UTC)


SEALED_CHAT = 0  # an outbox row's chat id when the real one is sealed in its payload


# -- validation of what a reporter sends ------------------------------------------------------
def clean_line(text: str | None, limit: int, code: str) -> str:
    value = " ".join((text or "").split())
    if not value:
        raise ReportError(f"{code}_empty")
    if len(value) > limit:
        raise ReportError(f"{code}_long", max=limit)
    return value


def add_part(parts: list[dict[str, str]], kind: str, value: str | None) -> list[dict[str, str]]:
    """Append a text, voice note or photo to the parts of a report (limits enforced)."""
    if kind not in PART_KINDS or not value:
        raise ReportError("part_kind")
    if len(parts) >= PARTS_MAX:
        raise ReportError("parts_many", max=PARTS_MAX)
    if kind == "text":
        value = value.strip()
        if not value:
            raise ReportError("part_kind")
        if len(value) > TEXT_MAX:
            raise ReportError("text_long", max=TEXT_MAX)
    return [*parts, {"kind": kind, "value": value}]


def check_draft(draft: Draft) -> None:
    if draft.category not in CATEGORIES or draft.urgent is None:
        raise ReportError("incomplete")
    if not draft.where or not draft.when or not draft.parts:
        raise ReportError("incomplete")
    if draft.group_id is None:  # one group only: see handlers/reports.py's _ask_group
        raise ReportError("incomplete")


# -- anti-abuse counters ------------------------------------------------------------------------
class Counters(Protocol):
    """Anti-abuse counters per user and period, kept where nothing links them at rest (see
    bot/rate_limits.py): never in the database."""

    async def count(self, kind: str, user_id: int, now: datetime) -> int: ...

    async def hit(self, kind: str, user_id: int, now: datetime) -> int: ...


async def check_report_allowed(counters: Counters, user_id: int, now: datetime) -> None:
    if await counters.count("report", user_id, now) >= REPORTS_PER_DAY:
        raise ReportError("too_many_reports", max=REPORTS_PER_DAY)


# -- settings per group -------------------------------------------------------------------------
async def group_settings(session: AsyncSession, group_id: int) -> ReportGroupSettings:
    found = await session.get(ReportGroupSettings, group_id)
    return found or ReportGroupSettings(group_id=group_id)


async def update_settings(
    session: AsyncSession, group: WorkingGroup, *, emergency: str | None = None,
    retention_days: int | None = None, ack_days: int | None = None,
) -> ReportGroupSettings:
    current = await session.get(ReportGroupSettings, group.id)
    if current is None:
        current = ReportGroupSettings(group_id=group.id)
    if emergency is not None:
        emergency = emergency.strip()
        if len(emergency) > EMERGENCY_MAX:
            raise ReportError("emergency_long", max=EMERGENCY_MAX)
        current.emergency_contacts = emergency
    if retention_days is not None:
        if not RETENTION_MIN <= retention_days <= RETENTION_MAX:
            raise ReportError("retention_range", min=RETENTION_MIN, max=RETENTION_MAX)
        current.retention_days = retention_days
    if ack_days is not None:
        if not ACK_MIN <= ack_days <= ACK_MAX:
            raise ReportError("ack_range", min=ACK_MIN, max=ACK_MAX)
        current.ack_days = ack_days
    current.updated_at = datetime.now(UTC)
    session.add(current)
    await session.flush()
    return current


async def emergency_contacts(session: AsyncSession, group_ids: Iterable[int]) -> list[tuple[
        WorkingGroup, str]]:
    found = []
    for group_id in group_ids:
        group = await session.get(WorkingGroup, group_id)
        settings = await group_settings(session, group_id)
        if group is not None and settings.emergency_contacts:
            found.append((group, settings.emergency_contacts))
    return found


# -- submitting and following up ---------------------------------------------------------------
async def take_report_quota(counters: Counters, user_id: int, now: datetime) -> None:
    """Count one report against the user's daily limit, or refuse. Nothing is written to the
    database: the case's transaction holds the case only."""
    await check_report_allowed(counters, user_id, now)
    await counters.hit("report", user_id, now)


async def submit(
    session: AsyncSession, cipher: ReportCipher, draft: Draft, now: datetime, receipt: str,
) -> ReportCase:
    """File the report. Nothing of who sent it is given to this function."""
    check_draft(draft)
    today = today_of(now)
    receipt_hash = await asyncio.to_thread(cipher.receipt_hash, receipt)  # slow by design
    groups = [draft.group_id]
    ack_days = min([(await group_settings(session, g)).ack_days for g in groups])
    # The reporter's other groups are never stored: they would fingerprint the reporter.
    content = {"where": draft.where, "when": draft.when, "parts": draft.parts}
    case = ReportCase(
        group_id=draft.group_id, key_id=cipher.key_id_hex, category=draft.category,
        urgent=bool(draft.urgent), language=draft.language, status="received",
        submitted_on=today, ack_due_on=today + timedelta(days=ack_days),
        receipt_hash=receipt_hash, content=cipher.encrypt(content, "content"),
    )
    session.add(case)
    await session.flush()
    session.add(ReportEvent(case_id=case.id, on_day=today, kind="submitted", status="received"))
    await announce(session, groups, now, urgent=case.urgent)
    await session.flush()
    return case


def read_content(cipher: ReportCipher, case: ReportCase) -> dict:
    value = cipher.decrypt(case.content, "content")
    return value if isinstance(value, dict) else {}


def read_body(cipher: ReportCipher, event: ReportEvent) -> dict:
    if event.body is None:
        return {}
    value = cipher.decrypt(event.body, "event")
    return value if isinstance(value, dict) else {}


async def case_by_receipt(
    session: AsyncSession, cipher: ReportCipher, counters: Counters, receipt: str, user_id: int,
    now: datetime,
) -> ReportCase:
    """The case of a receipt. Wrong codes count against the user (per hour, see Counters)."""
    if await counters.count("receipt", user_id, now) >= WRONG_CODES_PER_HOUR:
        raise ReportError("too_many_codes", max=WRONG_CODES_PER_HOUR)
    receipt_hash = await asyncio.to_thread(cipher.receipt_hash, receipt)  # slow by design
    found = (await session.exec(
        select(ReportCase).where(ReportCase.receipt_hash == receipt_hash))).first()
    if found is not None:
        return found
    await counters.hit("receipt", user_id, now)
    other_key = (await session.exec(
        select(func.count()).select_from(ReportCase)
        .where(ReportCase.key_id != cipher.key_id_hex))).one()
    raise ReportError("key_changed" if other_key else "wrong_code")


async def foreign_key_ids(session: AsyncSession, cipher: ReportCipher) -> list[str]:
    """Key ids of the reports sealed with another key than `cipher`'s (none if it matches)."""
    return list((await session.exec(
        select(ReportCase.key_id).where(ReportCase.key_id != cipher.key_id_hex).distinct()
    )).all())


async def history(
    session: AsyncSession, case: ReportCase
) -> list[tuple[ReportEvent, Person | None]]:
    rows = await session.exec(
        select(ReportEvent, Person)
        .join(Person, col(Person.id) == col(ReportEvent.actor_id), isouter=True)
        .where(ReportEvent.case_id == case.id)
        .order_by(ReportEvent.id)
    )
    return list(rows.all())


async def add_reporter_info(
    session: AsyncSession, cipher: ReportCipher, case: ReportCase, parts: list[dict[str, str]],
    now: datetime,
) -> ReportEvent:
    if not parts:
        raise ReportError("incomplete")
    event = ReportEvent(case_id=case.id, on_day=today_of(now), kind="info",
                        body=cipher.encrypt({"parts": parts}, "event"))
    case.reporter_update = True
    session.add_all([event, case])
    await session.flush()
    groups = await case_groups(cipher, case)
    await announce(session, groups, now, urgent=False)
    return event


async def set_reply_notifications(
    session: AsyncSession, cipher: ReportCipher, case: ReportCase, chat_id: int | None
) -> None:
    """Keep (encrypted) where to tell the reporter about replies, or forget it."""
    case.notify_to = None if chat_id is None else cipher.encrypt({"chat": chat_id}, "notify")
    if chat_id is None:
        case.reply_pending = False
    session.add(case)
    await session.flush()


# -- the secretariat ----------------------------------------------------------------------------
async def secretariat_groups(session: AsyncSession, person: Person) -> list[WorkingGroup]:
    rows = await session.exec(
        select(WorkingGroup)
        .join(Membership, Membership.group_id == WorkingGroup.id)
        .where(Membership.person_id == person.id, Membership.role == Role.SECRETARIAT.value)
        .order_by(WorkingGroup.name)
    )
    return list(rows.all())


async def case_groups(cipher: ReportCipher, case: ReportCase) -> list[int]:
    """The group of a case, or the groups its reporter hesitated between."""
    if case.group_id is not None:
        return [case.group_id]
    try:
        return [int(g) for g in read_content(cipher, case).get("candidates", [])]
    except ReportUnreadable:
        return []


async def visible_cases(
    session: AsyncSession, cipher: ReportCipher, person: Person, *, include_closed: bool = False,
) -> list[ReportCase]:
    allowed = {g.id for g in await secretariat_groups(session, person)}
    if not allowed:
        return []
    query = select(ReportCase).where(
        (col(ReportCase.group_id).in_(allowed)) | (col(ReportCase.group_id).is_(None)))
    if not include_closed:
        query = query.where(ReportCase.status != "closed")
    found = []
    for case in (await session.exec(query.order_by(ReportCase.id))).all():
        if set(await case_groups(cipher, case)) & allowed:
            found.append(case)
    return found


async def case_for(
    session: AsyncSession, cipher: ReportCipher, person: Person | None, case_id: int
) -> ReportCase:
    """The case if `person` is in the secretariat of its group; else ReportError."""
    case = await session.get(ReportCase, case_id)
    if person is None or case is None:
        raise ReportError("no_case", number=case_id)
    allowed = {g.id for g in await secretariat_groups(session, person)}
    if not set(await case_groups(cipher, case)) & allowed:
        raise ReportError("no_case", number=case_id)
    return case


async def _record(
    session: AsyncSession, case: ReportCase, kind: str, actor: Person, now: datetime, *,
    status: str | None = None, body: bytes | None = None,
) -> ReportEvent:
    event = ReportEvent(case_id=case.id, on_day=today_of(now), kind=kind, status=status,
                        actor_id=actor.id, body=body)
    session.add_all([event, case])
    await session.flush()
    return event


async def set_status(
    session: AsyncSession, case: ReportCase, status: str, actor: Person, now: datetime
) -> ReportEvent:
    if status not in STATUSES:
        raise ReportError("status")
    if status == case.status:
        raise ReportError("same_status")
    today = today_of(now)
    if status != "received" and case.acknowledged_on is None:
        case.acknowledged_on = today
    case.closed_on = today if status == "closed" else None
    case.retention_warned = False
    case.status = status
    kind = "acknowledged" if status == "acknowledged" else "status"
    return await _record(session, case, kind, actor, now, status=status)


async def acknowledge(
    session: AsyncSession, case: ReportCase, actor: Person, now: datetime
) -> ReportEvent:
    if case.acknowledged_on is not None:
        raise ReportError("already_acknowledged")
    return await set_status(session, case, "acknowledged", actor, now)


async def add_note(
    session: AsyncSession, cipher: ReportCipher, case: ReportCase, actor: Person, text: str,
    now: datetime, *, reply: bool = False,
) -> ReportEvent:
    text = (text or "").strip()
    if not text:
        raise ReportError("note_empty")
    if len(text) > REPLY_MAX:
        raise ReportError("note_long", max=REPLY_MAX)
    if reply and case.notify_to is not None:
        case.reply_pending = True
    body = cipher.encrypt({"text": text}, "event")
    return await _record(session, case, "reply" if reply else "note", actor, now, body=body)


async def mark_seen(session: AsyncSession, case: ReportCase) -> None:
    if case.reporter_update:
        case.reporter_update = False
        session.add(case)
        await session.flush()


# -- notifications through the outbox ---------------------------------------------------------
async def secretariat_of(session: AsyncSession, group_id: int) -> list[Person]:
    group = await session.get(WorkingGroup, group_id)
    if group is None:
        return []
    return [p for p, m in await members(session, group) if is_secretariat(m)]


def window_start(now: datetime) -> datetime:
    now = now.astimezone(UTC)
    return now.replace(minute=now.minute - now.minute % 30, second=0, microsecond=0)


async def announce(
    session: AsyncSession, group_ids: Iterable[int], now: datetime, *, urgent: bool
) -> int:
    """Tell each secretariat member, without content: at once if urgent, else in the batch of
    the current 30-minute window (one message per member and window)."""
    added = 0
    start = window_start(now)
    for group_id in group_ids:
        for person in await secretariat_of(session, group_id):
            if urgent:  # due at once: the start of the day is past, and tells only the day
                key = f"{KIND_URGENT}:{group_id}:{person.id}:{secrets.token_hex(8)}"
                kind, due = KIND_URGENT, day_start(now)
            else:
                key = f"{KIND_DIGEST}:{group_id}:{person.id}:{start.isoformat()}"
                kind, due = KIND_DIGEST, start + DIGEST_WINDOW
            added += await outbox.enqueue(session, key=key, kind=kind,
                                          chat_id=person.telegram_id, due_at=due,
                                          payload={"group_id": group_id},
                                          created_at=day_start(now))
    return added


@dataclass(frozen=True)
class GroupCounts:
    unacknowledged: int
    overdue: int
    updated: int


async def group_counts(
    session: AsyncSession, cipher: ReportCipher | None, group_id: int, today: date
) -> GroupCounts:
    cases = [c for c in (await session.exec(
        select(ReportCase).where(ReportCase.status != "closed"))).all()
        if c.group_id == group_id or (c.group_id is None and cipher is not None
                                      and group_id in await case_groups(cipher, c))]
    unacknowledged = [c for c in cases if c.acknowledged_on is None]
    return GroupCounts(
        unacknowledged=len(unacknowledged),
        overdue=sum(1 for c in unacknowledged if c.ack_due_on < today),
        updated=sum(1 for c in cases if c.reporter_update),
    )


async def closing_soon(
    session: AsyncSession, cipher: ReportCipher | None, group_id: int, today: date
) -> list[tuple[ReportCase, date]]:
    """Closed cases of the group that will be deleted within the warning period."""
    rows = (await session.exec(select(ReportCase).where(
        (ReportCase.group_id == group_id) | col(ReportCase.group_id).is_(None),
        ReportCase.status == "closed"))).all()
    soon = []
    for case in rows:
        if case.group_id is None and (
                cipher is None or group_id not in await case_groups(cipher, case)):
            continue
        day = await deletion_day(session, cipher, case)
        if day is not None and day - RETENTION_WARNING <= today:
            soon.append((case, day))
    return soon


async def remind_overdue(session: AsyncSession, cipher: ReportCipher, now: datetime) -> int:
    """Once a day, remind the secretariat of unacknowledged cases past their deadline."""
    today = today_of(now)
    rows = (await session.exec(select(ReportCase).where(
        col(ReportCase.acknowledged_on).is_(None), ReportCase.status != "closed",
        ReportCase.ack_due_on < today,
        or_(col(ReportCase.reminded_on).is_(None), ReportCase.reminded_on != today)))).all()
    groups: set[int] = set()
    for case in rows:
        if case.reminded_on == today:
            continue
        groups.update(await case_groups(cipher, case))
        case.reminded_on = today
        session.add(case)
    added = 0
    for group_id in sorted(groups):
        for person in await secretariat_of(session, group_id):
            key = f"{KIND_REMINDER}:{group_id}:{person.id}:{today.isoformat()}"
            added += await outbox.enqueue(session, key=key, kind=KIND_REMINDER,
                                          chat_id=person.telegram_id, due_at=now,
                                          payload={"group_id": group_id})
    await session.flush()
    return added


async def deletion_day(
    session: AsyncSession, cipher: ReportCipher | None, case: ReportCase
) -> date | None:
    """When a closed case is deleted: the shortest retention among its groups."""
    if case.closed_on is None:
        return None
    groups = await case_groups(cipher, case) if cipher is not None else (
        [case.group_id] if case.group_id is not None else [])
    days = [(await group_settings(session, g)).retention_days for g in groups]
    keep = min(days) if days else ReportGroupSettings(group_id=0).retention_days
    return case.closed_on + timedelta(days=keep)


async def apply_retention(
    session: AsyncSession, now: datetime, cipher: ReportCipher | None = None
) -> tuple[int, int]:
    """Warn a week before closed cases are deleted, and delete those past retention.

    Returns (warnings enqueued, cases deleted)."""
    today = today_of(now)
    warned = deleted = 0
    # Only cases within the warning period of the shortest retention in use can be due.
    shortest = min([ReportGroupSettings(group_id=0).retention_days] + list((await session.exec(
        select(ReportGroupSettings.retention_days).distinct())).all()))
    closed = (await session.exec(select(ReportCase).where(
        ReportCase.status == "closed", col(ReportCase.closed_on).is_not(None),
        ReportCase.closed_on <= today - timedelta(days=shortest) + RETENTION_WARNING))).all()
    warn_groups: set[int] = set()
    for case in closed:
        delete_on = await deletion_day(session, cipher, case)
        if delete_on is None:
            continue
        if delete_on <= today:
            await session.delete(case)
            deleted += 1
        elif delete_on - RETENTION_WARNING <= today and not case.retention_warned:
            case.retention_warned = True
            session.add(case)
            if cipher is not None:
                warn_groups.update(await case_groups(cipher, case))
            elif case.group_id is not None:
                warn_groups.add(case.group_id)
    await session.flush()
    for group_id in sorted(warn_groups):
        for person in await secretariat_of(session, group_id):
            key = f"{KIND_RETENTION}:{group_id}:{person.id}:{today.isoformat()}"
            warned += await outbox.enqueue(session, key=key, kind=KIND_RETENTION,
                                           chat_id=person.telegram_id, due_at=now,
                                           payload={"group_id": group_id})
    return warned, deleted


async def notify_replies(session: AsyncSession, cipher: ReportCipher, now: datetime) -> int:
    """Tell reporters who asked for it that there is a reply (no content, no case number)."""
    rows = (await session.exec(select(ReportCase).where(
        col(ReportCase.reply_pending).is_(True)))).all()
    added = 0
    for case in rows:
        case.reply_pending = False
        session.add(case)
        if case.notify_to is None:
            continue
        try:
            chat = int(cipher.decrypt(case.notify_to, "notify")["chat"])  # type: ignore[index]
        except (ReportUnreadable, KeyError, TypeError, ValueError):
            continue
        # The row keeps no chat id in clear (0 stands for "in the payload, sealed"), and no time
        # finer than the day; it is deleted once delivered (purge_delivered).
        sealed = base64.b64encode(cipher.encrypt({"chat": chat}, "notify-outbox")).decode()
        added += await outbox.enqueue(
            session, key=f"{KIND_REPLY}:{secrets.token_hex(12)}", kind=KIND_REPLY,
            chat_id=SEALED_CHAT, due_at=day_start(now), created_at=day_start(now),
            payload={"language": case.language, "to": sealed})
    await session.flush()
    return added


def reply_recipient(cipher: ReportCipher | None, row: OutboxMessage) -> int | None:
    """The reporter's chat of an answer notice, unsealed at send time (None if unreadable)."""
    sealed = row.payload.get("to")
    if cipher is None or not isinstance(sealed, str):
        return None
    try:
        value = cipher.decrypt(base64.b64decode(sealed), "notify-outbox")
        return int(value["chat"])  # type: ignore[index]
    except (ReportUnreadable, KeyError, TypeError, ValueError):
        return None


async def purge_delivered(session: AsyncSession) -> int:
    """Delete this feature's outbox rows once delivered: they name secretariat members and,
    for reply notices, a reporter's chat; nothing of that must outlive its delivery."""
    done = (OutboxStatus.SENT.value, OutboxStatus.SKIPPED.value, OutboxStatus.FAILED.value,
            OutboxStatus.CANCELLED.value)
    result = await session.exec(delete(OutboxMessage).where(
        col(OutboxMessage.kind).in_(OUTBOX_KINDS), col(OutboxMessage.status).in_(done)))
    return result.rowcount or 0


def register_jobs(ticker, database: Database, data_dir=None) -> None:
    """Ticker jobs: reminders, retention, reply notices and the purge of delivered notices."""

    async def reports_job(now: datetime) -> None:
        try:
            cipher = get_cipher(data_dir)
        except ReportKeyError as exc:
            log.error("concern reports: %s", exc)
            return
        async with database.session() as session:
            await remind_overdue(session, cipher, now)
            await apply_retention(session, now, cipher)
            await notify_replies(session, cipher, now)

    async def purge_job(now: datetime) -> None:
        async with database.session() as session:
            await purge_delivered(session)

    ticker.add("reports", reports_job)
    ticker.add("reports-purge", purge_job)


# -- statistics ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class MonthlyStats:
    months: list[str]
    by_category: dict[str, Counter]  # month -> category -> count
    by_status: dict[str, Counter]


async def monthly_stats(
    session: AsyncSession, group_id: int, today: date, months: int = 12
) -> MonthlyStats:
    first = date(today.year, today.month, 1)
    for _ in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    rows = (await session.exec(select(ReportCase).where(
        ReportCase.group_id == group_id, ReportCase.submitted_on >= first))).all()
    by_category: dict[str, Counter] = {}
    by_status: dict[str, Counter] = {}
    for case in rows:
        month = case.submitted_on.strftime("%Y-%m")
        by_category.setdefault(month, Counter())[case.category] += 1
        by_status.setdefault(month, Counter())[case.status] += 1
    return MonthlyStats(sorted(by_category), by_category, by_status)


@dataclass(frozen=True)
class PublishedMonth:
    """What may be shown of a month: the total (exact from 3 up, else "<3") and, only when no
    count below 3 can be worked out from it, the categories and statuses counted 3 or more."""

    total: str
    by_category: dict[str, int]
    by_status: dict[str, int]


def publish_month(stats: MonthlyStats, month: str) -> PublishedMonth:
    """Cells below 3 are left out, like zeros; if what is left out of a breakdown adds up to 1
    or 2 (the total minus the cells shown would give it away, e.g. "4 in all, Land 3"), the
    month is shown without any breakdown."""
    categories, statuses = stats.by_category[month], stats.by_status[month]
    total = sum(categories.values())
    shown_categories = {k: v for k, v in categories.items() if v >= SUPPRESS_BELOW}
    shown_statuses = {k: v for k, v in statuses.items() if v >= SUPPRESS_BELOW}
    left_out = (total - sum(shown_categories.values()), total - sum(shown_statuses.values()))
    if total < SUPPRESS_BELOW or any(0 < rest < SUPPRESS_BELOW for rest in left_out):
        shown_categories, shown_statuses = {}, {}
    return PublishedMonth(suppressed(total) or "0", shown_categories, shown_statuses)


def suppressed(count: int) -> str | None:
    """A count safe to publish: None for zero, "<3" for 1 and 2."""
    if count <= 0:
        return None
    return f"<{SUPPRESS_BELOW}" if count < SUPPRESS_BELOW else str(count)


# -- leaving no trace of a reporter -------------------------------------------------------------
async def count_cases(session: AsyncSession) -> int:
    return int((await session.exec(select(func.count()).select_from(ReportCase))).one())

"""Working groups, their settings, members and roles."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import LANGUAGES, check_timezone
from bot.refusals import Refusal
from storage.calendar_tables import CalendarSettings, ReminderMute
from storage.database import memo, note_absent
from storage.models import GroupLevel, Membership, Person, Pillar, Role, WorkingGroup

NAME_MAX = 120
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class GroupError(Refusal):
    """A group operation was refused; `code` names the reason for a localized message."""


@dataclass(frozen=True)
class SetupRequest:
    name: str
    timezone: str | None


def parse_setup_args(args: str | None) -> SetupRequest | None:
    """`NAME` or `NAME | Zone/Name`; None when no arguments were given."""
    if not args or not args.strip():
        return None
    name, _, zone = args.partition("|")
    name = " ".join(name.replace("\x00", "").split())  # PostgreSQL text cannot hold NUL
    zone = zone.replace("\x00", "").strip() or None
    if not name:
        raise GroupError("name_empty")
    if len(name) > NAME_MAX:
        raise GroupError("name_long", max=NAME_MAX)
    if zone is not None:
        try:
            check_timezone(zone)
        except ValueError:
            raise GroupError("timezone", zone=zone) from None
    return SetupRequest(name=name, timezone=zone)


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


async def get_group(session: AsyncSession, chat_id: int) -> WorkingGroup | None:
    result = await session.exec(select(WorkingGroup).where(WorkingGroup.chat_id == chat_id))
    return result.first()


# Statements run by most updates are built once, with bound parameters: building one costs more
# CPU than running it (SQLAlchemy caches the compiled SQL, not the statement objects).
_CHAT_CONTEXT = (
    select(WorkingGroup, Person, Membership, CalendarSettings, ReminderMute)
    .select_from(WorkingGroup)
    .outerjoin(Person, Person.telegram_id == bindparam("telegram_id"))
    .outerjoin(Membership, and_(Membership.group_id == WorkingGroup.id,
                                Membership.person_id == Person.id))
    .outerjoin(CalendarSettings, CalendarSettings.group_id == WorkingGroup.id)
    .outerjoin(ReminderMute, ReminderMute.person_id == Person.id)
    .where(WorkingGroup.chat_id == bindparam("chat_id")))
_SECRETARIAT = (
    select(Person)
    .join(Membership, Membership.person_id == Person.id)
    .where(Membership.group_id == bindparam("group_id"),
           Membership.role == Role.SECRETARIAT.value)
    .order_by(Person.full_name, Person.id))
_GROUPS_OF = (
    select(WorkingGroup, Membership)
    .join(Membership, Membership.group_id == WorkingGroup.id)
    .where(Membership.person_id == bindparam("person_id"))
    .order_by(WorkingGroup.name))


async def chat_context(
    session: AsyncSession, telegram_id: int, chat_id: int
) -> tuple[WorkingGroup, Person | None, Membership | None] | None:
    """The working group of a chat, the person with that Telegram id and their membership in
    one query (None when the chat is no working group's). The group's calendar settings and
    the person's reminder mute come with it, for the RSVP presses and cards that read them."""
    row = (await session.exec(_CHAT_CONTEXT, params={"telegram_id": telegram_id,
                                                     "chat_id": chat_id})).first()
    if row is None:
        return None
    group, person, membership, settings, mute = row
    if person is not None:
        memo(session)[("membership", group.id, person.id)] = membership
    if settings is None:
        note_absent(session, CalendarSettings, group.id)
    if person is not None and mute is None:
        note_absent(session, ReminderMute, person.id)
    return group, person, membership


async def get_group_by_code(session: AsyncSession, code: str) -> WorkingGroup | None:
    result = await session.exec(select(WorkingGroup).where(WorkingGroup.code == code.upper()))
    return result.first()


async def register_group(
    session: AsyncSession,
    chat_id: int,
    request: SetupRequest,
    *,
    default_timezone: str,
    default_language: str,
    secretariat: Iterable[Person],
) -> WorkingGroup:
    """Register a chat as a working group; the given people become its secretariat."""
    if await get_group(session, chat_id) is not None:
        raise GroupError("already_registered")
    group = WorkingGroup(
        chat_id=chat_id,
        code=new_code(),
        name=request.name,
        timezone=request.timezone or default_timezone,
        language=default_language,
    )
    session.add(group)
    try:
        await session.flush()
    except IntegrityError:
        raise GroupError("already_registered") from None
    for person in secretariat:
        await ensure_member(session, group, person, role=Role.SECRETARIAT)
    return group


async def update_group(
    session: AsyncSession,
    group: WorkingGroup,
    *,
    name: str | None = None,
    timezone: str | None = None,
    level: str | None = None,
    language: str | None = None,
) -> WorkingGroup:
    if name is not None:
        group.name = name
    if timezone is not None:
        try:
            group.timezone = check_timezone(timezone)
        except ValueError:
            raise GroupError("timezone", zone=timezone) from None
    if level is not None:
        if level not in {lv.value for lv in GroupLevel}:
            raise GroupError("level")
        group.level = level
    if language is not None:
        if language not in LANGUAGES:
            raise GroupError("language")
        group.language = language
    session.add(group)
    await session.flush()
    return group


async def get_membership(
    session: AsyncSession, group: WorkingGroup, person: Person
) -> Membership | None:
    key = ("membership", group.id, person.id)
    known = memo(session)
    if key in known:
        return known[key]
    result = await session.exec(
        select(Membership).where(
            Membership.group_id == group.id, Membership.person_id == person.id
        )
    )
    return result.first()


async def ensure_member(
    session: AsyncSession, group: WorkingGroup, person: Person, *, role: Role | None = None
) -> tuple[Membership, bool]:
    """Make `person` a member (with `role` if given); returns the membership and whether new."""
    membership = await get_membership(session, group, person)
    created = membership is None
    if membership is None:
        membership = Membership(group_id=group.id, person_id=person.id)
        membership.role = (role or Role.MEMBER).value
    elif role is not None:
        membership.role = role.value
    try:
        async with session.begin_nested():
            session.add(membership)
    except IntegrityError:  # joined concurrently by another update
        membership = await get_membership(session, group, person)
        created = False
        if membership is None:
            raise
    return membership, created


def is_secretariat(membership: Membership | None) -> bool:
    return membership is not None and membership.role == Role.SECRETARIAT.value


async def grant_secretariat(
    session: AsyncSession, group: WorkingGroup, target: Person
) -> Membership:
    membership, _ = await ensure_member(session, group, target)
    if is_secretariat(membership):
        raise GroupError("already_secretariat")
    membership.role = Role.SECRETARIAT.value
    session.add(membership)
    await session.flush()
    return membership


async def revoke_secretariat(
    session: AsyncSession, group: WorkingGroup, target: Person
) -> Membership:
    membership = await get_membership(session, group, target)
    if not is_secretariat(membership):
        raise GroupError("not_secretariat")
    if await count_secretariat(session, group) <= 1:
        raise GroupError("last_secretariat")
    membership.role = Role.MEMBER.value
    session.add(membership)
    await session.flush()
    return membership


async def count_secretariat(session: AsyncSession, group: WorkingGroup) -> int:
    result = await session.exec(
        select(func.count())
        .select_from(Membership)
        .where(Membership.group_id == group.id, Membership.role == Role.SECRETARIAT.value)
    )
    return int(result.one())


async def members(
    session: AsyncSession, group: WorkingGroup
) -> list[tuple[Person, Membership]]:
    result = await session.exec(
        select(Person, Membership)
        .join(Membership, Membership.person_id == Person.id)
        .where(Membership.group_id == group.id)
        .order_by(Person.full_name, Person.id)
    )
    return list(result.all())


async def secretariat_members(session: AsyncSession, group: WorkingGroup) -> list[Person]:
    """The group's secretariat, in the order of `members`, selected by the database (the other
    members are not loaded)."""
    result = await session.exec(_SECRETARIAT, params={"group_id": group.id})
    return list(result.all())


async def members_by_pillar(
    session: AsyncSession, group: WorkingGroup
) -> dict[str | None, list[tuple[Person, Membership]]]:
    """Members grouped by pillar, in the pillar order of the model; unset pillar last."""
    grouped: dict[str | None, list[tuple[Person, Membership]]] = {}
    for person, membership in await members(session, group):
        grouped.setdefault(person.pillar, []).append((person, membership))
    order = [p.value for p in Pillar] + [None]
    return {key: grouped[key] for key in order if key in grouped}


async def groups_of(session: AsyncSession, person: Person) -> list[tuple[WorkingGroup, Membership]]:
    result = await session.exec(_GROUPS_OF, params={"person_id": person.id})
    return list(result.all())

"""People known to the bot and their profiles (pillar, organisation, language, co-chair)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import LANGUAGES, check_timezone
from bot.refusals import Refusal
from storage.models import Person, Pillar

ORGANISATION_MAX = 120


class ProfileError(Refusal):
    """A profile value was refused; `code` names the reason for a localized message."""


@dataclass(frozen=True)
class TelegramIdentity:
    """What the bot knows of a Telegram user from an update (no Telegram types here)."""

    telegram_id: int
    full_name: str
    username: str | None = None
    language_code: str | None = None


_BY_TELEGRAM_ID = select(Person).where(Person.telegram_id == bindparam("telegram_id"))


async def get_person(session: AsyncSession, telegram_id: int) -> Person | None:
    result = await session.exec(_BY_TELEGRAM_ID, params={"telegram_id": telegram_id})
    return result.first()


async def touch_person(
    session: AsyncSession, who: TelegramIdentity, *, create: bool = True
) -> Person:
    """Find or create the person for a Telegram user, refreshing name, username and language.

    With `create=False` an unknown user gets a Person that is not stored: it is written only if
    a service later changes it (a profile field, a language), so someone who merely talks to the
    bot (a reporter, someone asking a question) leaves no row behind.
    """
    return await refresh_identity(session, await get_person(session, who.telegram_id), who,
                                  create=create)


async def refresh_identity(
    session: AsyncSession, person: Person | None, who: TelegramIdentity, *, create: bool = True
) -> Person:
    """`touch_person` for a person already looked up (None: not stored yet)."""
    if person is None:
        person = Person(telegram_id=who.telegram_id)
        if not create:
            person.full_name = who.full_name[:200]
            person.username = (who.username or None) and who.username[:64]
            person.telegram_language = (who.language_code or None) and who.language_code[:16]
            return person
    changed = person.id is None
    fields = {
        "full_name": who.full_name[:200],
        "username": (who.username or None) and who.username[:64],
        "telegram_language": (who.language_code or None) and who.language_code[:16],
    }
    for name, value in fields.items():
        if getattr(person, name) != value:
            setattr(person, name, value)
            changed = True
    if changed:
        session.add(person)
        await session.flush()
    return person


async def ensure_stored(session: AsyncSession, person: Person) -> Person:
    """Write a person met in a private chat (see touch_person) before something refers to them."""
    if person.id is None:
        session.add(person)
        await session.flush()
    return person


async def find_by_username(session: AsyncSession, username: str) -> Person | None:
    username = username.lstrip("@").lower()
    if not username:
        return None
    result = await session.exec(select(Person).where(func.lower(Person.username) == username))
    return result.first()


async def set_language(session: AsyncSession, person: Person, language: str) -> None:
    if language not in LANGUAGES:
        raise ProfileError("language")
    person.language = language
    session.add(person)
    await session.flush()


async def set_pillar(session: AsyncSession, person: Person, pillar: str) -> None:
    if pillar not in {p.value for p in Pillar}:
        raise ProfileError("pillar")
    person.pillar = pillar
    session.add(person)
    await session.flush()


async def set_organisation(session: AsyncSession, person: Person, organisation: str) -> None:
    organisation = " ".join(organisation.split())
    if not organisation:
        raise ProfileError("organisation_empty")
    if len(organisation) > ORGANISATION_MAX:
        raise ProfileError("organisation_long")
    person.organisation = organisation
    session.add(person)
    await session.flush()


async def set_timezone(session: AsyncSession, person: Person, zone: str) -> None:
    try:
        person.timezone = check_timezone(zone.strip())
    except ValueError:
        raise ProfileError("timezone") from None
    session.add(person)
    await session.flush()


async def toggle_cochair(session: AsyncSession, person: Person) -> bool:
    person.willing_cochair = not person.willing_cochair
    session.add(person)
    await session.flush()
    return person.willing_cochair


async def note_private_chat(session: AsyncSession, person: Person, now: datetime) -> None:
    """The person wrote to the bot in a private chat: the bot may write to them there."""
    if person.id is not None and person.private_chat_at is None:
        person.private_chat_at = now
        session.add(person)


def unreachable_privately(person: Person) -> bool:
    """Whether private messages to the person fail: they never opened the private chat with the
    bot, or Telegram refused a delivery (blocked, or "bot can't initiate conversation")."""
    return person.private_chat_at is None or person.blocked_bot_at is not None


async def claim_private_chat_hint(session: AsyncSession, person: Person, now: datetime) -> bool:
    """True once per person, when they cannot be reached privately: the caller tells them then
    (in a group) that private reminders need the private chat. A conditional update, so that
    two presses at once do not both tell them."""
    if person.id is None or person.private_hint_at is not None \
            or not unreachable_privately(person):
        return False
    result = await session.exec(
        update(Person).where(Person.id == person.id, Person.private_hint_at.is_(None))
        .values(private_hint_at=now))
    if result.rowcount != 1:
        return False
    person.private_hint_at = now
    return True

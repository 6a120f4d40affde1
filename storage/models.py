"""SQLModel tables. Instants are stored in UTC; each group carries its IANA time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(nullable: bool = False) -> Column:
    return Column(DateTime(timezone=True), nullable=nullable)


class GroupLevel(StrEnum):
    NATIONAL = "national"
    PROVINCIAL = "provincial"
    LOCAL = "local"
    OPERATIONAL = "operational"


class Pillar(StrEnum):
    COMPANY = "company"
    HOST_GOVERNMENT = "host_government"
    PUBLIC_SECURITY = "public_security"
    PRIVATE_SECURITY = "private_security"
    CIVIL_SOCIETY = "civil_society"
    COMMUNITY = "community"
    HOME_GOVERNMENT = "home_government"
    INTERNATIONAL_ORGANISATION = "international_organisation"
    OTHER = "other"


class Role(StrEnum):
    MEMBER = "member"
    SECRETARIAT = "secretariat"


class WorkingGroup(SQLModel, table=True):
    __tablename__ = "working_group"

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, unique=True, nullable=False, index=True))
    code: str = Field(max_length=16, unique=True, index=True)
    name: str = Field(max_length=120)
    level: str = Field(default=GroupLevel.LOCAL.value, max_length=20)
    timezone: str = Field(max_length=64)
    language: str = Field(default="en", max_length=8)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Person(SQLModel, table=True):
    """A Telegram user known to the bot, with their profile."""

    __tablename__ = "person"

    id: int | None = Field(default=None, primary_key=True)
    telegram_id: int = Field(sa_column=Column(BigInteger, unique=True, nullable=False, index=True))
    username: str | None = Field(default=None, max_length=64)
    full_name: str = Field(default="", max_length=200)
    telegram_language: str | None = Field(default=None, max_length=16)
    language: str | None = Field(default=None, max_length=8)
    timezone: str | None = Field(default=None, max_length=64)
    pillar: str | None = Field(default=None, max_length=40)
    organisation: str | None = Field(default=None, max_length=120)
    willing_cochair: bool = Field(default=False)
    blocked_bot_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    # Since when the person has a private chat with the bot (they wrote in it): before that,
    # Telegram refuses the bot's private messages ("bot can't initiate conversation").
    private_chat_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    # When they were told in a group, once, that private reminders need that chat.
    private_hint_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Membership(SQLModel, table=True):
    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("group_id", "person_id", name="uq_membership"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="working_group.id", index=True, ondelete="CASCADE")
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    role: str = Field(default=Role.MEMBER.value, max_length=20)
    joined_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class OutboxStatus(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"
    CANCELLED = "cancelled"


class OutboxMessage(SQLModel, table=True):
    """A message to send at or after `due_at`; `key` makes each send unique.

    Rendering happens at send time (in the recipient's language), from `kind` and `payload`.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_due", "status", "due_at"),
                      Index("ix_outbox_kind_status", "kind", "status"))

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=40)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    due_at: datetime = Field(sa_column=_ts())
    status: str = Field(default=OutboxStatus.PENDING.value, max_length=12)
    attempts: int = Field(default=0)
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    last_error: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class HandledUpdate(SQLModel, table=True):
    """A Telegram update whose handling was committed (webhook mode): a redelivered update with
    the same id is not handled twice. Only the id is kept, no time and nothing about who sent it;
    old ids are pruned by count."""

    __tablename__ = "handled_update"

    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))

"""SQLModel tables. Instants are stored in UTC; each group carries its IANA time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, DateTime, UniqueConstraint
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
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Membership(SQLModel, table=True):
    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("group_id", "person_id", name="uq_membership"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="working_group.id", index=True, ondelete="CASCADE")
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    role: str = Field(default=Role.MEMBER.value, max_length=20)
    joined_at: datetime = Field(default_factory=utcnow, sa_column=_ts())

"""Tables of the agenda and the co-chair rotation: proposed items per meeting occurrence, agenda
settings, co-chair slots, marks, unavailability and turns, decisions and action items.

An item belongs to one occurrence (meeting id and the epoch second of its original start, as in
storage/calendar_tables.py). The proposer is kept so a decline can be told to them; an anonymous
item's proposer is never shown to anyone.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Column, Date, DateTime, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models import utcnow


def _ts(nullable: bool = False) -> Column:
    return Column(DateTime(timezone=True), nullable=nullable)


class AgendaItem(SQLModel, table=True):
    __tablename__ = "agenda_item"
    __table_args__ = (Index("ix_agenda_item_status_occurrence", "status", "occurrence"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="working_group.id", index=True, ondelete="CASCADE")
    meeting_id: int = Field(foreign_key="meeting.id", index=True, ondelete="CASCADE")
    occurrence: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    text: str = Field(max_length=500)
    proposer_id: int | None = Field(default=None, foreign_key="person.id", ondelete="SET NULL")
    anonymous: bool = Field(default=False)
    # put on the agenda from a concern report: shown with a neutral mark, never the case number
    from_concern: bool = Field(default=False)
    # draft (waiting for the proposer's name choice), pending, accepted, declined, closed
    status: str = Field(default="pending", max_length=12)
    section: str = Field(default="main", max_length=8)  # main or aob
    position: int = Field(default=0)
    late: bool = Field(default=False)
    discussed: bool = Field(default=False)
    carried: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    reviewed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class AgendaSettings(SQLModel, table=True):
    """Per group: how many hours before a meeting proposals close and the agenda is published."""

    __tablename__ = "agenda_settings"

    group_id: int = Field(foreign_key="working_group.id", primary_key=True, ondelete="CASCADE")
    deadline_hours: int = Field(default=48)


class CochairSettings(SQLModel, table=True):
    """Per group: the pillar sets of the co-chair slots and how many days ahead to invite."""

    __tablename__ = "cochair_settings"

    group_id: int = Field(foreign_key="working_group.id", primary_key=True, ondelete="CASCADE")
    slots: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    days_before: int = Field(default=14)


class CochairMark(SQLModel, table=True):
    """A member the secretariat marked eligible to co-chair (besides those willing in /profile)."""

    __tablename__ = "cochair_mark"

    group_id: int = Field(foreign_key="working_group.id", primary_key=True, ondelete="CASCADE")
    person_id: int = Field(foreign_key="person.id", primary_key=True, ondelete="CASCADE")


class CochairUnavailable(SQLModel, table=True):
    __tablename__ = "cochair_unavailable"
    __table_args__ = (UniqueConstraint("meeting_id", "occurrence", "person_id",
                                       name="uq_cochair_unavailable"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True, ondelete="CASCADE")
    occurrence: int = Field(sa_column=Column(BigInteger, nullable=False))
    person_id: int = Field(foreign_key="person.id", ondelete="CASCADE")


class CochairTurn(SQLModel, table=True):
    """One candidate for one slot of one occurrence: invited, accepted, declined, expired,
    override (named by the secretariat) or replaced (by an override)."""

    __tablename__ = "cochair_turn"
    __table_args__ = (Index("ix_cochair_turn_status_invited", "status", "invited_at"),
                      Index("ix_cochair_turn_occurrence_slot", "meeting_id", "occurrence", "slot"))

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="working_group.id", index=True, ondelete="CASCADE")
    meeting_id: int = Field(foreign_key="meeting.id", index=True, ondelete="CASCADE")
    occurrence: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    slot: int = Field(default=0)
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    status: str = Field(default="invited", max_length=10)
    invited_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    answered_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    set_by: int | None = Field(default=None, foreign_key="person.id", ondelete="SET NULL")


class Decision(SQLModel, table=True):
    __tablename__ = "decision"

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="working_group.id", index=True, ondelete="CASCADE")
    meeting_id: int = Field(foreign_key="meeting.id", index=True, ondelete="CASCADE")
    occurrence: int = Field(sa_column=Column(BigInteger, nullable=False))
    text: str = Field(max_length=500)
    item_id: int | None = Field(default=None, foreign_key="agenda_item.id", index=True,
                                ondelete="SET NULL")
    created_by: int | None = Field(default=None, foreign_key="person.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class ActionItem(SQLModel, table=True):
    __tablename__ = "action_item"

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="working_group.id", index=True, ondelete="CASCADE")
    meeting_id: int | None = Field(default=None, foreign_key="meeting.id", ondelete="SET NULL")
    occurrence: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    owner_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    due: date = Field(sa_column=Column(Date, nullable=False))
    text: str = Field(max_length=500)
    status: str = Field(default="open", max_length=8)  # open or done
    item_id: int | None = Field(default=None, foreign_key="agenda_item.id", index=True,
                                ondelete="SET NULL")
    created_by: int | None = Field(default=None, foreign_key="person.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    done_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))

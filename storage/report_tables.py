"""Tables of the anonymous concern reports.

No Telegram user id, chat id, username or name of a reporter is stored here. Content (text,
place, time, file ids, replies, notes, the optional notification address) is encrypted
(see bot/report_crypto.py); dates of a report and of its history are kept to the day.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Date, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models import _ts, utcnow


class ReportCase(SQLModel, table=True):
    __tablename__ = "report_case"
    __table_args__ = (Index("ix_report_case_group_status", "group_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    # None when the reporter did not know which group: the candidates are in `content`.
    group_id: int | None = Field(default=None, foreign_key="working_group.id", ondelete="CASCADE")
    key_id: str = Field(max_length=16)
    category: str = Field(max_length=40)
    urgent: bool = Field(default=False)
    language: str = Field(max_length=8)
    status: str = Field(max_length=20)
    submitted_on: date = Field(sa_column=Column(Date, nullable=False))
    ack_due_on: date = Field(sa_column=Column(Date, nullable=False))
    acknowledged_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    closed_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    receipt_hash: str = Field(max_length=64, unique=True)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    notify_to: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    reply_pending: bool = Field(default=False)  # a reply the reporter asked to be told about
    reporter_update: bool = Field(default=False)  # new information the secretariat has not seen
    reminded_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    retention_warned: bool = Field(default=False)
    # what the reporter may read of the working group's outcome (encrypted), and since when
    outcome: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    outcome_shown_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))


class ReportEvent(SQLModel, table=True):
    """The history of a case. `actor_id` is the secretariat member (None for the reporter)."""

    __tablename__ = "report_event"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="report_case.id", index=True, ondelete="CASCADE")
    on_day: date = Field(sa_column=Column(Date, nullable=False))
    kind: str = Field(max_length=20)  # submitted, acknowledged, status, note, reply, info
    status: str | None = Field(default=None, max_length=20)
    actor_id: int | None = Field(default=None, foreign_key="person.id", ondelete="SET NULL")
    body: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


class ReportGroupSettings(SQLModel, table=True):
    __tablename__ = "report_group_settings"

    group_id: int = Field(foreign_key="working_group.id", primary_key=True, ondelete="CASCADE")
    emergency_contacts: str = Field(default="", max_length=1000)
    retention_days: int = Field(default=365)
    ack_days: int = Field(default=7)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class ConcernLink(SQLModel, table=True):
    """A case put on a meeting's agenda: the agenda item it became. The item itself carries no
    case number and nothing of the reporter; decisions and actions reach the case through it."""

    __tablename__ = "concern_link"
    __table_args__ = (UniqueConstraint("case_id", "item_id", name="uq_concern_link"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="report_case.id", ondelete="CASCADE")
    item_id: int = Field(foreign_key="agenda_item.id", index=True, ondelete="CASCADE")
    linked_on: date = Field(sa_column=Column(Date, nullable=False))

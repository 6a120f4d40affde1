"""Per group: whether the monthly security status report is sent automatically, and to whom."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from storage.models import _ts, utcnow


class MonthlyReportSettings(SQLModel, table=True):
    """No row means the default: sent automatically to every secretariat member.

    `recipients` holds person ids of secretariat members; empty means the whole secretariat.
    Someone who leaves the secretariat stops receiving it whatever the list says."""

    __tablename__ = "monthly_report_settings"

    group_id: int = Field(foreign_key="working_group.id", primary_key=True, ondelete="CASCADE")
    enabled: bool = Field(default=True)
    recipients: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())

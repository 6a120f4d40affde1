"""Facts about this installation of the bot, one row: the random token that makes its calendar
event UIDs unique (two deployments both have a meeting #5; a calendar app that subscribed to
both must not merge them)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from storage.models import _ts, utcnow


class Deployment(SQLModel, table=True):
    __tablename__ = "deployment"

    id: int = Field(default=1, primary_key=True)  # always 1
    uid_token: str = Field(max_length=32)
    # Meetings up to this id existed before the token: their events keep the UIDs they were
    # exported with, so calendars that imported them update them instead of doubling them.
    legacy_meeting_max: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())

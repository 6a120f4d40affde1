"""Calendar files: names that keep their letters, event UIDs unique per deployment."""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar
from sqlalchemy import delete

from bot.services import calendar as cal
from bot.services import groups, ics, people
from bot.services.groups import SetupRequest
from bot.services.people import TelegramIdentity
from storage.calendar_tables import Meeting
from storage.database import Database
from storage.deployment_tables import Deployment
from storage.migrate import upgrade
from storage.models import WorkingGroup

NOW = datetime(2026, 9, 1, 6, 0, tzinfo=UTC)
ZONE = "Africa/Lubumbashi"


async def _meeting(session, chat_id=-100, title="Réunion mensuelle"):
    amani = await people.touch_person(session, TelegramIdentity(chat_id * -1, "Amani"))
    group = await groups.register_group(
        session, chat_id, SetupRequest("Bukavu", ZONE), default_timezone=ZONE,
        default_language="fr", secretariat=[amani])
    return await cal.create_meeting(session, group, title=title, place="Salle 1",
                                    start_local=datetime(2026, 9, 3, 10),
                                    rule="FREQ=WEEKLY;BYDAY=TH")


def _uids(data: bytes) -> set[str]:
    return {str(e["UID"]) for e in Calendar.from_ical(data).walk("VEVENT")}


def test_file_names_keep_their_letters():
    assert ics.filename("Réunion mensuelle") == "réunion-mensuelle.ics"
    assert ics.filename("Re\u0301union") == "réunion.ics"  # typed as e + combining accent
    assert ics.filename("Mkutano wa kila mwezi") == "mkutano-wa-kila-mwezi.ics"
    assert ics.filename("Reunión: ¿seguridad?") == "reunión-seguridad.ics"
    assert ics.filename("Лекция / «план»") == "лекция-план.ics"
    assert ics.filename("../../etc/passwd") == "etc-passwd.ics"
    assert ics.filename('a\\b<c>d|e*f?"g\x00h') == "a-b-c-d-e-f-g-h.ics"
    assert ics.filename("!!!") == "calendar.ics"
    long = ics.filename("é" * 60)
    assert long == "é" * 40 + ".ics"


async def test_uids_carry_the_deployment_token(session):
    meeting = await _meeting(session)
    deployment = await ics.get_deployment(session)
    assert len(deployment.uid_token) == 16
    data = await ics.meeting_ics(session, meeting, NOW)
    assert _uids(data) == {f"meeting-{meeting.id}-{deployment.uid_token}@wgbot"}
    # The same again: a calendar app that imported it updates the event, it does not double it.
    assert _uids(await ics.meeting_ics(session, meeting, NOW)) == _uids(data)
    group_file = await ics.group_ics(session, await session.get(WorkingGroup,
                                                                 meeting.group_id), NOW)
    assert _uids(group_file) == _uids(data)


async def test_another_deployment_gives_other_uids(session):
    meeting = await _meeting(session)
    mine = _uids(await ics.meeting_ics(session, meeting, NOW))
    deployment = await ics.get_deployment(session)
    deployment.uid_token = "0123456789abcdef"  # as another installation's database has
    theirs = _uids(await ics.meeting_ics(session, meeting, NOW))
    assert mine.isdisjoint(theirs) and theirs == {f"meeting-{meeting.id}-0123456789abcdef@wgbot"}


async def test_a_database_without_the_row_makes_one(session):
    meeting = await _meeting(session)
    await session.exec(delete(Deployment))
    session.expunge_all()
    made = await ics.get_deployment(session)
    assert made.legacy_meeting_max == meeting.id  # what may have been exported keeps its UID
    assert await ics.get_deployment(session) is made


async def test_events_exported_before_the_token_keep_their_uid(tmp_path):
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        await upgrade(database, "0012_group_numbers")  # the revision before the token
        async with database.session() as session:
            old = await _meeting(session)
            old_id = old.id
        await upgrade(database)
        async with database.session() as session:
            deployment = await session.get(Deployment, 1)
            assert deployment.legacy_meeting_max == old_id
            old = await session.get(Meeting, old_id)
            assert _uids(await ics.meeting_ics(session, old, NOW)) == {f"meeting-{old_id}@wgbot"}
            new = await _meeting(session, chat_id=-200, title="Nouvelle")
            assert _uids(await ics.meeting_ics(session, new, NOW)) == {
                f"meeting-{new.id}-{deployment.uid_token}@wgbot"}
    finally:
        await database.dispose()

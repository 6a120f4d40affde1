"""The agenda service without Telegram: deadlines per group, late flags, carry-over closing items
of single meetings, publication skipped for cancelled meetings, and the published text in the
group's language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.services import agenda
from bot.services import calendar as cal
from bot.services.groups import SetupRequest, register_group
from handlers.agenda import agenda_text
from handlers.agenda_notices import render_publication
from storage.agenda_tables import AgendaItem
from storage.models import OutboxMessage, Person

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
START = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


@pytest.fixture
async def setup(database):
    async with database.session() as s:
        person = Person(telegram_id=501, full_name="Neema")
        s.add(person)
        await s.flush()
        group = await register_group(s, -100555, SetupRequest("Ituri WG", "Africa/Lubumbashi"),
                                     default_timezone="UTC", default_language="en",
                                     secretariat=[person])
        meeting = await cal.create_meeting(s, group, title="Monthly",
                                           start_local=datetime(2026, 12, 3, 10, 0))
        return group.id, person.id, meeting.id


async def _load(s, setup):
    from storage.models import WorkingGroup
    group_id, person_id, meeting_id = setup
    return (await s.get(WorkingGroup, group_id), await s.get(Person, person_id),
            await cal.get_meeting(s, meeting_id, await s.get(WorkingGroup, group_id)))


async def test_deadline_setting_decides_late(database, setup):
    async with database.session() as s:
        group, person, _meeting = await _load(s, setup)
        where = await agenda.target(s, group, NOW)
        assert where.deadline == START - timedelta(hours=48)
        await agenda.set_deadline_hours(s, group, 12)
        where = await agenda.target(s, group, START - timedelta(hours=13))
        assert where.deadline == START - timedelta(hours=12)
        early = await agenda.propose(s, where, person, "  Early   item ", where.deadline -
                                     timedelta(minutes=1))
        late = await agenda.propose(s, where, person, "Late item", where.deadline)
        assert (early.text, early.late, late.late) == ("Early item", False, True)
        with pytest.raises(agenda.AgendaError) as err:
            await agenda.set_deadline_hours(s, group, 721)
        assert err.value.code == "deadline_range"


async def test_single_meeting_items_close_after_it_ends(database, setup):
    async with database.session() as s:
        group, person, _meeting = await _load(s, setup)
        where = await agenda.target(s, group, NOW)
        item = await agenda.propose(s, where, person, "Topic", NOW)
        await agenda.review(s, item, group, "accept", NOW)
    assert await agenda.carry_over(database, START + timedelta(hours=3)) == 0
    async with database.session() as s:
        [item] = (await s.exec(select(AgendaItem))).all()
        assert item.status == "closed"


async def test_publication_skipped_when_the_meeting_is_cancelled(database, setup):
    async with database.session() as s:
        group, person, meeting = await _load(s, setup)
    assert await agenda.schedule_publications(database, START - timedelta(hours=47)) == 1
    async with database.session() as s:
        group, person, meeting = await _load(s, setup)
        await cal.cancel_series(s, meeting, NOW)
    async with database.session() as s:
        row = (await s.exec(select(OutboxMessage).where(
            OutboxMessage.kind == "agenda_publish"))).one()
        assert await render_publication(s, row, START - timedelta(hours=47)) is None


async def test_published_agenda_in_the_group_language(database, setup):
    async with database.session() as s:
        group, person, meeting = await _load(s, setup)
        where = await agenda.target(s, group, NOW)
        item = await agenda.propose(s, where, person, "Sécurité routière", NOW)
        await agenda.review(s, item, group, "accept", NOW)
        late = await agenda.propose(s, where, person, "Divers point", NOW)
        late.anonymous = True
        await agenda.review(s, late, group, "aob", NOW)
        text = await agenda_text(s, group, where.occ, "fr", group.timezone, published=True)
    assert text.startswith("<b>📋 Ordre du jour</b>")
    assert "1. Sécurité routière — proposé par Neema" in text
    assert "<b>Divers</b>\n• Divers point" in text

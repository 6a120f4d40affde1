"""The concern-to-agenda service without Telegram: the monthly table of concerns that reached
the agenda (counted once per case, suppressed like the other concern tables), and the
suggestion to resolve a case once every linked action is done."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import select

from bot.services import actions, concerns, monthly
from bot.services.calendar import epoch
from storage.agenda_tables import ActionItem, AgendaItem
from storage.models import OutboxMessage
from storage.report_tables import ConcernLink, ReportCase
from tests import monthly_fixture
from tests.monthly_fixture import NOV5, NOV19, SEP5

NOVEMBER = date(2026, 11, 1)
NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


async def _item(session, built, meeting, start) -> AgendaItem:
    item = AgendaItem(group_id=built["group"].id, meeting_id=meeting.id,
                      occurrence=epoch(start), text="From a concern", anonymous=True,
                      from_concern=True, status="accepted")
    session.add(item)
    await session.flush()
    return item


async def _link(session, case_id: int, item: AgendaItem) -> None:
    session.add(ConcernLink(case_id=case_id, item_id=item.id, linked_on=date(2026, 10, 30)))


async def test_agenda_table_counts_each_case_once_and_suppresses(database):
    async with database.session() as session:
        built = await monthly_fixture.build(session)
        nov5 = await _item(session, built, built["series"], NOV5)
        nov19 = await _item(session, built, built["single"], NOV19)
        sep5 = await _item(session, built, built["series"], SEP5)
        for case_id in (1, 2, 3, 4):  # received
            await _link(session, case_id, nov5)
        await _link(session, 1, nov19)  # the same case at two meetings counts once
        await _link(session, 6, nov19)  # resolved
        await _link(session, 7, sep5)  # September: not counted in November
        case = await session.get(ReportCase, 6)
        case.outcome_shown_on = date(2026, 11, 25)
        await session.commit()
    async with database.session() as session:
        report = await monthly.build_report(session, built["group"], NOVEMBER, NOW)
    table = report.concerns
    # five cases: 4 received and 1 resolved; the 1 is "<3", and the 4 is hidden too, else the
    # total would give the 1 away
    assert table.agenda_status["received"] == monthly.HIDDEN
    assert table.agenda_status["resolved"] == "<3"
    assert table.agenda_status["closed"] == "0"
    assert table.agenda_outcome == {"shown": "<3", "not_shown": monthly.HIDDEN}
    assert table.agenda_total == "5"
    async with database.session() as session:
        october = await monthly.build_report(session, built["group"], date(2026, 10, 1), NOW)
    assert october.concerns.agenda_total == "0"

async def test_resolve_suggested_when_the_last_linked_action_is_done(database):
    async with database.session() as session:
        built = await monthly_fixture.build(session)
        item = await _item(session, built, built["series"], NOV5)
        await _link(session, 1, item)
        people = built["people"]
        first, second = (ActionItem(group_id=built["group"].id, owner_id=people[n].id,
                                    due=date(2026, 12, 10), text=n, item_id=item.id)
                         for n in ("Bahati", "Carlos"))
        session.add_all([first, second])
        await session.flush()
        await actions.mark_done(session, first, NOW)
        kinds = (await session.exec(select(OutboxMessage.kind))).all()
        assert concerns.KIND_RESOLVE not in kinds
        await actions.mark_done(session, second, NOW)
        rows = (await session.exec(select(OutboxMessage).where(
            OutboxMessage.kind == concerns.KIND_RESOLVE))).all()
        assert [(r.payload["case"], r.chat_id) for r in rows] == [
            (1, people["Amani"].telegram_id)]  # the secretariat only, no content
        case = await session.get(ReportCase, 1)
        case.status = "resolved"
        third = ActionItem(group_id=built["group"].id, owner_id=people["Bahati"].id,
                           due=date(2026, 12, 10), text="later", item_id=item.id)
        session.add(third)
        await session.flush()
        assert await concerns.action_done(session, third, NOW) == 0  # resolved: no suggestion

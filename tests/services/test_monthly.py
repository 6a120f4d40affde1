"""The monthly security status report and the engagement report: figures against a hand-built
group (tests/monthly_fixture.py), suppression, the scheduled delivery across daylight-saving
changes, and that the PDF and CSV files are produced and parse."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import event
from sqlmodel import select

from bot.services import monthly
from bot.services.calendar import as_utc
from bot.services.monthly import (
    HIDDEN,
    MonthlyError,
    build_engagement,
    build_report,
    due_month,
    organisation_groups,
    parse_month,
    protect,
    queue_reports,
)
from bot.services.monthly_render import engagement_files, monthly_files
from storage.models import Membership, OutboxMessage, WorkingGroup
from storage.monthly_tables import MonthlyReportSettings
from tests import monthly_fixture

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
NOVEMBER = date(2026, 11, 1)


def rate(r) -> tuple[int, int]:
    return (r.present, r.expected)


async def test_figures_of_a_hand_built_month(session):
    built = await monthly_fixture.build(session)
    report = await build_report(session, built["group"], NOVEMBER, NOW)
    assert report.months == [date(2026, m, 1) for m in range(6, 12)]
    assert report.held == 2 and report.cancelled == 1
    assert report.held_by_month == [1, 1, 1, 1, 0, 2]  # June to November
    assert report.cancelled_by_month == [0, 0, 0, 0, 1, 1]  # 5 Oct cancelled, 26 Nov dropped
    assert [(m.title, m.cancelled, m.marked, m.present) for m in report.meetings] == [
        ("Monthly meeting", False, True, 2), ("Extra meeting", False, True, 2),
        ("Field visit", True, False, 0)]
    # Company: Amani 1/1 on 5 Nov, Amani and Dina (joined 10 Nov) 2/2 on 19 Nov.
    assert rate(report.attendance_pillar["company"][-1]) == (3, 3)
    assert rate(report.attendance_pillar["civil_society"][-1]) == (1, 2)
    assert rate(report.attendance_pillar["public_security"][-1]) == (0, 2)
    assert rate(report.attendance_pillar["public_security"][3]) == (1, 1)  # September
    assert rate(report.attendance_pillar["company"][4]) == (0, 0)  # October: nothing marked
    # Organisations are compared without case or extra spaces, shown as first written.
    assert rate(report.attendance_org["Banro Mining"][-1]) == (3, 3)
    assert "banro mining" not in report.attendance_org
    assert rate(report.attendance_org["PNC"][-1]) == (0, 2)
    assert report.cochairs == {"company": [0, 0, 0, 0, 0, 1],
                               "civil_society": [0, 0, 0, 0, 0, 1],
                               "public_security": [0, 0, 0, 1, 0, 0]}
    assert [text for _, text in report.decisions] == ["Hold a joint patrol review",
                                                      "Write to the governor"]
    actions = {p: (c.opened, c.done, c.overdue, c.open_at_end)
               for p, c in report.actions.items()}
    assert actions == {"company": (0, 0, 1, 1), "civil_society": (2, 1, 1, 1),
                       "public_security": (2, 0, 1, 2)}
    concerns = report.concerns
    assert concerns.total == 11 and concerns.total_shown == "11"
    assert concerns.by_category["land"] == "5"
    assert concerns.by_category["environment"] == "<3"
    assert concerns.by_category["employment"] == HIDDEN  # else 11 - 5 - 4 gives the 2
    assert concerns.by_category["harassment"] == "0"
    assert concerns.by_urgency == {"urgent": "<3", "not_urgent": HIDDEN}
    assert concerns.by_status["received"] == "6"
    assert concerns.by_status["closed"] == "<3" and concerns.by_status["resolved"] == HIDDEN
    assert dict(concerns.trend)[date(2026, 10, 1)] == "<3"
    assert dict(concerns.trend)[NOVEMBER] == "11"
    assert len(concerns.trend) == 12


async def test_queries_are_bounded(database):
    async with database.session() as session:
        built = await monthly_fixture.build(session)
        await session.commit()
    statements = []

    def count(*args):
        statements.append(args[2])

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with database.session() as session:
            group = await session.get(WorkingGroup, built["group"].id)
            statements.clear()
            await build_report(session, group, NOVEMBER, NOW)
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", count)
    assert len(statements) <= 9


@pytest.mark.parametrize("cells,total,shown,total_shown", [
    ({"a": 5, "b": 4}, 9, {"a": "5", "b": "4"}, "9"),
    ({"a": 2, "b": 0}, 2, {"a": "<3", "b": "<3"}, "<3"),
    ({"a": 1, "b": 1, "c": 0}, 2, {"a": "<3", "b": "<3", "c": "<3"}, "<3"),
    ({"a": 1, "b": 2}, 3, {"a": "<3", "b": "<3"}, "3"),  # 1+2 or 2+1: nothing derivable
    ({"a": 2, "b": 2}, 4, {"a": "<3", "b": "<3"}, HIDDEN),  # 4 = 2+2 only: hide the total
    ({"a": 1, "b": 1, "c": 7}, 9, {"a": "<3", "b": "<3", "c": HIDDEN}, "9"),
    ({"a": 1, "b": 4, "c": 9}, 14, {"a": "<3", "b": HIDDEN, "c": "9"}, "14"),
    # 1 and 3 hidden: their sum 4 would tell 1 (2 + 2 is not allowed), so hide 9 as well.
    ({"a": 1, "b": 3, "c": 9}, 13, {"a": "<3", "b": HIDDEN, "c": HIDDEN}, "13"),
    ({"a": 0, "b": 0}, 0, {"a": "0", "b": "0"}, "0"),
])
def test_suppression(cells, total, shown, total_shown):
    assert protect(cells, total) == (shown, total_shown)


def test_suppression_leaves_no_small_count_derivable():
    """Every table of three cells of 0..6: a reader who knows that "<3" is 1 or 2 (0 to 2 when
    the total is "<3"), that "*" is at least 3 and that the cells add up to the total finds at
    least two possible values for every count below 3."""
    import itertools

    def domain(shown: str, small_total: bool) -> range:
        if shown == "<3":
            return range(0 if small_total else 1, 3)
        if shown == HIDDEN:
            return range(3, 21)
        return range(int(shown), int(shown) + 1)

    for values in itertools.product(range(7), repeat=3):
        shown, total_shown = protect(dict(zip("abc", values, strict=True)), sum(values))
        small_total = total_shown == "<3"
        domains = [domain(shown[k], small_total) for k in "abc"]
        solutions = [v for v in itertools.product(*domains)
                     if total_shown == HIDDEN
                     or (small_total and 0 < sum(v) < 3) or str(sum(v)) == total_shown]
        assert values in solutions
        for i, value in enumerate(values):
            if 0 < value < 3:
                assert len({v[i] for v in solutions}) > 1, (values, shown, total_shown)


def test_months_and_working_days():
    assert parse_month("", NOW, "UTC") == NOVEMBER
    assert parse_month("2026-03", NOW, "UTC") == date(2026, 3, 1)
    assert parse_month("2026-12", NOW, "UTC") == date(2026, 12, 1)  # begun: so far
    for bad, code in [("2027-01", "future_month"), ("2026-13", "bad_month"),
                      ("march", "bad_month"), ("26-03", "bad_month")]:
        with pytest.raises(MonthlyError) as err:
            parse_month(bad, NOW, "UTC")
        assert err.value.code == code
    assert monthly.first_working_day(date(2026, 8, 1)) == date(2026, 8, 3)  # a Saturday
    assert monthly.first_working_day(date(2026, 11, 1)) == date(2026, 11, 2)  # a Sunday


@pytest.mark.parametrize("zone,opens", [
    # Paris: summer time (UTC+2) on Wednesday 1 April 2026, winter time (UTC+1) on Monday
    # 2 November 2026; 08:00 local either way.
    ("Europe/Paris", datetime(2026, 4, 1, 6, 0, tzinfo=UTC)),
    ("Europe/Paris", datetime(2026, 11, 2, 7, 0, tzinfo=UTC)),
    # New York: daylight time (UTC-4) on Wednesday 1 April 2026, standard (UTC-5) in December.
    ("America/New_York", datetime(2026, 4, 1, 12, 0, tzinfo=UTC)),
    ("America/New_York", datetime(2026, 12, 1, 13, 0, tzinfo=UTC)),
])
def test_due_at_eight_local_on_the_first_working_day(zone, opens):
    assert due_month(opens - timedelta(minutes=1), zone) is None
    previous = monthly.add_months(monthly.month_start(opens.date()), -1)
    assert due_month(opens, zone) == previous
    assert due_month(opens + timedelta(days=6, hours=23), zone) == previous
    assert due_month(opens + timedelta(days=7), zone) is None


async def test_queued_once_for_the_chosen_secretariat(database):
    async with database.session() as session:
        built = await monthly_fixture.build(session)
        group = built["group"]
        group.timezone = "Europe/Paris"
        session.add(group)
        bahati = built["people"]["Bahati"]
        membership = (await session.exec(select(Membership).where(
            Membership.person_id == bahati.id, Membership.group_id == group.id))).one()
        membership.role = "secretariat"
        session.add(membership)
        await session.commit()
    opens = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)  # Monday 08:00 in Paris (winter time)
    assert await queue_reports(database, opens - timedelta(minutes=1)) == 0
    assert await queue_reports(database, opens) == 4  # PDF and tables for Amani and Bahati
    assert await queue_reports(database, opens + timedelta(hours=3)) == 0
    async with database.session() as session:
        rows = (await session.exec(select(OutboxMessage).order_by(OutboxMessage.key))).all()
        assert {r.key for r in rows} == {
            f"monthly:{group.id}:2026-10:{p.id}:{part}"
            for p in (built["people"]["Amani"], bahati) for part in ("pdf", "csv")}
        assert all(as_utc(r.due_at) == opens for r in rows)
        # Only Amani receives it from now on; then the automatic report is turned off.
        settings = await monthly.toggle_recipient(session, group, bahati.id, NOW)
        assert settings.recipients == [built["people"]["Amani"].id]
        await session.commit()
    december = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)  # Tuesday
    assert await queue_reports(database, december) == 2
    async with database.session() as session:
        settings = await session.get(MonthlyReportSettings, group.id)
        settings.enabled = False
        session.add(settings)
        await session.commit()
    assert await queue_reports(database, datetime(2027, 1, 1, 7, 0, tzinfo=UTC)) == 0


async def test_the_last_recipient_cannot_be_removed(session):
    built = await monthly_fixture.build(session)
    amani = built["people"]["Amani"]
    with pytest.raises(MonthlyError) as err:
        await monthly.toggle_recipient(session, built["group"], amani.id, NOW)
    assert err.value.code == "no_recipient"
    with pytest.raises(MonthlyError):
        await monthly.toggle_recipient(session, built["group"], built["people"]["Dina"].id, NOW)


@pytest.mark.parametrize("locale", ["en", "fr", "sw", "es", "ln"])
async def test_pdf_and_csv_are_produced_and_parse(session, locale):
    built = await monthly_fixture.build(session)
    report = await build_report(session, built["group"], NOVEMBER, NOW)
    (pdf_name, pdf), (zip_name, archive) = monthly_files(report, locale)
    assert pdf_name == "Bukavu_WG_2026-11.pdf" and zip_name == "Bukavu_WG_2026-11_tables.zip"
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "Bukavu WG" in text and "Hold a joint patrol review" in text
    assert sum(len(page.images) for page in reader.pages) >= 3  # the three charts
    with zipfile.ZipFile(io.BytesIO(archive)) as files:
        names = files.namelist()
        assert "Bukavu_WG_2026-11_concerns.csv" in names
        rows = list(csv.reader(io.StringIO(
            files.read("Bukavu_WG_2026-11_action_items.csv").decode("utf-8-sig"))))
    assert len(rows) == 4 and [r[1:] for r in rows[1:]] == [
        ["0", "0", "1", "1"], ["2", "0", "1", "2"], ["2", "1", "1", "1"]]
    if locale == "en":
        assert "Monthly security status report" in text and "November 2026" in text
        assert rows[0][0] == "Owner's pillar"
    else:
        assert "Monthly security status report" not in text


async def test_engagement_of_a_company(session):
    built = await monthly_fixture.build(session)
    people, groups, name = await organisation_groups(session, "BANRO mining")
    assert name == "Banro Mining"
    assert sorted(people) == sorted([built["people"]["Amani"].id, built["people"]["Dina"].id])
    assert [g.name for g in groups] == ["Bukavu WG"]
    report = await build_engagement(session, "Banro Mining", 2026, groups, people, NOW)
    row = report.totals
    # Held in 2026: 5 Jun, Jul, Aug, Sep, 5 Nov (5 Oct cancelled) and 19 Nov.
    assert (row.held, row.marked, row.attended) == (6, 3, 3)
    assert row.cochair_turns == 1
    assert (row.actions_owned, row.actions_done, row.actions_done_on_time) == (2, 1, 0)
    assert [(m.day, m.representatives) for m in report.meetings] == [
        (date(2026, 9, 5), 1), (date(2026, 11, 5), 1), (date(2026, 11, 19), 2)]
    (pdf_name, pdf), (_, archive) = engagement_files(report, "fr")
    assert pdf_name == "Banro_Mining_2026_engagement.pdf"
    assert PdfReader(io.BytesIO(pdf)).pages
    with zipfile.ZipFile(io.BytesIO(archive)) as files:
        summary = list(csv.reader(io.StringIO(
            files.read("Banro_Mining_2026_summary.csv").decode("utf-8-sig"))))
    assert summary[1][:3] == ["Bukavu WG", "6", "3"]
    assert (await organisation_groups(session, "Nobody Ltd"))[:2] == ([], [])


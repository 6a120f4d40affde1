"""A concern report on a meeting's agenda and its outcome back to the reporter, through the real
Dispatcher: the anonymised summary and its warnings, the meeting choice, the neutral mark in the
group (never the case number), decisions and actions linked through the item, the suggestion to
resolve, the outcome in the reporter's language, and refusals. Time is a controlled clock."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from bot.services import concerns, monthly, monthly_render
from storage.agenda_tables import ActionItem, AgendaItem, Decision
from storage.models import WorkingGroup
from storage.report_tables import ConcernLink, ReportCase
from tests.report_helpers import deliver, labels, last_alert, make_report, press_last

pytestmark = pytest.mark.usefixtures("fresh_report_keys")

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)  # 10:00 in Lubumbashi (UTC+2)
MEETING = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)  # 2026-12-03 10:00 local
SAFE = ("Reports of beatings by security staff near a mining site; the community asks for a "
        "joint review.")


async def _two_cases(tg, database, reporter, group) -> str:
    """Case 1 from someone else's test data, case 2 the one followed: its number is 2, while the
    agenda item it becomes is item 1, so "#2" must never reach the group."""
    await make_report(tg, database, reporter, group, texts=("Unrelated matter",))
    return await make_report(tg, database, reporter, group, language="fr",
                             where="Kamituga, near the Mwenga road",
                             texts=("Guards of the Kasika concession beat my brother Pascal",))


async def _put_on_agenda(tg, amani, chat, summary: str = SAFE) -> None:
    await tg.send(amani, chat, "/case 2")
    await press_last(tg, amani, chat, "Put on an agenda")
    await tg.send(amani, chat, summary)


async def test_from_case_to_agenda_to_outcome(tg, database, clock, amani, bahati, reporter,
                                              meeting_group):
    receipt = await _two_cases(tg, database, reporter, meeting_group)
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/case 2")
    assert "Put on an agenda" in labels(tg, chat)
    await press_last(tg, amani, chat, "Put on an agenda")
    shown = "\n".join(tg.texts(chat)[-2:])
    assert "Guards of the Kasika concession beat my brother Pascal" in shown  # beside the box
    assert "Write the agenda item the working group will see" in shown
    await tg.send(amani, chat, SAFE)
    assert tg.last_text(chat) == "On the agenda of which meeting?"
    await press_last(tg, amani, chat, 1)
    assert tg.last_text(chat).startswith("Added to the agenda as item #1")
    async with database.session() as s:
        item = (await s.exec(select(AgendaItem))).one()
        link = (await s.exec(select(ConcernLink))).one()
    assert item.from_concern and item.anonymous and item.proposer_id is None
    assert item.status == "accepted" and item.text == SAFE and link.case_id == 2

    await tg.send(bahati, meeting_group, "/agenda")
    group_text = tg.last_text(meeting_group)
    assert SAFE in group_text and "from a concern raised with the secretariat" in group_text
    await tg.send(amani, chat, "/case 2")
    assert "put on the agenda as item #1" in tg.last_text(chat)

    # the meeting takes place; decisions and actions are recorded for item #1
    clock.now = MEETING + timedelta(hours=3)
    await tg.send(amani, meeting_group, "/decision #1 Ask the concession for a joint review")
    await tg.send(amani, meeting_group, "/action #1 @bahati 2026-12-10 Meet the concession")
    await tg.send(amani, meeting_group, "/action #1 @amani 2026-12-12 Report back")
    await tg.send(amani, meeting_group, "/decision #77 Nothing")
    assert tg.last_text(meeting_group) == "There is no agenda item #77 in this group."
    async with database.session() as s:
        assert [d.item_id for d in (await s.exec(select(Decision))).all()] == [1]
        assert [a.item_id for a in (await s.exec(select(ActionItem))).all()] == [1, 1]
    await tg.send(amani, chat, "/case 2")
    card = tg.last_text(chat)
    assert "Decision: Ask the concession for a joint review" in card
    assert "(open) Bahati: Meet the concession" in card

    # all linked actions done -> the secretariat is told it may resolve the case
    await tg.send(bahati, tg.private_chat(bahati), "/actions mine")
    await press_last(tg, bahati, tg.private_chat(bahati), "✅ Done")
    await deliver(tg, database, clock.now)
    assert "are done" not in tg.last_text(chat)
    await tg.send(amani, chat, "/actions mine")
    await press_last(tg, amani, chat, "✅ Done")
    await deliver(tg, database, clock.now)
    assert "All action items recorded for case #2 are done" in tg.last_text(chat)
    assert labels(tg, chat) == ["Open case #2"]

    # the outcome, written by the secretariat and shown when they choose
    await tg.send(amani, chat, "/case 2")
    await press_last(tg, amani, chat, "Outcome for the reporter")
    assert "in Français" in tg.last_text(chat)
    await tg.send(amani, chat, "La société a accepté une enquête conjointe.")
    assert "Discuté par le groupe de travail le" in tg.last_text(chat)
    await tg.send(reporter, reporter.id, f"/status {receipt}")
    assert "enquête conjointe" not in tg.last_text(reporter.id)  # not shown yet
    await tg.send(amani, chat, "/case 2")
    await press_last(tg, amani, chat, "Outcome for the reporter")
    await tg.send(amani, chat, "La société a accepté une enquête conjointe.")
    await press_last(tg, amani, chat, "Show to the reporter")
    await tg.send(reporter, reporter.id, f"/status {receipt}")
    card = tg.last_text(reporter.id)
    assert "Discuté par le groupe de travail le 3 déc. 2026" in card
    assert "La société a accepté une enquête conjointe." in card
    assert "Amani" not in card and "Bahati" not in card
    await tg.send(amani, chat, "/case 2")
    history = tg.last_text(chat)
    assert "outcome shown to the reporter" in history and "since" in history

    # nothing in the group ever names the case
    group_texts = "\n".join(tg.texts(meeting_group))
    assert "case" not in group_texts.lower() and "Neema" not in group_texts
    agenda_texts = [t for t in tg.texts(meeting_group) if SAFE in t]
    assert agenda_texts and all("#2" not in t and " 2." not in t for t in agenda_texts)
    assert "Pascal" not in group_texts and "Kamituga" not in group_texts

    # the monthly report counts it among the concerns that reached the agenda, suppressed
    async with database.session() as s:
        group = (await s.exec(select(WorkingGroup))).one()
        report = await monthly.build_report(s, group, date(2026, 12, 1), clock.now)
        november = await monthly.build_report(s, group, date(2026, 11, 1), clock.now)
    assert report.concerns.agenda_total == "<3"
    assert report.concerns.agenda_outcome == {"shown": "<3", "not_shown": "<3"}
    assert november.concerns.agenda_total == "0"
    tables = monthly_render.monthly_tables(report, "en")
    assert tables["concerns_agenda"][-1] == ["Total", "", "<3"]
    assert "Outcome" in str(tables["concerns_agenda"]) and "#2" not in str(tables)
    (_pdf_name, pdf), (_zip_name, archive) = monthly_render.monthly_files(report, "en")
    assert pdf.startswith(b"%PDF")
    with zipfile.ZipFile(io.BytesIO(archive)) as files:
        name = next(n for n in files.namelist() if n.endswith("_concerns_agenda.csv"))
        rows = list(csv.reader(io.StringIO(files.read(name).decode("utf-8-sig"))))
    assert rows[-1] == ["Total", "", "<3"]


async def test_warnings_then_edit_send_anyway_or_cancel(tg, database, clock, amani, reporter,
                                                       meeting_group):
    await _two_cases(tg, database, reporter, meeting_group)
    chat = tg.private_chat(amani)
    await _put_on_agenda(tg, amani, chat, "The guards beat Pascal at Kamituga on 12/11, call "
                                          "+243 990 123 456 or ask at Mwenga")
    warning = tg.last_text(chat)
    assert "may identify the reporter" in warning
    assert "a phone number: +243 990 123 456" in warning and "dates or days: 12/11" in warning
    assert "names or other capitalised words: Pascal" in warning
    assert "places: Kamituga, Mwenga" in warning and "words taken from the report itself" in warning
    assert labels(tg, chat) == ["Send anyway", "Edit", "Cancel"]
    await press_last(tg, amani, chat, "Edit")
    await tg.send(amani, chat, SAFE)
    assert tg.last_text(chat) == "On the agenda of which meeting?"
    await press_last(tg, amani, chat, "Cancel")
    await tg.send(amani, chat, "Something")  # the flow is over: no agenda item
    await _put_on_agenda(tg, amani, chat, "Beatings reported at Kamituga")
    await press_last(tg, amani, chat, "Send anyway")
    await press_last(tg, amani, chat, 1)
    async with database.session() as s:
        items = (await s.exec(select(AgendaItem))).all()
    assert [i.text for i in items] == ["Beatings reported at Kamituga"]


def test_anonymity_warnings_unit():
    found = {w.kind: w.words for w in concerns.anonymity_warnings(
        "Mama Neema of Bukavu said on Monday that 3 guards came to Nyabibwe.",
        "the guards came at night")}
    assert found["name"] == ("Neema", "Bukavu") or "Neema" in found["name"]
    assert found["place"] == ("Nyabibwe",) and found["number"] == ("3",)
    assert "Monday" in found["date"] and "guards" in found["shared"]
    assert concerns.anonymity_warnings(SAFE, "nothing in common here") == []


async def test_refusals_forged_data_and_other_users(tg, database, clock, amani, bahati, carlos,
                                                    reporter, meeting_group):
    await _two_cases(tg, database, reporter, meeting_group)
    chat = tg.private_chat(amani)
    await _put_on_agenda(tg, amani, chat, "x" * 401)
    assert tg.last_text(chat) == "That is too long for an agenda item: at most 400 characters."
    await tg.send(amani, chat, SAFE)
    message = tg.last_bot_message(chat)
    key = message.buttons()[0]["callback_data"].split(":")
    # a forged meeting or occurrence is refused, nothing added
    await tg.press_data(amani, message, f"cc:meet:2:{key[3]}:{int(key[4]) + 60}")
    assert last_alert(tg).startswith("That meeting's agenda is closed")
    await tg.press_data(amani, message, f"cc:meet:2:999:{key[4]}")
    assert last_alert(tg).startswith("That meeting's agenda is closed")
    await tg.press_data(amani, message, "cc:meet:1:" + ":".join(key[3:]))  # another case
    assert last_alert(tg) == "This button is not valid any more."
    await tg.press_data(amani, message, "cc:explode:2:0:0")
    assert last_alert(tg) == "This button is not valid any more."
    await tg.press_data(amani, message, "cc:meet:abc:0:0")
    assert last_alert(tg) == "This button is not valid any more."
    # not the secretariat: bahati (a member) and carlos (a stranger)
    for user in (bahati, carlos):
        await tg.press_data(user, message, "cc:meet:2:" + ":".join(key[3:]))
        assert last_alert(tg) == "There is no case 2 among the cases of your groups."
        await tg.press_data(user, message, "cs:agenda:2:")
        assert last_alert(tg) == "There is no case 2 among the cases of your groups."
        await tg.press_data(user, message, "cc:show:2:0:0")
    async with database.session() as s:
        assert (await s.exec(select(AgendaItem))).all() == []
        case = await s.get(ReportCase, 2)
        assert case.outcome is None and case.outcome_shown_on is None
    # the agenda closes at its deadline (48 h before): the meeting is no longer offered
    clock.now = MEETING - timedelta(hours=47)
    await _put_on_agenda(tg, amani, chat)
    assert tg.last_text(chat).startswith("No coming meeting of South Kivu takes agenda items")
    await tg.press_data(amani, message, "cc:meet:2:" + ":".join(key[3:]))
    assert last_alert(tg).startswith("That meeting's agenda is closed")
    # an outcome before any meeting discussed it is refused
    await tg.send(amani, chat, "/cancel")
    await tg.send(amani, chat, "/case 2")
    await press_last(tg, amani, chat, "Outcome for the reporter")
    await tg.send(amani, chat, "Agreed")
    assert tg.last_text(chat).startswith("No meeting has had this case on its agenda yet")
    await tg.press_data(amani, message, "cc:show:2:0:0")
    assert last_alert(tg) == "Write the outcome first."
    clock.now = MEETING + timedelta(days=1)
    await tg.send(amani, chat, "/cancel")
    await tg.send(amani, chat, "/case 1")
    await press_last(tg, amani, chat, "Outcome for the reporter")
    await tg.send(amani, chat, "y" * 1001)  # case 1 never reached an agenda: length first
    assert tg.last_text(chat) == "That is too long: at most 1000 characters."


async def test_a_failed_commit_confirms_nothing(tg, database, clock, amani, reporter,
                                                meeting_group, failing_commits):
    await _two_cases(tg, database, reporter, meeting_group)
    chat = tg.private_chat(amani)
    await _put_on_agenda(tg, amani, chat)
    failing_commits.armed = True
    await press_last(tg, amani, chat, 1)
    failing_commits.armed = False
    assert failing_commits.failed >= 1
    assert not any(t.startswith("Added to the agenda") for t in tg.texts(chat))
    async with database.session() as s:
        assert (await s.exec(select(AgendaItem))).all() == []
        assert (await s.exec(select(ConcernLink))).all() == []

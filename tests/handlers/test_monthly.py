"""/monthly, /monthly settings, /engagement and the automatic monthly report through the real
Dispatcher, on the hand-built group of tests/monthly_fixture.py (Amani 1001 is its secretariat,
Bahati 1002 and Carlos 1003 members, Dina 1004 a company representative)."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader

from bot.delivery.sender import Sender
from bot.delivery.worker import Delivery
from bot.local_api import LocalUser
from bot.services.monthly import queue_reports
from storage.models import Membership, Person, WorkingGroup
from tests import monthly_fixture

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
GROUP = -100777


@pytest.fixture
def dina() -> LocalUser:
    return LocalUser(id=1004, first_name="Dina", username="dina", language_code="en")


@pytest.fixture
async def built(database, tg, clock, amani, bahati, carlos, dina):
    async with database.session() as session:
        data = await monthly_fixture.build(session, chat_id=GROUP, telegram_base=1001)
        await session.commit()
    tg.group_chat(GROUP, "Bukavu WG", creator=amani)
    for user in (amani, bahati, carlos, dina):
        tg.private_chat(user)
    return data


def documents(tg, chat_id: int) -> list:
    return [m for m in tg.api.chat_messages(chat_id) if m.from_bot and m.document]


def pdf_text(data: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


async def test_monthly_on_demand_privately(tg, clock, amani, built):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/monthly")
    pdf, tables = documents(tg, chat)[-2:]
    assert pdf.document[0] == "Bukavu_WG_2026-11.pdf"
    assert pdf.text == "Monthly security status report of Bukavu WG, November 2026."
    text = pdf_text(pdf.document[1])
    assert "Monthly security status report" in text and "Write to the governor" in text
    assert tables.document[0] == "Bukavu_WG_2026-11_tables.zip"
    with zipfile.ZipFile(io.BytesIO(tables.document[1])) as files:
        rows = list(csv.reader(io.StringIO(
            files.read("Bukavu_WG_2026-11_meetings.csv").decode("utf-8-sig"))))
    assert [r[1:3] for r in rows[1:]] == [["Monthly meeting", "Yes"], ["Extra meeting", "Yes"],
                                          ["Field visit", "Cancelled"]]
    await tg.send(amani, chat, "/monthly 2026-09")
    assert documents(tg, chat)[-2].document[0] == "Bukavu_WG_2026-09.pdf"
    await tg.send(amani, chat, "/monthly 2027-01")
    assert tg.last_text(chat) == "That month has not begun yet."
    await tg.send(amani, chat, "/monthly november")
    assert "Write the month as YYYY-MM" in tg.last_text(chat)
    assert len(documents(tg, chat)) == 4


async def test_never_in_the_group_and_only_for_the_secretariat(tg, clock, amani, bahati, built):
    await tg.send(amani, GROUP, "/monthly")
    assert tg.last_text(GROUP) == "The monthly report is only sent in a private chat with me."
    assert not documents(tg, GROUP)
    chat = tg.private_chat(bahati)
    for text in ("/monthly", "/monthly settings", "/monthly 2026-10"):
        await tg.send(bahati, chat, text)
        assert tg.last_text(chat) == "Only the secretariat of a working group can do that."
    assert not documents(tg, chat)
    # A button made for Amani, pressed by Bahati (forged), is refused.
    await tg.send(amani, tg.private_chat(amani), "/monthly settings")
    card = tg.last_bot_message(tg.private_chat(amani))
    await tg.press_data(bahati, card, card.buttons()[0]["callback_data"])
    assert "Only the secretariat" in tg.api.sent("answerCallbackQuery")[-1].params["text"]


async def test_settings(tg, database, clock, amani, built):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/monthly settings")
    card = tg.last_bot_message(chat)
    assert "Sent automatically on the first working day" in card.text and "Amani" in card.text
    await tg.press(amani, card, "Turn the automatic report off")
    card = tg.last_bot_message(chat)
    assert "Not sent automatically" in card.text
    await tg.press(amani, card, "✅ Amani")
    assert ("At least one member of the secretariat"
            in tg.api.sent("answerCallbackQuery")[-1].params["text"])
    assert await queue_reports(database, datetime(2027, 1, 1, 6, 0, tzinfo=UTC)) == 0
    await tg.press(amani, card, "Turn the automatic report on")
    assert "Sent automatically" in tg.last_bot_message(chat).text
    assert await queue_reports(database, datetime(2027, 1, 1, 6, 0, tzinfo=UTC)) == 2


async def test_automatic_report_through_the_outbox(tg, database, clock, amani, bahati, built):
    opens = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # Tuesday 08:00 in Lubumbashi
    assert await queue_reports(database, opens - timedelta(seconds=1)) == 0
    assert await queue_reports(database, opens) == 2
    sender = Sender(tg.bot, database, rate_limits=False)
    assert await Delivery(database, sender).run(opens) == 2
    assert await queue_reports(database, opens + timedelta(days=1)) == 0
    assert await Delivery(database, sender).run(opens + timedelta(days=1)) == 0
    pdf, tables = documents(tg, tg.private_chat(amani))
    assert pdf.document[0] == "Bukavu_WG_2026-11.pdf"
    assert pdf.text.startswith("Monthly security status report of Bukavu WG")
    assert "Hold a joint patrol review" in pdf_text(pdf.document[1])
    assert zipfile.ZipFile(io.BytesIO(tables.document[1])).namelist()
    assert not documents(tg, tg.private_chat(bahati))
    assert not documents(tg, GROUP)


async def test_engagement(tg, database, clock, amani, carlos, dina, built):
    chat = tg.private_chat(dina)
    await tg.send(dina, chat, "/engagement banro mining 2026")
    pdf, tables = documents(tg, chat)
    assert pdf.document[0] == "Banro_Mining_2026_engagement.pdf"
    assert "Engagement of Banro Mining in 1 working group(s), 2026." == pdf.text
    text = pdf_text(pdf.document[1])
    assert "Voluntary Principles" in text and "Bukavu WG" in text
    with zipfile.ZipFile(io.BytesIO(tables.document[1])) as files:
        summary = list(csv.reader(io.StringIO(
            files.read("Banro_Mining_2026_summary.csv").decode("utf-8-sig"))))
    assert summary[0][:3] == ["Working group", "Meetings held", "Meetings attended"]
    assert summary[-1][:3] == ["Total", "6", "3"]
    # Someone else's organisation: refused to a member, allowed to the secretariat.
    await tg.send(dina, chat, "/engagement PNC")
    assert "Only the secretariat, or a company representative" in tg.last_text(chat)
    await tg.send(carlos, tg.private_chat(carlos), "/engagement Banro Mining")
    assert "Only the secretariat" in tg.last_text(tg.private_chat(carlos))
    await tg.send(amani, tg.private_chat(amani), "/engagement PNC 2026")
    assert documents(tg, tg.private_chat(amani))[-2].document[0] == "PNC_2026_engagement.pdf"
    # Bad input.
    await tg.send(amani, tg.private_chat(amani), "/engagement")
    assert "Usage: /engagement ORGANISATION" in tg.last_text(tg.private_chat(amani))
    await tg.send(amani, tg.private_chat(amani), "/engagement Nobody Ltd")
    assert "No member of a working group gives" in tg.last_text(tg.private_chat(amani))
    await tg.send(amani, tg.private_chat(amani), "/engagement " + "(x" * 2000)
    answer = tg.last_text(tg.private_chat(amani))  # an error handler's apology would fail here
    assert "No member of a working group gives" in answer and len(answer) < 400
    await tg.send(amani, tg.private_chat(amani), "/engagement PNC 2031")
    assert "The year must be between 2000" in tg.last_text(tg.private_chat(amani))
    await tg.send(dina, GROUP, "/engagement Banro Mining")
    assert "only sent in a private chat" in tg.last_text(GROUP) and not documents(tg, GROUP)


@pytest.mark.parametrize("language,words", [
    ("fr", "Rapport mensuel"), ("sw", "Ripoti ya kila mwezi"), ("es", "Informe mensual"),
    ("ln", "Lapolo"), ("en", "Monthly security status report")])
async def test_in_the_group_language(tg, database, clock, amani, built, language, words):
    async with database.session() as session:
        group = await session.get(WorkingGroup, built["group"].id)
        group.language = language
        session.add(group)
        person = await session.get(Person, built["people"]["Amani"].id)
        person.language = language
        session.add(person)
        await session.commit()
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/monthly 2026-11")
    pdf = documents(tg, chat)[-2]
    assert words in pdf_text(pdf.document[1])
    assert ("Monthly security status report" in pdf.text) == (language == "en")


async def test_several_groups_choose_with_a_button(tg, database, clock, amani, built):
    async with database.session() as session:
        session.add(Membership(group_id=built["other"].id, person_id=built["people"]["Amani"].id,
                               role="secretariat"))
        await session.commit()
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/monthly 2026-10")
    choice = tg.last_bot_message(chat)
    assert choice.text == "The monthly report of which group?"
    await tg.press(amani, choice, "Other WG")
    assert documents(tg, chat)[-2].document[0] == "Other_WG_2026-10.pdf"
    await tg.send(amani, chat, "/monthly settings")
    await tg.press(amani, tg.last_bot_message(chat), "Bukavu WG")
    assert "Monthly security status report of Bukavu WG" in tg.last_text(chat)

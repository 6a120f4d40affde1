"""Dispatcher tests of the reporter's side: /report in groups, the flow by buttons, /status."""

from __future__ import annotations

import pytest
from aiogram.fsm.storage.base import StorageKey
from sqlmodel import select

from bot.local_api import LocalUser
from bot.services.report_crypto import clear_cache
from storage.models import WorkingGroup
from tests.report_helpers import (
    bot_messages,
    group_code,
    labels,
    make_report,
    press_last,
    send_media,
    stored_cases,
)

pytestmark = pytest.mark.usefixtures("fresh_report_keys")


async def test_report_in_a_group_only_links_to_the_private_chat(tg, database, bahati,
                                                                 registered_group):
    await tg.send(bahati, registered_group, "/report Soldiers came at night")
    message = tg.last_bot_message(registered_group)
    code = await group_code(database, registered_group)
    assert "never in this group" in message.text
    assert message.buttons()[0]["url"].endswith(f"?start=report_{code}")
    assert "Soldiers" not in " ".join(tg.texts(registered_group))
    assert await stored_cases(database) == []


async def test_whole_flow_by_buttons(tg, database, reporter, registered_group):
    receipt = await make_report(tg, database, reporter, registered_group,
                                texts=("They took our goats.", "Two men were hurt."),
                                media=("photo", "voice"))
    chat = reporter.id
    assert "shown only this once" in tg.last_text(chat)
    [case] = await stored_cases(database)
    assert case.category == "public_security" and case.status == "received"
    assert case.language == "en" and not case.urgent
    assert receipt not in case.receipt_hash
    await press_last(tg, reporter, chat, "Delete the report from this chat")
    remaining = [m.text for m in tg.api.chat_messages(chat)]
    assert len(remaining) == 1 and remaining[0].startswith("Done: I deleted")


async def test_flow_speaks_the_chosen_language(tg, database, reporter, registered_group):
    code = await group_code(database, registered_group)
    chat = tg.private_chat(reporter)
    await tg.send(reporter, chat, f"/start report_{code}")
    assert labels(tg, chat)[:5] == ["Kiswahili", "Français", "Lingála", "English", "Español"]
    await press_last(tg, reporter, chat, "Français")
    assert "sécurité" in tg.last_text(chat)
    assert labels(tg, chat) == ["Continuer", "Arrêter"]


async def test_back_and_stop_at_every_step(tg, database, reporter, registered_group):
    code = await group_code(database, registered_group)
    chat = tg.private_chat(reporter)
    await tg.send(reporter, chat, f"/start report_{code}")
    await press_last(tg, reporter, chat, "English")
    await press_last(tg, reporter, chat, "Continue")
    await press_last(tg, reporter, chat, "Employment")
    assert tg.last_text(chat) == "Is someone injured or in danger now?"
    await press_last(tg, reporter, chat, "Back")
    assert tg.last_text(chat) == "What is your concern about?"
    await press_last(tg, reporter, chat, "Environment")
    await press_last(tg, reporter, chat, "No")
    await tg.send(reporter, chat, "At the river")
    await press_last(tg, reporter, chat, "Back")
    assert tg.last_text(chat).startswith("Where did it happen?")
    await press_last(tg, reporter, chat, "Stop")
    assert tg.last_text(chat).startswith("Stopped. Nothing was kept")
    assert [m.text for m in tg.api.chat_messages(chat)] == [tg.last_text(chat)]
    assert await stored_cases(database) == []


async def test_documents_are_refused_and_limits_explained(tg, database, reporter,
                                                          registered_group):
    code = await group_code(database, registered_group)
    chat = tg.private_chat(reporter)
    await tg.send(reporter, chat, f"/start report_{code}")
    for label in ("English", "Continue", "Land or resettlement", "No"):
        await press_last(tg, reporter, chat, label)
    await tg.send(reporter, chat, "x" * 301)
    assert tg.last_text(chat) == "That is too long: at most 300 characters."
    await tg.send(reporter, chat, "Kolwezi")
    await press_last(tg, reporter, chat, "I don't remember")
    await press_last(tg, reporter, chat, "Done")  # nothing told yet
    assert tg.last_text(chat).startswith("What happened?")
    await send_media(tg, reporter, chat, "document")
    assert tg.last_text(chat).startswith("I do not accept files")
    await tg.send(reporter, chat, "y" * 3501)
    assert tg.last_text(chat).startswith("That message is too long")
    await tg.send(reporter, chat, "They fenced our fields.")
    await press_last(tg, reporter, chat, "Done")
    summary = tg.last_text(chat)
    assert "Land or resettlement" in summary and "Kolwezi" in summary
    assert "not remembered" in summary and "They fenced our fields." in summary


async def test_danger_shows_emergency_contacts_and_notifies_at_once(
    tg, database, amani, reporter, registered_group,
):
    await tg.send(amani, registered_group, "/reportsettings emergency Police 112, MSF +243 81")
    assert "Police 112" in tg.last_text(registered_group)
    receipt = await make_report(tg, database, reporter, registered_group, urgent=True)
    texts = tg.texts(reporter.id)
    assert any("Police 112, MSF +243 81" in t for t in texts)
    [case] = await stored_cases(database)
    assert case.urgent
    from datetime import UTC, datetime

    from bot.delivery.sender import Sender
    from bot.delivery.worker import Delivery

    tg.private_chat(amani)
    await Delivery(database, Sender(tg.bot, database, rate_limits=False)).run(datetime.now(UTC))
    urgent = tg.last_text(amani.id)
    assert urgent.startswith("<b>Urgent concern report</b> for South Kivu")
    assert "Soldiers" not in urgent and receipt not in urgent


async def test_deep_link_of_an_unknown_group(tg, reporter):
    chat = tg.private_chat(reporter)
    await tg.send(reporter, chat, "/start report_NOPE1234")
    assert tg.last_text(chat).startswith("This report link is not valid")


async def test_private_report_without_any_group(tg, reporter):
    chat = tg.private_chat(reporter)
    await tg.send(reporter, chat, "/report")
    await press_last(tg, reporter, chat, "English")
    assert "which working group" in tg.last_text(chat)


async def test_member_of_two_groups_chooses_one(tg, database, amani, bahati, registered_group):
    """No "I don't know which": a report goes to one group, chosen with its age in view, and
    the case keeps nothing of the reporter's other groups."""
    other = tg.group_chat(-1005555, "Ituri WG", creator=bahati)
    await tg.send(bahati, other, "/setup Ituri")
    await tg.send(bahati, registered_group, "/join")
    chat = tg.private_chat(bahati)
    await tg.send(bahati, chat, "/report")
    await press_last(tg, bahati, chat, "English")
    names = labels(tg, chat)
    assert [n.split(" (since ")[0] for n in names] == ["Ituri", "South Kivu", "Stop"]
    assert all(" (since " in n for n in names[:2])
    await tg.press_data(bahati, tg.last_bot_message(chat), "rp:group:any")
    assert "Only its secretariat will read it" in tg.last_text(chat)  # still asking
    await press_last(tg, bahati, chat, 1)  # Ituri
    for label in ("Continue", "Other", "No"):
        await press_last(tg, bahati, chat, label)
    await tg.send(bahati, chat, "Market")
    await tg.send(bahati, chat, "Monday")
    await tg.send(bahati, chat, "Threats")
    await press_last(tg, bahati, chat, "Done")
    assert "To the secretariat of: Ituri, a working group registered on" in tg.last_text(chat)
    await press_last(tg, bahati, chat, "Send the report")
    [case] = await stored_cases(database)
    async with database.session() as s:
        ituri = (await s.exec(select(WorkingGroup).where(WorkingGroup.chat_id == other))).one()
    assert case.group_id == ituri.id
    await tg.send(amani, tg.private_chat(amani), f"/case {case.id}")  # South Kivu's secretariat
    assert "Threats" not in "\n".join(tg.texts(amani.id))
    await tg.send(bahati, chat, f"/case {case.id}")
    assert "Threats" in "\n".join(tg.texts(bahati.id))


async def test_forged_report_buttons_are_refused(tg, database, reporter, registered_group):
    code = await group_code(database, registered_group)
    chat = tg.private_chat(reporter)
    await tg.send(reporter, chat, f"/start report_{code}")
    message = tg.last_bot_message(chat)
    before = len(tg.api.sent("answerCallbackQuery"))
    await tg.press_data(reporter, message, "rp:lang:xx")
    await tg.press_data(reporter, message, "rp:submit:")
    await tg.press_data(reporter, message, "rp:cat:public_security")  # wrong step
    answers = [c.params.get("text") for c in tg.api.sent("answerCallbackQuery")[before:]]
    assert answers == ["This button is not valid any more."] * 3
    assert await stored_cases(database) == []


async def test_status_with_the_right_code_and_limits_on_wrong_ones(tg, database, reporter,
                                                                   registered_group):
    receipt = await make_report(tg, database, reporter, registered_group)
    chat = reporter.id
    spaced = " ".join(receipt[i:i + 4] for i in range(0, 16, 4))
    await tg.send(reporter, chat, f"/status {spaced}")
    card = tg.last_text(chat)
    assert "Status: Received" in card and "Conduct of public security forces" in card
    assert all(receipt not in (m.text or "") for m in tg.api.chat_messages(chat)
               if not m.from_bot)
    await tg.send(reporter, chat, "/status 12345")
    assert tg.last_text(chat).startswith("A receipt code has 16 digits")
    wrong = "1111222233334444" if receipt != "1111222233334444" else "4444333322221111"
    for _ in range(5):
        await tg.send(reporter, chat, f"/status {wrong}")
        assert tg.last_text(chat).startswith("No report has this code")
    await tg.send(reporter, chat, f"/status {receipt}")
    assert tg.last_text(chat).startswith("Too many wrong codes")
    await tg.send(reporter, chat, "/status")
    assert tg.last_text(chat).startswith("Send /status followed by")


async def test_status_in_a_group_is_refused(tg, bahati, registered_group):
    await tg.send(bahati, registered_group, "/status 1234 5678 9012 3456")
    assert tg.last_text(registered_group).startswith("Never type a receipt code in a group")
    assert all("1234" not in t for t in tg.texts(registered_group))


async def test_reporter_adds_information_and_opts_in_to_notices(tg, database, reporter,
                                                                registered_group):
    receipt = await make_report(tg, database, reporter, registered_group)
    chat = reporter.id
    await tg.send(reporter, chat, f"/status {receipt}")
    await press_last(tg, reporter, chat, "Add information")
    await send_media(tg, reporter, chat, "voice", 7)
    await press_last(tg, reporter, chat, "Done")
    assert tg.last_text(chat).startswith("Added to your report")
    [case] = await stored_cases(database)
    assert case.reporter_update and case.notify_to is None
    await tg.send(reporter, chat, f"/status {receipt}")
    await press_last(tg, reporter, chat, "Tell me when there is an answer")
    assert "what a notification costs" in tg.last_text(chat)
    await press_last(tg, reporter, chat, "No, I will check")
    assert (await stored_cases(database))[0].notify_to is None
    await tg.send(reporter, chat, f"/status {receipt}")
    await press_last(tg, reporter, chat, "Tell me when there is an answer")
    await press_last(tg, reporter, chat, "Yes, notify me")
    stored = (await stored_cases(database))[0].notify_to
    assert stored is not None and str(reporter.id).encode() not in stored
    await tg.send(reporter, chat, f"/status {receipt}")
    await press_last(tg, reporter, chat, "Stop reply notifications")
    assert (await stored_cases(database))[0].notify_to is None


async def test_daily_report_limit(tg, database, reporter, registered_group):
    for _ in range(5):
        await make_report(tg, database, reporter, registered_group)
    code = await group_code(database, registered_group)
    await tg.send(reporter, reporter.id, f"/start report_{code}")
    assert tg.last_text(reporter.id).startswith("You have sent 5 reports today")
    assert len(await stored_cases(database)) == 5
    assert bot_messages(tg, reporter.id)


async def test_swahili_report_status_and_reading_the_reply(tg, database, amani,
                                                           registered_group):
    juma = LocalUser(id=6006, first_name="Juma", username=None, language_code="sw")
    receipt = await make_report(tg, database, juma, registered_group, language="sw",
                                texts=("Walinzi walimpiga kijana",))
    texts = tg.texts(juma.id)
    assert any(t.startswith("<b>Kabla ya kuanza: usalama wako</b>") for t in texts)
    assert "Nambari yako ya stakabadhi" in tg.last_text(juma.id)
    secretariat = tg.private_chat(amani)
    await tg.send(amani, secretariat, "/case 1")
    assert "Walinzi walimpiga kijana" in "\n".join(tg.texts(secretariat))
    assert "Kiswahili" in "\n".join(tg.texts(secretariat))
    await press_last(tg, amani, secretariat, "Reply to the reporter")
    await tg.send(amani, secretariat, "Tumepokea. Uko salama?")
    await press_last(tg, amani, secretariat, "Send")
    await tg.send(juma, juma.id, f"/status {receipt}")
    card = tg.last_text(juma.id)
    assert "Hali: Imepokelewa" in card and "Tumepokea. Uko salama?" in card
    assert "sekretarieti ilijibu" in card


@pytest.mark.parametrize("language", ["en", "fr", "sw", "es", "ln"])
async def test_every_step_is_translated(tg, database, reporter, registered_group, language):
    from bot.i18n import translate
    from handlers.reports import CATEGORY_LABELS

    code = await group_code(database, registered_group)
    chat = tg.private_chat(reporter)
    await tg.send(reporter, chat, f"/start report_{code}")
    await press_last(tg, reporter, chat, ["sw", "fr", "ln", "en", "es"].index(language) + 1)
    notice = tg.last_text(chat)
    assert notice.startswith(translate("<b>Before you start: your safety</b>", language))
    await press_last(tg, reporter, chat, 1)
    expected = [translate(label, language) for label in CATEGORY_LABELS.values()]
    assert labels(tg, chat)[:8] == expected
    if language != "en":
        assert not notice.startswith("<b>Before you start")
        assert expected != list(CATEGORY_LABELS.values())


async def test_the_draft_is_encrypted_in_the_conversation_state(tg, database, reporter,
                                                                registered_group):
    code = await group_code(database, registered_group)
    chat = tg.private_chat(reporter)
    await tg.send(reporter, chat, f"/start report_{code}")
    for label in ("English", "Continue", "Employment", "No"):
        await press_last(tg, reporter, chat, label)
    await tg.send(reporter, chat, "Behind the clinic")
    await tg.send(reporter, chat, "Sunday night")
    await tg.send(reporter, chat, "The foreman asked for money")
    await send_media(tg, reporter, chat, "photo", 3)
    state = repr(tg.dispatcher.storage.storage)
    for secret in ("clinic", "Sunday", "foreman", "PHOTO-3"):
        assert secret not in state
    await press_last(tg, reporter, chat, "Done")
    summary = tg.last_text(chat)
    assert "Behind the clinic" in summary and "Sunday night" in summary
    assert "The foreman asked for money" in summary and "photos: 1" in summary


async def test_key_lost_in_the_middle_of_a_report(tg, database, reporter, registered_group,
                                                  monkeypatch):
    code = await group_code(database, registered_group)
    chat = tg.private_chat(reporter)
    await tg.send(reporter, chat, f"/start report_{code}")
    for label in ("English", "Continue", "Other", "No"):
        await press_last(tg, reporter, chat, label)
    monkeypatch.setenv("WGBOT_REPORT_KEY", "broken")
    clear_cache()
    await tg.send(reporter, chat, "At the market")
    assert tg.last_text(chat).startswith("Reports cannot be taken or read right now")
    assert await stored_cases(database) == []


async def test_words_after_report_are_not_taken(tg, database, amani, registered_group):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/report the soldiers again")
    assert tg.last_text(chat) == "Choose the language of your report:"
    await press_last(tg, amani, chat, "English")
    assert tg.last_text(chat).startswith("<b>Before you start")  # Amani's only group
    await press_last(tg, amani, chat, "Stop")
    assert all("soldiers" not in (m.text or "") for m in tg.api.chat_messages(chat))


async def test_status_keeps_no_readable_case_number_in_the_state(tg, database, reporter,
                                                                 registered_group):
    receipt = await make_report(tg, database, reporter, registered_group)
    await tg.send(reporter, reporter.id, f"/status {receipt}")
    key = StorageKey(bot_id=tg.bot.id, chat_id=reporter.id, user_id=reporter.id)
    data = await tg.dispatcher.fsm.storage.get_data(key)
    assert set(data) == {"secret"}  # the language and the case number are sealed too
    await press_last(tg, reporter, reporter.id, "Close and delete from this chat")
    assert tg.last_text(reporter.id).startswith("Closed. Your report is kept")
    assert not any("Status: Received" in (m.text or "")
                   for m in tg.api.chat_messages(reporter.id))
    assert len(await stored_cases(database)) == 1


class _Writes:
    """The data-changing SQL statements the database is sent, by table."""

    def __init__(self, database) -> None:
        self.statements: list[str] = []
        self.engine = database.engine.sync_engine
        from sqlalchemy import event

        event.listen(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany) -> None:
        words = statement.lstrip().split(None, 3)
        if words and words[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            self.statements.append(" ".join(words[:3]).lower())

    def close(self) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._seen)


async def test_reporting_writes_nothing_about_the_reporter(tg, database, amani, registered_group):
    """A known member who changed their username files a report: no update of their person
    row, no counter, nothing but the case in the database."""
    renamed = LocalUser(id=amani.id, first_name="Amani", username="amani_renamed",
                        language_code="en")
    writes = _Writes(database)
    try:
        await make_report(tg, database, renamed, registered_group)
    finally:
        writes.close()
    tables = {s.split()[-1].strip('"') for s in writes.statements}
    assert tables <= {"report_case", "report_event", "outbox"}, writes.statements
    async with database.session() as s:
        from storage.models import Person

        person = (await s.exec(select(Person).where(Person.telegram_id == amani.id))).one()
        assert person.username == "amani"


async def test_report_in_a_group_makes_nobody_a_member(tg, database, bahati, registered_group):
    from storage.models import Membership, Person

    await tg.send(bahati, registered_group, "/report")
    assert "never in this group" in tg.last_text(registered_group)
    async with database.session() as s:
        assert (await s.exec(select(Person).where(Person.telegram_id == bahati.id))).first() \
            is None
        assert len((await s.exec(select(Membership))).all()) == 1  # Amani's, from /setup

"""Nothing is confirmed before it is stored: with a failure injected at commit time, nobody is
told "you are going", "thank you: proposal #1", "recorded" or shown a receipt; they are told it
did not work, nothing is kept, and trying again works (a report draft survives the failure).
On PostgreSQL a deferred constraint trigger makes the database itself refuse the commit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlmodel import func, select

from storage.agenda_tables import ActionItem, AgendaItem
from storage.calendar_tables import Rsvp
from storage.report_tables import ReportCase
from tests.report_helpers import LANGUAGE_ORDER, group_code, press_last

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
NOT_SAVED = "nothing was saved"


async def _count(database, model) -> int:
    async with database.session() as s:
        return (await s.exec(select(func.count()).select_from(model))).one()


def _alert(tg) -> str:
    return tg.api.sent("answerCallbackQuery")[-1].params.get("text", "")


async def _card(tg, amani, chat):
    await tg.send(amani, chat, "/schedule 2026-12-03 10:00 | Monthly meeting | Hall")
    return tg.last_bot_message(chat)


def _current(tg, chat, message_id):
    return next(m for m in tg.api.chat_messages(chat) if m.message_id == message_id)


async def test_rsvp_is_not_confirmed_when_the_commit_fails(tg, database, clock, amani, bahati,
                                                           registered_group, failing_commits):
    card = await _card(tg, amani, registered_group)
    failing_commits.armed = True
    await tg.press(bahati, card, "✅ Going")
    failing_commits.armed = False
    assert failing_commits.failed >= 1
    answers = [c.params.get("text", "") for c in tg.api.sent("answerCallbackQuery")]
    assert NOT_SAVED in answers[-1]
    assert not any("You are going" in a for a in answers)
    assert "Going: 0" in _current(tg, registered_group, card.message_id).text
    assert await _count(database, Rsvp) == 0
    await tg.press(bahati, card, "✅ Going")  # trying again works
    assert "Going: 1" in _current(tg, registered_group, card.message_id).text
    assert await _count(database, Rsvp) == 1


async def test_proposal_is_not_thanked_when_the_commit_fails(tg, database, clock, amani, bahati,
                                                             registered_group, failing_commits):
    await _card(tg, amani, registered_group)
    before = len(tg.texts(registered_group))
    failing_commits.armed = True
    await tg.send(bahati, registered_group, "/propose Road safety near the mine")
    failing_commits.armed = False
    said = "\n".join(tg.texts(registered_group)[before:])
    assert NOT_SAVED in said and "#1" not in said
    assert await _count(database, AgendaItem) == 0
    await tg.send(bahati, registered_group, "/propose Road safety near the mine")
    assert await _count(database, AgendaItem) == 1
    assert NOT_SAVED not in tg.last_text(registered_group)


async def test_action_is_not_recorded_when_the_commit_fails(tg, database, clock, amani, bahati,
                                                            registered_group, failing_commits):
    clock.now = datetime(2026, 11, 19, 8, 0, tzinfo=UTC)
    await tg.send(amani, registered_group, "/schedule 2026-11-20 10:00 | Monthly meeting | Hall")
    clock.now = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    await tg.send(bahati, registered_group, "/join")
    before = len(tg.texts(registered_group))
    failing_commits.armed = True
    await tg.send(amani, registered_group, "/action @bahati 2026-12-01 Send the incident figures")
    failing_commits.armed = False
    said = "\n".join(tg.texts(registered_group)[before:])
    assert NOT_SAVED in said and "recorded" not in said.lower().replace(NOT_SAVED, "")
    assert await _count(database, ActionItem) == 0
    await tg.send(amani, registered_group, "/action @bahati 2026-12-01 Send the incident figures")
    assert await _count(database, ActionItem) == 1


async def test_report_receipt_only_after_the_case_is_stored(
    tg, database, clock, amani, reporter, registered_group, failing_commits, fresh_report_keys,
):
    code = await group_code(database, registered_group)
    chat = tg.private_chat(reporter)
    await tg.send(reporter, chat, f"/start report_{code}")
    await press_last(tg, reporter, chat, LANGUAGE_ORDER.index("en") + 1)
    await press_last(tg, reporter, chat, 1)  # continue after the safety notice
    await press_last(tg, reporter, chat, 1)  # category
    await press_last(tg, reporter, chat, 2)  # nobody in danger now
    await tg.send(reporter, chat, "Near the mine gate")
    await tg.send(reporter, chat, "Last Tuesday")
    await tg.send(reporter, chat, "Soldiers beat a man.")
    await press_last(tg, reporter, chat, 1)  # done
    summary = tg.last_bot_message(chat)
    failing_commits.armed = True
    await tg.press(reporter, summary, 1)  # send the report
    failing_commits.armed = False
    assert NOT_SAVED in _alert(tg)
    assert all("<code>" not in t for t in tg.texts(chat)), "no receipt for an unstored report"
    assert await _count(database, ReportCase) == 0
    await tg.press(reporter, _current(tg, chat, summary.message_id), 1)  # the draft survived
    assert "<code>" in tg.last_text(chat)
    assert await _count(database, ReportCase) == 1


@pytest.mark.postgresql
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_postgresql_refusing_the_commit_is_told_not_confirmed(
    tg, database, clock, amani, bahati, registered_group,
):
    """A deferred constraint trigger: PostgreSQL itself refuses the transaction at COMMIT."""
    card = await _card(tg, amani, registered_group)
    async with database.session() as s:
        await s.exec(text(
            "CREATE FUNCTION refuse_rsvp() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$"))
        await s.exec(text(
            "CREATE CONSTRAINT TRIGGER refuse_rsvp AFTER INSERT ON meeting_rsvp DEFERRABLE "
            "INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_rsvp()"))
    await tg.press(bahati, card, "✅ Going")
    assert NOT_SAVED in _alert(tg)
    assert "Going: 0" in _current(tg, registered_group, card.message_id).text
    assert await _count(database, Rsvp) == 0


async def test_an_edit_that_changes_nothing_is_not_an_error():
    """Telegram refuses an edit that would leave the message as it is (a second press):
    the press has done what it should, so nobody gets an apology for it."""
    from aiogram.exceptions import TelegramBadRequest
    from aiogram.methods import EditMessageReplyMarkup, SendMessage

    from bot.middleware import CommitBeforeReply

    async def refuse(bot, method):
        raise TelegramBadRequest(method, "Bad Request: message is not modified")

    middleware = CommitBeforeReply()
    edit = EditMessageReplyMarkup(chat_id=1, message_id=2, reply_markup=None)
    assert await middleware(refuse, None, edit) is True
    with pytest.raises(TelegramBadRequest):
        await middleware(refuse, None, SendMessage(chat_id=1, text="x"))

"""Dispatcher tests of pending prompts and previews: a reply to a reporter is previewed with
Send / Edit / Cancel and nothing reaches the reporter before Send; Cancel (button, /cancel, the
word in five languages) at each prompt; a command is run as a command; an obvious question is
asked back; forged buttons; a failed commit at Send confirms nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from handlers.prompts import is_cancel_word, looks_like_question
from storage.report_tables import ReportEvent
from tests.report_helpers import labels, make_report, press_last

pytestmark = pytest.mark.usefixtures("fresh_report_keys")
NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)  # the `clock` fixture's time


async def _replies(database) -> int:
    async with database.session() as s:
        events = (await s.exec(select(ReportEvent))).all()
    return sum(1 for e in events if e.kind == "reply")


async def _reply_prompt(tg, database, amani, reporter, group) -> tuple[int, str]:
    receipt = await make_report(tg, database, reporter, group)
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/case 1")
    await press_last(tg, amani, chat, "Reply to the reporter")
    assert "You will see it before it is sent." in tg.last_text(chat)
    assert labels(tg, chat) == ["Cancel"]
    return chat, receipt


async def _reporter_sees(tg, reporter, receipt) -> str:
    await tg.send(reporter, reporter.id, f"/status {receipt}")
    return tg.last_text(reporter.id)


@pytest.mark.parametrize("text, expected", [
    ("What should we do if the soldiers come back?", True),
    ("Que faire si les militaires reviennent ?", True),
    ("¿Qué hacemos si vuelven los soldados?", True),
    ("Je, tufanye nini wanajeshi wakirudi?", True),
    ("Ndenge nini tosala soki basoda bazongi?", True),
    ("Mpo na nini bakangaki ye?", True),
    ("We met the commander. Are you safe?", False),
    ("What a day.", False),
    ("Banro Mining", False),
])
def test_obvious_questions(text, expected):
    assert looks_like_question(text) is expected


@pytest.mark.parametrize("word", ["cancel", "Annuler", "cancelar", "ghairi", "Tika", "CANCEL."])
def test_cancel_words(word):
    assert is_cancel_word(word)
    assert not is_cancel_word(f"{word} the meeting")


async def test_reply_is_previewed_and_sent_only_on_send(tg, database, amani, reporter,
                                                        registered_group):
    chat, receipt = await _reply_prompt(tg, database, amani, reporter, registered_group)
    await tg.send(amani, chat, "We met the commander <b>today</b>.")
    preview = tg.last_text(chat)
    assert "Your reply to the reporter of case #1:" in preview
    assert "We met the commander &lt;b&gt;today&lt;/b&gt;." in preview
    assert labels(tg, chat) == ["Send", "Edit", "Cancel"]
    assert await _replies(database) == 0
    assert "We met the commander" not in await _reporter_sees(tg, reporter, receipt)
    await press_last(tg, amani, chat, "Edit")
    assert tg.last_text(chat).startswith("Send the new text of your reply.")
    await tg.send(amani, chat, "We met the commander on Monday.")
    assert await _replies(database) == 0
    old_preview = [m for m in tg.api.chat_messages(chat) if m.from_bot][-1]
    await press_last(tg, amani, chat, "Send")
    assert tg.last_text(chat).startswith("Reply saved.")
    assert await _replies(database) == 1
    card = await _reporter_sees(tg, reporter, receipt)
    assert "We met the commander on Monday." in card and "<b>today" not in card
    # a second press of Send sends nothing again
    await tg.press_data(amani, old_preview, "pr:send:reply")
    assert await _replies(database) == 1


@pytest.mark.parametrize("how", ["button", "/cancel", "annuler", "Ghairi", "tika", "cancelar"])
async def test_cancel_at_the_reply_prompt_and_preview(tg, database, amani, reporter,
                                                      registered_group, how):
    chat, receipt = await _reply_prompt(tg, database, amani, reporter, registered_group)
    await tg.send(amani, chat, "Please come to the office.")
    if how == "button":
        await press_last(tg, amani, chat, "Cancel")
    else:
        await tg.send(amani, chat, how)
    assert tg.last_text(chat) == "Cancelled. Nothing was sent."
    await tg.send(amani, chat, "Another text")
    assert "Your reply" not in tg.last_text(chat)
    assert await _replies(database) == 0
    assert "come to the office" not in await _reporter_sees(tg, reporter, receipt)


async def test_cancel_button_of_the_prompt_itself(tg, database, amani, reporter,
                                                  registered_group):
    chat, _receipt = await _reply_prompt(tg, database, amani, reporter, registered_group)
    await press_last(tg, amani, chat, "Cancel")
    assert tg.last_text(chat) == "Cancelled. Nothing was sent."


async def test_a_question_at_the_reply_prompt_is_asked_back(tg, database, amani, reporter,
                                                            registered_group):
    chat, receipt = await _reply_prompt(tg, database, amani, reporter, registered_group)
    await tg.send(amani, chat, "What should we do if the soldiers come back?")
    assert tg.last_text(chat).startswith("This looks like a question.")
    assert labels(tg, chat) == ["It is my answer", "It was a question", "Cancel"]
    await press_last(tg, amani, chat, "It was a question")
    assert "/ask" in tg.last_text(chat)
    assert await _replies(database) == 0
    await tg.send(amani, chat, "¿Cómo está usted?")
    await press_last(tg, amani, chat, "It is my answer")
    assert labels(tg, chat) == ["Send", "Edit", "Cancel"]
    assert await _replies(database) == 0
    await press_last(tg, amani, chat, "Send")
    assert "¿Cómo está usted?" in await _reporter_sees(tg, reporter, receipt)


async def test_a_command_at_the_prompt_is_run_as_a_command(tg, database, amani, reporter,
                                                           registered_group):
    chat, receipt = await _reply_prompt(tg, database, amani, reporter, registered_group)
    await tg.send(amani, chat, "/reports")
    assert "Open concern reports" in tg.last_text(chat)
    await tg.send(amani, chat, "/Help")
    assert await _replies(database) == 0
    assert "Open concern" not in await _reporter_sees(tg, reporter, receipt)


async def test_forged_prompt_buttons_are_refused(tg, database, amani, bahati, reporter,
                                                 registered_group):
    chat, receipt = await _reply_prompt(tg, database, amani, reporter, registered_group)
    prompt = tg.last_bot_message(chat)
    before = len(tg.api.sent("answerCallbackQuery"))
    for data in ("pr:send:reply", "pr:answer:reply", "pr:explode:reply", "pr:send:bogus"):
        await tg.press_data(amani, prompt, data)
    answers = [c.params.get("text") for c in tg.api.sent("answerCallbackQuery")[before:]]
    assert answers == ["This button is not valid any more."] * 4
    await tg.send(amani, chat, "Come on Monday.")
    preview = tg.last_bot_message(chat)
    # someone else pressing Send (a forged press in another chat) sends nothing
    await tg.press_data(bahati, preview, "pr:send:reply")
    assert await _replies(database) == 0
    assert "Come on Monday" not in await _reporter_sees(tg, reporter, receipt)


async def test_a_failed_commit_at_send_does_not_confirm(tg, database, amani, reporter,
                                                        registered_group, failing_commits):
    chat, receipt = await _reply_prompt(tg, database, amani, reporter, registered_group)
    await tg.send(amani, chat, "We will visit on Friday.")
    preview = tg.last_bot_message(chat)
    failing_commits.armed = True
    await tg.press(amani, preview, "Send")
    failing_commits.armed = False
    assert failing_commits.failed >= 1
    assert not any(t.startswith("Reply saved.") for t in tg.texts(chat))
    assert await _replies(database) == 0
    assert "visit on Friday" not in await _reporter_sees(tg, reporter, receipt)
    await tg.press(amani, preview, "Send")  # trying again works
    assert tg.last_text(chat).startswith("Reply saved.")
    assert "visit on Friday" in await _reporter_sees(tg, reporter, receipt)


async def _person(database, telegram_id):
    from storage.models import Person
    async with database.session() as s:
        return (await s.exec(select(Person).where(Person.telegram_id == telegram_id))).one()


async def _org_prompt(tg, user) -> int:
    chat = tg.private_chat(user)
    await tg.send(user, chat, "/profile")
    await tg.press(user, tg.last_bot_message(chat), "Organisation")
    assert "Send the name of your organisation" in tg.last_text(chat)
    assert labels(tg, chat) == ["Cancel"]
    return chat


async def test_profile_does_not_take_a_question_as_an_organisation(tg, database, amani,
                                                                   registered_group):
    chat = await _org_prompt(tg, amani)
    await tg.send(amani, chat, "Que faire si un défenseur est arrêté ?")
    assert tg.last_text(chat).startswith("This looks like a question.")
    await tg.send(amani, chat, "Banro")
    assert tg.last_text(chat) == "Please answer with the buttons above."
    question = [m for m in tg.api.chat_messages(chat) if m.from_bot][-2]
    await tg.press(amani, question, "It was a question")
    assert "/ask" in tg.last_text(chat)
    assert (await _person(database, amani.id)).organisation is None
    await tg.send(amani, chat, "Banro Mining")
    assert "Organisation: Banro Mining" in tg.last_text(chat)


async def test_profile_question_kept_when_it_is_the_answer(tg, database, amani, registered_group):
    chat = await _org_prompt(tg, amani)
    await tg.send(amani, chat, "Who Cares?")
    await press_last(tg, amani, chat, "It is my answer")
    assert "Organisation: Who Cares?" in tg.last_text(chat)
    assert (await _person(database, amani.id)).organisation == "Who Cares?"


@pytest.mark.parametrize("how", ["button", "/cancel", "cancel", "Annuler", "futa", "longola"])
async def test_cancel_at_the_profile_prompts(tg, database, amani, registered_group, how):
    chat = await _org_prompt(tg, amani)
    if how == "button":
        await press_last(tg, amani, chat, "Cancel")
    else:
        await tg.send(amani, chat, how)
    assert "Cancelled." in tg.texts(chat)[-2]
    assert (await _person(database, amani.id)).organisation is None
    await tg.press(amani, tg.last_bot_message(chat), "Time zone")
    if how == "button":
        await press_last(tg, amani, chat, "Cancel")
    else:
        await tg.send(amani, chat, how)
    assert "Cancelled." in tg.texts(chat)[-2]
    assert (await _person(database, amani.id)).timezone is None


async def test_a_command_at_the_profile_prompt_is_run(tg, database, amani, registered_group):
    chat = await _org_prompt(tg, amani)
    await tg.send(amani, chat, "/help")
    assert (await _person(database, amani.id)).organisation is None
    assert "I did not understand" not in tg.last_text(chat)


async def test_forged_profile_prompt_buttons(tg, database, amani, registered_group):
    chat = await _org_prompt(tg, amani)
    prompt = tg.last_bot_message(chat)
    before = len(tg.api.sent("answerCallbackQuery"))
    await tg.press_data(amani, prompt, "pr:answer:org")
    await tg.press_data(amani, prompt, "pr:question:tz")
    answers = [c.params.get("text") for c in tg.api.sent("answerCallbackQuery")[before:]]
    assert answers == ["This button is not valid any more."] * 2
    assert (await _person(database, amani.id)).organisation is None


async def _decline_preview(tg, database, amani, bahati, group):
    from bot.delivery.sender import Sender
    from bot.delivery.worker import Delivery
    await tg.send(amani, group, "/schedule 2026-12-03 10:00 | Monthly meeting")
    await tg.send(bahati, group, "/join")
    tg.private_chat(bahati)
    await tg.send(bahati, group, "/propose Road safety")
    chat = tg.private_chat(amani)

    async def deliver():
        await Delivery(database, Sender(tg.bot, database, rate_limits=False)).run(
            NOW)
    await tg.send(amani, chat, "/decline 1 Not in our mandate")
    assert "Not in our mandate" in tg.last_text(chat)
    assert labels(tg, chat) == ["Send", "Edit", "Cancel"]
    return chat, deliver


async def _bahati_told(tg, bahati) -> str:
    return "\n".join(tg.texts(tg.private_chat(bahati)))


@pytest.mark.parametrize("how", ["button", "/cancel", "annuler"])
async def test_decline_reason_cancelled(tg, database, clock, amani, bahati, registered_group,
                                        how):
    from storage.agenda_tables import AgendaItem
    chat, deliver = await _decline_preview(tg, database, amani, bahati, registered_group)
    if how == "button":
        await press_last(tg, amani, chat, "Cancel")
    else:
        await tg.send(amani, chat, how)
    assert tg.last_text(chat) == "Cancelled. Nothing was sent."
    await deliver()
    assert "Not in our mandate" not in await _bahati_told(tg, bahati)
    async with database.session() as s:
        assert [i.status for i in (await s.exec(select(AgendaItem))).all()] != ["declined"]


async def test_decline_reason_edited_then_sent(tg, database, clock, amani, bahati,
                                               registered_group):
    chat, deliver = await _decline_preview(tg, database, amani, bahati, registered_group)
    first = tg.last_bot_message(chat)
    await press_last(tg, amani, chat, "Edit")
    assert "Send the new reason" in tg.last_text(chat)
    await tg.send(amani, chat, "Already discussed in November")
    second = tg.last_bot_message(chat)
    await tg.press_data(amani, first, "pr:send:decline")  # the old preview sends nothing
    await deliver()
    assert "Road safety" not in await _bahati_told(tg, bahati)
    await tg.press(amani, second, "Send")
    assert tg.last_text(chat) == "Declined; the proposer is told."
    await deliver()
    told = await _bahati_told(tg, bahati)
    assert "Already discussed in November" in told and "Not in our mandate" not in told


@pytest.mark.parametrize("how", ["button", "sitisha"])
async def test_cancel_at_the_note_prompt(tg, database, amani, reporter, registered_group, how):
    await make_report(tg, database, reporter, registered_group)
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/case 1")
    await press_last(tg, amani, chat, "Add an internal note")
    assert "Or press Cancel." in tg.last_text(chat)
    if how == "button":
        await press_last(tg, amani, chat, "Cancel")
    else:
        await tg.send(amani, chat, how)
    assert tg.last_text(chat) == "Cancelled. Nothing was sent."
    await tg.send(amani, chat, "Informed the company")
    async with database.session() as s:
        assert [e.kind for e in (await s.exec(select(ReportEvent))).all()] == ["submitted"]


async def test_cancel_while_editing_a_decline_reason(tg, database, clock, amani, bahati,
                                                     registered_group):
    chat, deliver = await _decline_preview(tg, database, amani, bahati, registered_group)
    await press_last(tg, amani, chat, "Edit")
    await tg.send(amani, chat, "kotika")
    assert tg.last_text(chat) == "Cancelled. Nothing was sent."
    await deliver()
    assert "Road safety" not in await _bahati_told(tg, bahati)

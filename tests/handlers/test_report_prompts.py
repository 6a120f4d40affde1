"""Dispatcher tests of the report flow's prompts: /report during a draft asks Continue or Start
again; voice notes and photos at every free-text step; a voice note or photo outside any flow
gets a hint to /report; the word "cancel" stops a draft."""

from __future__ import annotations

import pytest
from sqlmodel import select

from storage.report_tables import ReportEvent
from tests.report_helpers import (
    LANGUAGE_ORDER,
    group_code,
    labels,
    make_report,
    press_last,
    send_media,
    stored_cases,
)

pytestmark = pytest.mark.usefixtures("fresh_report_keys")


async def _to_where(tg, database, user, group, language="en") -> int:
    code = await group_code(database, group)
    chat = tg.private_chat(user)
    await tg.send(user, chat, f"/start report_{code}")
    await press_last(tg, user, chat, LANGUAGE_ORDER.index(language) + 1)
    await press_last(tg, user, chat, 1)
    await press_last(tg, user, chat, 1)
    await press_last(tg, user, chat, 2)
    assert tg.last_text(chat).startswith("Where did it happen?")
    return chat


async def test_report_again_during_a_draft_asks_first(tg, database, reporter, registered_group):
    chat = await _to_where(tg, database, reporter, registered_group)
    await tg.send(reporter, chat, "Near the river")
    assert tg.last_text(chat).startswith("When did it happen?")
    await tg.send(reporter, chat, "/report")
    assert tg.last_text(chat).startswith("You have a report in progress.")
    assert labels(tg, chat) == ["Continue my report", "Start again"]
    await press_last(tg, reporter, chat, "Continue my report")
    assert tg.last_text(chat).startswith("When did it happen?")  # the draft is kept
    await tg.send(reporter, chat, "Yesterday evening")
    await tg.send(reporter, chat, "They took our goats.")
    await press_last(tg, reporter, chat, "Done")
    summary = tg.last_text(chat)
    assert "Near the river" in summary and "Yesterday evening" in summary


async def test_start_again_discards_the_draft(tg, database, reporter, registered_group):
    chat = await _to_where(tg, database, reporter, registered_group)
    await tg.send(reporter, chat, "Near the river")
    code = await group_code(database, registered_group)
    await tg.send(reporter, chat, f"/start report_{code}")
    assert tg.last_text(chat).startswith("You have a report in progress.")
    await press_last(tg, reporter, chat, "Start again")
    assert tg.last_text(chat) == "Choose the language of your report:"
    texts = "\n".join(tg.texts(chat))
    assert "Near the river" not in texts  # the old draft's messages are deleted too
    receipt = await make_report(tg, database, reporter, registered_group, where="At the market")
    assert receipt
    await tg.send(reporter, reporter.id, f"/status {receipt}")
    assert "Near the river" not in tg.last_text(reporter.id)
    assert len(await stored_cases(database)) == 1


async def test_forged_restart_buttons_are_refused(tg, database, reporter, registered_group):
    chat = await _to_where(tg, database, reporter, registered_group)
    await tg.send(reporter, chat, "/report")
    question = tg.last_bot_message(chat)
    before = len(tg.api.sent("answerCallbackQuery"))
    await tg.press_data(reporter, question, "rp:restart:" + "x" * 40)
    answers = [c.params.get("text") for c in tg.api.sent("answerCallbackQuery")[before:]]
    assert answers == ["This button is not valid any more."]
    await press_last(tg, reporter, chat, "Start again")
    await press_last(tg, reporter, chat, "Stop")
    before = len(tg.api.sent("answerCallbackQuery"))
    await tg.press_data(reporter, question, "rp:resume:")  # no draft any more
    answers = [c.params.get("text") for c in tg.api.sent("answerCallbackQuery")[before:]]
    assert answers == ["This button is not valid any more."]


@pytest.mark.parametrize("word", ["cancel", "Annuler", "ghairi", "cancelar", "longola"])
async def test_the_word_cancel_stops_a_draft(tg, database, reporter, registered_group, word):
    chat = await _to_where(tg, database, reporter, registered_group)
    await tg.send(reporter, chat, word)
    assert tg.last_text(chat).startswith("Stopped. Nothing was kept")
    assert await stored_cases(database) == []


async def test_voice_and_photo_at_every_free_text_step(tg, database, reporter, amani,
                                                       registered_group):
    chat = await _to_where(tg, database, reporter, registered_group)
    await send_media(tg, reporter, chat, "voice", 1)
    assert tg.last_text(chat).startswith("When did it happen?")
    await send_media(tg, reporter, chat, "photo", 2)
    assert tg.last_text(chat).startswith("What happened?")
    await send_media(tg, reporter, chat, "voice", 3)
    await press_last(tg, reporter, chat, "Done")
    summary = tg.last_text(chat)
    assert "🎤 #1" in summary and "📷 #2" in summary
    await press_last(tg, reporter, chat, "Send the report")
    admin_chat = tg.private_chat(amani)
    await tg.send(amani, admin_chat, "/case 1")
    sent = [(c.method, c.params.get("voice") or c.params.get("photo"))
            for c in tg.api.calls if c.method in {"sendPhoto", "sendVoice"}]
    assert sent == [("sendVoice", "VOICE-1"), ("sendPhoto", "PHOTO-2"), ("sendVoice", "VOICE-3")]
    card = "\n".join(tg.texts(admin_chat))
    assert "🎤 #1" in card and "📷 #2" in card


async def test_media_outside_a_flow_gets_a_hint(tg, reporter):
    chat = tg.private_chat(reporter)
    for kind in ("voice", "photo"):
        await send_media(tg, reporter, chat, kind)
        assert "/report" in tg.last_text(chat)
        assert "I do not keep voice notes or photos" in tg.last_text(chat)


async def _info_events(database) -> list[ReportEvent]:
    async with database.session() as s:
        return list((await s.exec(select(ReportEvent).where(ReportEvent.kind == "info"))).all())


@pytest.mark.parametrize("how", ["Stop", "/cancel", "cancel", "Annuler", "ghairi", "cancelar",
                                 "longola"])
async def test_cancel_at_the_status_prompt(tg, database, reporter, registered_group, how):
    """/status's "Send what you want to add" prompt stops like the others: its Stop button,
    /cancel or the word "cancel" in any of the five languages; nothing typed is added."""
    receipt = await make_report(tg, database, reporter, registered_group)
    chat = reporter.id
    await tg.send(reporter, chat, f"/status {receipt}")
    await press_last(tg, reporter, chat, "Add information")
    prompt = tg.last_bot_message(chat)
    assert labels(tg, chat) == ["Done", "Stop"]
    await tg.send(reporter, chat, "They came back at night.")
    await send_media(tg, reporter, chat, "photo")
    assert tg.last_text(chat).startswith("Received (2).")  # text and photos are still taken
    done = tg.last_bot_message(chat)
    if how == "Stop":
        await tg.press(reporter, prompt, "Stop")
    else:
        await tg.send(reporter, chat, how)
    stopped = tg.last_text(chat)  # the report sent earlier stays: not "Nothing was kept"
    assert stopped.startswith("Stopped. Your report is kept as it was"), stopped
    await tg.send(reporter, chat, "And again this morning.")  # no prompt waits any more
    await tg.press(reporter, done, "Done")
    assert await _info_events(database) == []
    await tg.send(reporter, chat, f"/status {receipt}")
    assert "you added information" not in tg.last_text(chat)

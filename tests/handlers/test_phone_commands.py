"""Commands typed on phones: whatever their case (an auto-capitalising keyboard), and a near-miss
answered with "did you mean"."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("typed", ["/Calendar", "/CALENDAR", "/calendar@WgTestBot",
                                   "/Calendar@wgtestbot", "/CALENDAR@WGTESTBOT"])
async def test_command_case_does_not_matter(tg, clock, amani, registered_group, typed):
    bot_name = (await tg.bot.me()).username
    typed = typed.replace("WgTestBot", bot_name).replace("wgtestbot", bot_name.lower()) \
        .replace("WGTESTBOT", bot_name.upper())
    await tg.send(amani, registered_group, typed)
    assert "No meetings coming up in South Kivu" in tg.last_text(registered_group)


async def test_arguments_keep_their_case(tg, clock, amani, registered_group):
    await tg.send(amani, registered_group, "/Schedule 2026-12-03 10:00 | Monthly MEETING | Town")
    text = tg.last_text(registered_group)
    assert "Scheduled meeting" in text and "Monthly MEETING" in text


async def test_capitalised_command_in_private(tg, amani):
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/Help")
    assert "know the command" not in tg.last_text(chat)


@pytest.mark.parametrize(("typed", "meant"), [("/shedule", "/schedule"),
                                              ("/calender", "/calendar"),
                                              ("/reprot", "/report"),
                                              ("/Shedule", "/schedule")])
async def test_near_miss_gets_did_you_mean(tg, clock, amani, registered_group, typed, meant):
    await tg.send(amani, registered_group, typed)
    text = tg.last_text(registered_group)
    assert f"Did you mean {meant}?" in text


async def test_did_you_mean_is_localized(tg, amani):
    amani.language_code = "fr"
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/calender")
    text = tg.last_text(chat)
    assert "/calendar" in text and "Did you mean" not in text


@pytest.mark.parametrize("typed", ["/hello", "/xyz", "/banana", "/q"])
async def test_far_off_word_gets_the_unknown_command_answer(tg, clock, amani, registered_group,
                                                             typed):
    await tg.send(amani, registered_group, typed)
    text = tg.last_text(registered_group)
    assert f"I don't know the command {typed}. Send /help" in text
    assert "Did you mean" not in text


async def test_other_bots_commands_are_left_alone(tg, clock, amani, registered_group):
    before = len(tg.texts(registered_group))
    await tg.send(amani, registered_group, "/Shedule@SomeOtherBot")
    assert len(tg.texts(registered_group)) == before

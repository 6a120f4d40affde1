"""Co-chairs through the real Dispatcher: private invitations answered with buttons, the
announcement in the group and on the agenda, /cochairs, the secretariat's override, and refusals
of bad input. Time is a controlled clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.delivery.sender import Sender
from bot.delivery.worker import Delivery
from bot.services import agenda, cochairs
from storage.agenda_tables import CochairTurn
from storage.models import Person

START = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 15, 8, 0, tzinfo=UTC)


@pytest.fixture
async def chaired_group(tg, database, clock, amani, bahati, carlos, registered_group) -> int:
    await tg.send(amani, registered_group, "/schedule 2026-12-03 10:00 | Monthly meeting | Hall")
    for user in (bahati, carlos):
        await tg.send(user, registered_group, "/join")
        tg.private_chat(user)
    async with database.session() as s:
        for user, pillar in ((bahati, "company"), (carlos, "civil_society")):
            person = (await s.exec(select(Person).where(Person.telegram_id == user.id))).one()
            person.pillar, person.willing_cochair = pillar, True
            s.add(person)
    return registered_group


async def _deliver(tg, database, now):
    return await Delivery(database, Sender(tg.bot, database, rate_limits=False)).run(now)


def _alert(tg) -> str:
    return tg.api.sent("answerCallbackQuery")[-1].params.get("text", "")


async def test_invitations_accepted_with_buttons_are_announced(tg, database, clock, bahati,
                                                               carlos, chaired_group):
    clock.now = START - timedelta(days=15)
    assert await cochairs.invite_due(database, clock.now) == 0  # outside the 14-day window
    clock.now = START - timedelta(days=14)
    assert await cochairs.invite_due(database, clock.now) == 2
    await _deliver(tg, database, clock.now)
    for user in (bahati, carlos):
        invitation = tg.last_bot_message(tg.private_chat(user))
        assert "Would you co-chair this meeting of South Kivu" in invitation.text
        await tg.press(user, invitation, "✅ Yes, I accept")
        assert "you will co-chair" in tg.last_text(tg.private_chat(user))
    await tg.press(bahati, invitation, "✅ Yes, I accept")
    assert _alert(tg) == "This button is not valid any more."
    await _deliver(tg, database, clock.now)
    assert "Co-chairs confirmed: Bahati, Carlos" in tg.last_text(chaired_group)
    clock.now = START - timedelta(hours=48)
    await agenda.schedule_publications(database, clock.now)
    await _deliver(tg, database, clock.now)
    assert "🤝 Co-chairs: Bahati, Carlos" in tg.last_text(chaired_group)
    await tg.send(bahati, chaired_group, "/cochairs")
    text = tg.last_text(chaired_group)
    assert "Bahati, Carlos" in text and "Bahati: 1" in text and "Carlos: 1" in text


async def test_decline_and_silence_pass_the_turn(tg, database, clock, bahati, carlos,
                                                 chaired_group):
    clock.now = START - timedelta(days=14)
    await cochairs.invite_due(database, clock.now)
    await _deliver(tg, database, clock.now)
    invitation = tg.last_bot_message(tg.private_chat(bahati))
    await tg.press(bahati, invitation, "✖️ Not this time")
    assert "the turn passes" in tg.last_text(tg.private_chat(bahati))
    clock.now += timedelta(hours=48)
    await cochairs.invite_due(database, clock.now)
    async with database.session() as s:
        statuses = {t.status for t in (await s.exec(select(CochairTurn))).all()}
    assert statuses == {"declined", "expired"}


async def test_override_and_bad_input(tg, database, clock, amani, bahati, carlos,
                                      chaired_group):
    await tg.send(bahati, chaired_group, "/cochairs set 1 @bahati @carlos")
    assert tg.last_text(chaired_group) == "Only the secretariat can do that."
    await tg.send(amani, chaired_group, "/cochairs set 1 @nobody")
    assert "I do not know @nobody" in tg.last_text(chaired_group)
    await tg.send(amani, chaired_group, "/cochairs set x @bahati")
    assert "Usage: /cochairs" in tg.last_text(chaired_group)
    await tg.send(amani, chaired_group, "/cochairs set 9 @bahati")
    assert "There is no meeting #9" in tg.last_text(chaired_group)
    await tg.send(amani, chaired_group, "/cochairs dance")
    assert "Usage: /cochairs" in tg.last_text(chaired_group)
    await tg.send(amani, chaired_group, "/cochairs set 1 @bahati @carlos")
    assert "set by the secretariat: Bahati, Carlos" in tg.last_text(chaired_group)
    async with database.session() as s:
        turns = (await s.exec(select(CochairTurn))).all()
    assert {t.status for t in turns} == {"override"} and all(t.set_by for t in turns)
    await tg.send(amani, chaired_group, "/cochairs mark @amani")
    assert "Marked as eligible to co-chair: Amani" in tg.last_text(chaired_group)
    await tg.send(carlos, chaired_group, "/cochairs away 1")
    assert "You keep your place" in tg.last_text(chaired_group)
    invitation = tg.last_bot_message(chaired_group)
    await tg.press_data(carlos, invitation, "cc:y:999")
    assert _alert(tg) == "This button is not valid any more."


async def test_policy_pairs_and_days(tg, database, clock, amani, bahati, chaired_group):
    await tg.send(bahati, chaired_group, "/cochairs days 7")
    assert tg.last_text(chaired_group) == "Only the secretariat can do that."
    await tg.send(amani, chaired_group, "/cochairs pairs company host_government+community")
    assert "Company; Host government / Community" in tg.last_text(chaired_group)
    await tg.send(amani, chaired_group, "/cochairs pairs company+dragons")
    assert 'Unknown pillar "dragons"' in tg.last_text(chaired_group)
    await tg.send(amani, chaired_group, "/cochairs pairs")
    assert "Name one to four co-chair seats" in tg.last_text(chaired_group)
    await tg.send(amani, chaired_group, "/cochairs days 99")
    assert "between 1 and 60" in tg.last_text(chaired_group)
    await tg.send(amani, chaired_group, "/cochairs days 7")
    assert "Invitations 7 days before" in tg.last_text(chaired_group)
    clock.now = START - timedelta(days=8)
    assert await cochairs.invite_due(database, clock.now) == 0
    clock.now = START - timedelta(days=7)
    assert await cochairs.invite_due(database, clock.now) == 1  # only the company seat

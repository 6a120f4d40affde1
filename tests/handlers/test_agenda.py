"""The agenda through the real Dispatcher: proposals (named and anonymous), the secretariat's
review buttons, /decline with a reason, late proposals, the deadline reminder and publication,
/discussed and carry-over, and refusals of bad input. Time is a controlled clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.services import agenda
from storage.agenda_tables import AgendaItem
from tests.report_helpers import deliver, last_alert

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)  # 10:00 in Lubumbashi (UTC+2)
MEETING_START = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)  # 2026-12-03 10:00 local
DEADLINE = MEETING_START - timedelta(hours=48)


async def _items(database) -> list[AgendaItem]:
    async with database.session() as s:
        return list((await s.exec(select(AgendaItem).order_by(AgendaItem.id))).all())


async def _review_message(tg, database, user, now):
    await deliver(tg, database, now)
    return tg.last_bot_message(tg.private_chat(user))


async def test_propose_accept_and_publish_at_deadline(tg, database, clock, amani, bahati,
                                                      meeting_group):
    await tg.send(bahati, meeting_group, "/propose Road safety near the mine")
    assert "proposal #1" in tg.last_text(meeting_group)
    review = await _review_message(tg, database, amani, NOW)
    assert "Road safety near the mine" in review.text and "Bahati" in review.text
    await tg.press(amani, review, "✅ Accept")
    assert last_alert(tg) == "Accepted."
    assert "1. Road safety near the mine — proposed by Bahati" in review.text  # edited in place

    await tg.send(bahati, meeting_group, "/agenda")
    assert "1. Road safety near the mine" in tg.last_text(meeting_group)

    # Nothing is published before the deadline; at the deadline, once.
    clock.now = DEADLINE - timedelta(minutes=1)
    await agenda.schedule_publications(database, clock.now)
    await deliver(tg, database, clock.now)
    assert not any(t.startswith("<b>📋 Agenda</b>") for t in tg.texts(meeting_group))
    clock.now = DEADLINE
    assert await agenda.schedule_publications(database, clock.now) == 1
    assert await agenda.schedule_publications(database, clock.now) == 0
    await deliver(tg, database, clock.now)
    published = tg.last_text(meeting_group)
    assert published.startswith("<b>📋 Agenda</b>")
    assert tg.last_bot_message(meeting_group).pinned
    assert "Monthly meeting" in published and "Hall" in published
    assert "1. Road safety near the mine — proposed by Bahati" in published


async def test_anonymous_proposal_never_shows_the_proposer(tg, database, clock, amani, bahati,
                                                           meeting_group):
    private = tg.private_chat(bahati)
    await tg.send(bahati, private, "/propose Complaints about night patrols")
    choice = tg.last_bot_message(private)
    named = choice.buttons()[0]["callback_data"]
    await tg.press(bahati, choice, "Anonymous")
    assert "proposal #1" in tg.last_text(private)
    review = await _review_message(tg, database, amani, NOW)
    assert "Proposed by: anonymous" in review.text and "Bahati" not in review.text
    await tg.press(amani, review, "✅ Accept")
    clock.now = DEADLINE
    await agenda.schedule_publications(database, clock.now)
    await deliver(tg, database, clock.now)
    published = tg.last_text(meeting_group)
    assert "1. Complaints about night patrols" in published
    assert "Bahati" not in published and "proposed by" not in published
    # The name choice cannot be pressed twice or by someone else.
    await tg.press_data(bahati, choice, named)
    assert last_alert(tg) == "This button is not valid any more."


async def test_move_up_and_down_and_decline_with_reason(tg, database, clock, amani, bahati,
                                                        meeting_group):
    for text in ("First topic", "Second topic", "Third topic"):
        await tg.send(bahati, meeting_group, f"/propose {text}")
    await deliver(tg, database, NOW)
    reviews = [m for m in tg.api.chat_messages(tg.private_chat(amani)) if m.buttons()]
    for message in reviews[:2]:
        await tg.press(amani, message, "✅ Accept")
    await tg.press(amani, reviews[1], "▲ Move up")
    assert "1. Second topic" in reviews[1].text and "2. First topic" in reviews[1].text
    await tg.press(amani, reviews[1], "▲ Move up")
    assert last_alert(tg) == "The item cannot move further."
    await tg.press(amani, reviews[1], "▼ Move down")
    assert "1. First topic" in reviews[1].text

    await tg.send(amani, tg.private_chat(amani), "/decline 3 Out of the group's mandate")
    preview = tg.last_bot_message(tg.private_chat(amani))
    assert "Out of the group's mandate" in preview.text
    await deliver(tg, database, NOW)
    assert "Third topic" not in "\n".join(tg.texts(tg.private_chat(bahati)))  # not yet
    await tg.press(amani, preview, "Send")
    assert tg.last_text(tg.private_chat(amani)) == "Declined; the proposer is told."
    await deliver(tg, database, NOW)
    notice = tg.last_text(tg.private_chat(bahati))
    assert "Third topic" in notice and "Reason: Out of the group's mandate" in notice
    await tg.press(amani, reviews[2], "✖️ Decline")
    assert last_alert(tg) == "That is already done."


async def test_only_the_secretariat_reviews(tg, database, clock, amani, bahati, carlos,
                                            meeting_group):
    await tg.send(bahati, meeting_group, "/propose Budget")
    review = await _review_message(tg, database, amani, NOW)
    data = review.buttons()[0]["callback_data"]
    await tg.press_data(bahati, review, data)
    assert last_alert(tg) == "Only the secretariat can do that."
    await tg.press_data(amani, review, "ag:accept:999")
    assert last_alert(tg) == "This button is not valid any more."
    await tg.press_data(amani, review, "ag:explode:1")
    assert [i.status for i in await _items(database)] == ["pending"]
    await tg.send(bahati, tg.private_chat(bahati), "/decline 1 no")
    assert tg.last_text(tg.private_chat(bahati)) == "Only the secretariat can do that."
    await tg.send(bahati, meeting_group, "/discussed 1")
    assert tg.last_text(meeting_group) == "Only the secretariat can do that."
    await tg.send(bahati, meeting_group, "/agendadeadline 24")
    assert tg.last_text(meeting_group) == "Only the secretariat can do that."


async def test_bad_input_gets_clear_answers(tg, database, clock, amani, bahati, carlos,
                                            registered_group):
    await tg.send(amani, registered_group, "/propose Something")
    assert "There is no coming meeting" in tg.last_text(registered_group)
    await tg.send(amani, registered_group, "/schedule 2026-12-03 10:00 | Monthly meeting")
    await tg.send(amani, registered_group, "/propose")
    assert "Write the item after the command" in tg.last_text(registered_group)
    await tg.send(amani, registered_group, "/propose " + "x" * 401)
    assert "at most 400 characters" in tg.last_text(registered_group)
    await tg.send(amani, registered_group, "/propose #77 Something")
    assert "There is no meeting #77" in tg.last_text(registered_group)
    await tg.send(amani, registered_group, "/agenda abc")
    assert "Usage: /agenda" in tg.last_text(registered_group)
    await tg.send(amani, registered_group, "/agendadeadline soon")
    assert "Usage: /agendadeadline" in tg.last_text(registered_group)
    await tg.send(amani, registered_group, "/agendadeadline 0")
    assert "between 1 and 720 hours" in tg.last_text(registered_group)
    await tg.send(amani, registered_group, "/discussed x")
    assert "Usage: /discussed" in tg.last_text(registered_group)
    await tg.send(amani, registered_group, "/discussed 5")
    assert "no accepted agenda item #5" in tg.last_text(registered_group)
    await tg.send(amani, tg.private_chat(amani), "/decline one")
    assert "Usage: /decline" in tg.last_text(tg.private_chat(amani))
    await tg.send(carlos, tg.private_chat(carlos), "/propose Something")
    assert tg.last_text(tg.private_chat(carlos)) == "You are not a member of this working group."
    await tg.send(amani, registered_group, "/agendadeadline 24h")
    assert "24 hours" in tg.last_text(registered_group)
    await tg.send(amani, registered_group, "/agenda")
    assert "Proposals close on" in tg.last_text(registered_group)


async def test_late_proposal_to_any_other_business_or_next_meeting(
        tg, database, clock, amani, bahati, meeting_group):
    await tg.send(amani, meeting_group, "/schedule 2027-01-07 10:00 | January meeting")
    clock.now = DEADLINE + timedelta(hours=1)
    await tg.send(bahati, meeting_group, "/propose Late topic")
    assert "The deadline has passed" in tg.last_text(meeting_group)
    await tg.send(bahati, meeting_group, "/propose Another late topic")
    await deliver(tg, database, clock.now)
    reviews = [m for m in tg.api.chat_messages(tg.private_chat(amani)) if m.buttons()]
    assert [b["text"] for b in reviews[0].buttons()][:2] == ["Any other business",
                                                             "Next meeting"]
    await tg.press(amani, reviews[0], "Any other business")
    text = reviews[0].text
    assert "Any other business" in text and "• Late topic" in text
    await tg.press(amani, reviews[1], "Next meeting")
    assert last_alert(tg) == "Moved to the next meeting."
    await tg.send(bahati, meeting_group, "/agenda 2")
    assert "1. Another late topic" in tg.last_text(meeting_group)


async def test_deadline_reminder_once(tg, database, clock, amani, meeting_group):
    clock.now = DEADLINE - timedelta(hours=24)
    assert await agenda.schedule_publications(database, clock.now) == 1
    clock.now += timedelta(hours=1)
    assert await agenda.schedule_publications(database, clock.now) == 0
    await deliver(tg, database, clock.now)
    assert "Agenda proposals for Monthly meeting close on" in tg.last_text(meeting_group)


async def test_undiscussed_items_carry_over_to_the_next_meeting_of_the_series(
        tg, database, clock, amani, bahati, registered_group):
    await tg.send(amani, registered_group,
                  "/schedule every first thursday 10:00 | Monthly meeting | Hall")
    await tg.press(amani, tg.last_bot_message(registered_group), "✅ Save")
    await tg.send(bahati, registered_group, "/join")
    tg.private_chat(amani)
    for text in ("Done topic", "Open topic"):
        await tg.send(bahati, registered_group, f"/propose {text}")
    await deliver(tg, database, NOW)
    for message in [m for m in tg.api.chat_messages(tg.private_chat(amani)) if m.buttons()]:
        await tg.press(amani, message, "✅ Accept")
    await tg.send(amani, registered_group, "/discussed 1")
    assert "Marked as discussed" in tg.last_text(registered_group)
    first, second = await _items(database)
    clock.now = MEETING_START + timedelta(hours=1)
    assert await agenda.carry_over(database, clock.now) == 0  # the meeting is still on
    clock.now = MEETING_START + timedelta(hours=3)
    assert await agenda.carry_over(database, clock.now) == 1
    done, carried = await _items(database)
    assert done.occurrence == first.occurrence and carried.carried
    assert carried.occurrence == int(datetime(2027, 1, 7, 8, 0, tzinfo=UTC).timestamp())
    await tg.send(bahati, registered_group, "/agenda")
    text = tg.last_text(registered_group)
    assert "1. Open topic" in text and "Done topic" not in text


async def test_merge_into_another_item(tg, database, clock, amani, bahati, meeting_group):
    for text in ("Road safety", "Speed bumps near the school"):
        await tg.send(bahati, meeting_group, f"/propose {text}")
    await tg.send(bahati, meeting_group, "/merge 2 1")
    assert tg.last_text(meeting_group) == "Only the secretariat can do that."
    private = tg.private_chat(amani)
    await tg.send(amani, private, "/merge 2")
    assert "Usage: /merge" in tg.last_text(private)
    await tg.send(amani, private, "/merge 2 2")
    assert "Item #2 cannot take this one" in tg.last_text(private)
    await tg.send(amani, private, "/merge 2 1")
    assert tg.last_text(private) == "Merged into #1: Road safety / Speed bumps near the school"
    await tg.send(amani, private, "/merge 2 1")
    assert "Item #1 cannot take this one" in tg.last_text(private)
    statuses = [i.status for i in await _items(database)]
    assert statuses == ["pending", "merged"]

"""The secretariat's review of a proposal edits its one message in place: no new message per
press, the agenda as it now stands, and only the buttons that still apply."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.report_helpers import deliver

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


async def _reviews(tg, database, amani, now=NOW):
    await deliver(tg, database, now)
    return [m for m in tg.api.chat_messages(tg.private_chat(amani)) if m.buttons()]


def _labels(message) -> list[str]:
    return [b["text"] for b in message.buttons()]


async def test_each_press_edits_the_same_message(tg, database, amani, bahati, meeting_group):
    for text in ("Water point", "Night patrols"):
        await tg.send(bahati, meeting_group, f"/propose {text}")
    first, second = await _reviews(tg, database, amani)
    chat = tg.private_chat(amani)
    before = len(tg.api.chat_messages(chat))
    sends = len(tg.api.sent("sendMessage"))
    await tg.press(amani, first, "✅ Accept")
    await tg.press(amani, second, "✅ Accept")
    await tg.press(amani, second, "▲ Move up")
    await tg.press(amani, second, "▼ Move down")
    assert len(tg.api.chat_messages(chat)) == before  # nothing new in the chat
    assert len(tg.api.sent("sendMessage")) == sends
    assert "Moved down." in second.text
    assert "1. Water point" in second.text and "2. Night patrols" in second.text
    assert "«Night patrols»" in second.text  # the proposal itself stays on its message
    # Accepted: Accept is gone; Decline and the moves stay.
    assert _labels(second) == ["✖️ Decline", "▲ Move up", "▼ Move down"]
    assert "Accepted." in first.text and "1. Water point" in first.text

    await tg.press(amani, second, "✖️ Decline")
    assert len(tg.api.chat_messages(chat)) == before
    assert "Declined; the proposer is told." in second.text
    assert "Night patrols" not in second.text.split("Declined; the proposer is told.")[1]
    assert second.buttons() == []  # nothing left to press
    assert "/decline" not in second.text


async def test_late_proposal_buttons_give_way_after_the_choice(
        tg, database, clock, amani, bahati, meeting_group):
    clock.now = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # past the 48-hour deadline
    await tg.send(bahati, meeting_group, "/propose Late topic")
    [review] = await _reviews(tg, database, amani, clock.now)
    assert _labels(review)[:2] == ["Any other business", "Next meeting"]
    await tg.press(amani, review, "Any other business")
    assert "Late: the deadline has passed" not in review.text
    assert "• Late topic" in review.text
    assert _labels(review) == ["✖️ Decline", "▲ Move up", "▼ Move down"]


async def test_someone_outside_the_secretariat_changes_nothing(
        tg, database, amani, bahati, meeting_group):
    await tg.send(bahati, meeting_group, "/propose Water point")
    [review] = await _reviews(tg, database, amani)
    text, data = review.text, review.buttons()[0]["callback_data"]
    await tg.press_data(bahati, review, data)
    assert review.text == text and review.buttons()[0]["callback_data"] == data
    await tg.press_data(amani, review, "ag:accept:99999")  # forged: no such item
    assert review.text == text

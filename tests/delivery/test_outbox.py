"""The outbox, the delivery loop and the sender: nothing lost, nothing sent twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.delivery import outbox
from bot.delivery.sender import Sender
from bot.delivery.worker import Delivery, Rendered, renderer
from bot.i18n import translate
from bot.services.people import TelegramIdentity, touch_person
from storage.database import Database
from storage.models import OutboxMessage, Person

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@renderer("test-note")
async def render_note(session, row, now):
    if row.payload.get("drop"):
        return None
    if row.payload.get("explode"):
        raise ValueError("cannot render")
    return Rendered(translate("Time zone: {zone}", row.payload.get("lang", "en"),
                              zone=row.payload["zone"]))


@renderer("test-pinned")
async def render_pinned(session, row, now):
    return Rendered("Agenda", pin=True)


async def _enqueue(database, key, chat_id=1001, due=NOW, **payload):
    async with database.session() as session:
        return await outbox.enqueue(session, key=key, kind="test-note", chat_id=chat_id,
                                    due_at=due, payload={"zone": "Africa/Goma", **payload})


async def _statuses(database) -> dict[str, str]:
    async with database.session() as session:
        rows = (await session.exec(select(OutboxMessage))).all()
        return {row.key: row.status for row in rows}


async def test_enqueue_is_idempotent_and_cancel_uses_a_literal_prefix(database):
    assert await _enqueue(database, "meeting_1:7d:1001") is True
    assert await _enqueue(database, "meeting_1:7d:1001") is False
    await _enqueue(database, "meeting_10:7d:1001")
    await _enqueue(database, "meetingX1:7d:1001")
    async with database.session() as session:
        assert await outbox.cancel_pending(session, key_prefix="meeting_1:") == 1
    assert await _statuses(database) == {
        "meeting_1:7d:1001": "cancelled", "meeting_10:7d:1001": "pending",
        "meetingX1:7d:1001": "pending"}


async def test_claims_only_due_rows_and_never_twice(database):
    for i in range(30):
        await _enqueue(database, f"k{i}", due=NOW - timedelta(minutes=i))
    await _enqueue(database, "future", due=NOW + timedelta(minutes=1))
    other = Database(database.url)
    try:
        first, second = await asyncio.gather(
            outbox.claim_due(database, NOW, worker="a", limit=20),
            outbox.claim_due(other, NOW, worker="b", limit=20),
        )
    finally:
        await other.dispose()
    keys = [r.key for r in first] + [r.key for r in second]
    assert len(keys) == len(set(keys)) >= 20  # disjoint claims
    rest = await outbox.claim_due(database, NOW, worker="c", limit=50)
    keys += [r.key for r in rest]
    assert sorted(keys) == sorted(f"k{i}" for i in range(30))
    assert await outbox.claim_due(database, NOW, worker="d") == []


async def test_stale_claims_are_taken_over_after_the_lease(database):
    await _enqueue(database, "crashed")
    [row] = await outbox.claim_due(database, NOW, worker="dead")
    assert await outbox.claim_due(database, NOW + timedelta(minutes=1), worker="b") == []
    later = NOW + outbox.CLAIM_LEASE + timedelta(seconds=1)
    [again] = await outbox.claim_due(database, later, worker="alive")
    assert again.id == row.id and again.attempts == 2 and again.claimed_by == "alive"


async def test_delivery_sends_each_row_once_in_the_recipients_language(tg, database):
    tg.api.chats[1001] = {"id": 1001, "type": "private", "first_name": "A"}
    tg.api.chats[1002] = {"id": 1002, "type": "private", "first_name": "B"}
    await _enqueue(database, "a", chat_id=1001, lang="fr")
    await _enqueue(database, "b", chat_id=1002, lang="sw")
    await _enqueue(database, "later", chat_id=1001, due=NOW + timedelta(hours=1))
    await _enqueue(database, "dropped", chat_id=1001, drop=True)
    delivery = Delivery(database, Sender(tg.bot, database, rate_limits=False))
    assert await delivery.run(NOW) == 2
    assert await delivery.run(NOW) == 0
    texts = {c.params["chat_id"]: c.params["text"] for c in tg.api.sent("sendMessage")}
    assert texts == {1001: translate("Time zone: {zone}", "fr", zone="Africa/Goma"),
                     1002: translate("Time zone: {zone}", "sw", zone="Africa/Goma")}
    assert (await _statuses(database))["dropped"] == "skipped"
    assert await delivery.run(NOW + timedelta(hours=1)) == 1
    assert (await _statuses(database))["later"] == "sent"


async def test_delivery_failures_retry_then_fail_and_blocked_users_are_recorded(tg, database):
    tg.api.chats[1001] = {"id": 1001, "type": "private", "first_name": "A"}
    tg.api.blocked.add(1001)
    async with database.session() as session:
        await touch_person(session, TelegramIdentity(1001, "Amani"))
    await _enqueue(database, "to-blocked", chat_id=1001)
    await _enqueue(database, "broken", chat_id=1001, explode=True)
    await _enqueue(database, "nowhere", chat_id=555)  # a chat that does not exist
    delivery = Delivery(database, Sender(tg.bot, database, rate_limits=False))
    assert await delivery.run(NOW) == 0
    statuses = await _statuses(database)
    assert statuses == {"to-blocked": "skipped", "broken": "pending", "nowhere": "pending"}
    async with database.session() as session:
        person = (await session.exec(select(Person))).one()
    assert person.blocked_bot_at is not None
    for attempt in range(outbox.MAX_ATTEMPTS - 1):
        await delivery.run(NOW + timedelta(minutes=attempt + 1))
    assert (await _statuses(database))["broken"] == "failed"


async def test_sender_retries_after_flood_wait_and_splits_long_texts(tg, database):
    chat = 1001
    tg.api.chats[chat] = {"id": chat, "type": "private", "first_name": "A"}
    original = tg.api._answer
    floods = []

    def flood_once(call, files):
        if call.method == "sendMessage" and not floods:
            floods.append(call)
            return {"ok": False, "error_code": 429, "description": "Too Many Requests",
                    "parameters": {"retry_after": 7}}
        return original(call, files)

    tg.api._answer = flood_once
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    sender = Sender(tg.bot, database, rate_limits=False, sleep=fake_sleep)
    message = await sender.send_message(chat, "line\n" * 1500)
    assert message is not None and sender.retries == 1 and waits == [7]
    bodies = [c.params["text"] for c in tg.api.sent("sendMessage")]
    assert len(bodies) == 3  # refused once, then 7,500 characters in two parts
    assert bodies[0] == bodies[1] and all(len(b) <= 4096 for b in bodies)
    assert [m.text for m in tg.api.chat_messages(chat)] == bodies[1:]


async def test_sender_sends_documents(tg, database):
    tg.api.chats[-5] = {"id": -5, "type": "supergroup", "title": "G"}
    sender = Sender(tg.bot, database)
    message = await sender.send_document(-5, "calendar.ics", b"BEGIN:VCALENDAR", caption="x")
    assert message.document.file_name == "calendar.ics"
    assert tg.last_bot_message(-5).document == ("calendar.ics", b"BEGIN:VCALENDAR")


async def test_pinning_when_allowed_and_sending_anyway_when_not(tg, database):
    tg.api.chats[-5] = {"id": -5, "type": "supergroup", "title": "G"}
    for key in ("first", "second"):
        async with database.session() as session:
            await outbox.enqueue(session, key=key, kind="test-pinned", chat_id=-5, due_at=NOW)
        delivery = Delivery(database, Sender(tg.bot, database, rate_limits=False))
        if key == "second":
            tg.api.unsupported.add("pinChatMessage")  # no right to pin in this chat
        assert await delivery.run(NOW) == 1
    first, second = [m for m in tg.api.chat_messages(-5) if m.from_bot]
    assert first.pinned and not second.pinned
    assert (await _statuses(database)) == {"first": "sent", "second": "sent"}

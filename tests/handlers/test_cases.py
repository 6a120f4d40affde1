"""Dispatcher tests of the secretariat's side of concern reports: /reports, /case and its
actions, authorisation, notices through the outbox, /reportstats, and a lost key."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.delivery.sender import Sender
from bot.delivery.worker import Delivery
from bot.services.report_crypto import clear_cache, get_cipher
from bot.services.reports import notify_replies, purge_delivered
from storage.models import OutboxMessage
from storage.report_tables import ReportCase, ReportEvent
from tests.report_helpers import make_report, press_last

pytestmark = pytest.mark.usefixtures("fresh_report_keys")


def media_sent(tg) -> list[tuple[str, str]]:
    """The photos and voice notes the bot has sent, as (method, file id) pairs."""
    return [(c.method, str(c.params.get("photo") or c.params.get("voice")))
            for c in tg.api.calls if c.method in {"sendPhoto", "sendVoice"}]


async def _case(database) -> ReportCase:
    async with database.session() as s:
        return (await s.exec(select(ReportCase))).one()


async def _deliver(tg, database, now=None) -> int:
    sender = Sender(tg.bot, database, rate_limits=False)
    return await Delivery(database, sender).run(now or datetime.now(UTC))


async def test_reports_and_case_for_the_secretariat(tg, database, amani, reporter,
                                                    registered_group):
    await make_report(tg, database, reporter, registered_group, texts=("Beaten at the gate",),
                      media=("photo", "voice"))
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/reports")
    listing = tg.last_text(chat)
    assert "#1" in listing and "Conduct of public security forces" in listing
    assert "Received" in listing and "English" in listing and "acknowledge by" in listing
    assert "Beaten" not in listing
    await press_last(tg, amani, chat, "#1")
    texts = "\n".join(tg.texts(chat))
    assert "Beaten at the gate" in texts and "Near the mine gate" in texts
    assert media_sent(tg) == [("sendPhoto", "PHOTO-1"), ("sendVoice", "VOICE-2")]
    assert not tg.api.sent("forwardMessage") and not tg.api.sent("copyMessage")
    assert [b["text"] for b in tg.last_bot_message(chat).buttons()] == [
        "Acknowledge", "Set status", "Add an internal note", "Reply to the reporter",
        "Put on an agenda", "Outcome for the reporter"]


async def test_actions_are_recorded_with_who_did_them(tg, database, amani, reporter,
                                                      registered_group):
    receipt = await make_report(tg, database, reporter, registered_group)
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/case 1")
    await press_last(tg, amani, chat, "Acknowledge")
    await press_last(tg, amani, chat, "Set status")
    await press_last(tg, amani, chat, "Under review")
    await press_last(tg, amani, chat, "Add an internal note")
    await tg.send(amani, chat, "Informed the company focal point")
    assert tg.last_text(chat) == "Note saved in the history of case #1."
    await tg.send(amani, chat, "/case 1")
    await press_last(tg, amani, chat, "Reply to the reporter")
    await tg.send(amani, chat, "We have met the commander. Are you safe?")
    await press_last(tg, amani, chat, "Send")
    assert tg.last_text(chat).startswith("Reply saved.")
    case = await _case(database)
    assert case.status == "under_review" and case.acknowledged_on is not None
    await tg.send(amani, chat, "/case 1")
    history = "\n".join(tg.texts(chat)[-1:])
    assert "Amani: status Acknowledged" in history and "Amani: status Under review" in history
    assert "Amani, internal note:" in history and "Amani, reply to the reporter:" in history
    async with database.session() as s:
        events = (await s.exec(select(ReportEvent).order_by(ReportEvent.id))).all()
    assert [e.kind for e in events] == ["submitted", "acknowledged", "status", "note", "reply"]
    assert all(e.actor_id is not None for e in events[1:])
    # the reporter reads the reply, never the internal note
    await tg.send(reporter, reporter.id, f"/status {receipt}")
    card = tg.last_text(reporter.id)
    assert "We have met the commander. Are you safe?" in card
    assert "company focal point" not in card and "Amani" not in card


async def test_only_the_groups_secretariat_sees_its_cases(tg, database, amani, bahati, carlos,
                                                          reporter, registered_group):
    other = tg.group_chat(-1007777, "Ituri WG", creator=carlos)
    await tg.send(carlos, other, "/setup Ituri")
    await tg.send(bahati, registered_group, "/join")
    await make_report(tg, database, reporter, registered_group, texts=("Secret detail",))
    for user, expected in ((bahati, "Only the secretariat"), (carlos, "No open concern")):
        chat = tg.private_chat(user)
        await tg.send(user, chat, "/reports")
        assert tg.last_text(chat).startswith(expected)
        await tg.send(user, chat, "/case 1")
        assert tg.last_text(chat) == "There is no case 1 among the cases of your groups."
        message = tg.last_bot_message(chat)
        for data in ("cs:open:1:", "cs:set:1:closed", "cs:reply:1:"):
            await tg.press_data(user, message, data)
        assert "Secret detail" not in "\n".join(tg.texts(chat))
    assert (await _case(database)).status == "received"
    await tg.send(amani, registered_group, "/case 1")
    assert tg.last_text(registered_group) == "Concern reports are only shown in a private chat " \
        "with me."
    await tg.send(amani, registered_group, "/reports")
    assert "Secret detail" not in "\n".join(tg.texts(registered_group))


async def test_forged_case_callbacks_are_refused(tg, database, amani, reporter,
                                                 registered_group):
    await make_report(tg, database, reporter, registered_group)
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/case 1")
    message = tg.last_bot_message(chat)
    before = len(tg.api.sent("answerCallbackQuery"))
    await tg.press_data(amani, message, "cs:set:1:bogus")
    await tg.press_data(amani, message, "cs:open:abc:")
    await tg.press_data(amani, message, "cs:explode:1:")
    await tg.press_data(amani, message, "cs:open:99:")
    answers = [c.params.get("text") for c in tg.api.sent("answerCallbackQuery")[before:]]
    assert answers == ["Unknown status.", "This button is not valid any more.",
                       "This button is not valid any more.",
                       "There is no case 99 among the cases of your groups."]
    await tg.send(amani, chat, "/case twelve")
    assert tg.last_text(chat).startswith("Send /case followed by the case number")


async def test_digest_every_thirty_minutes_without_content(tg, database, amani, reporter,
                                                           registered_group):
    tg.private_chat(amani)
    await make_report(tg, database, reporter, registered_group, texts=("Goats stolen",))
    await make_report(tg, database, reporter, registered_group, texts=("Fence burnt",))
    now = datetime.now(UTC)
    assert await _deliver(tg, database, now) == 0  # batched: due at the end of the window
    assert await _deliver(tg, database, now + timedelta(minutes=31)) == 1
    notice = tg.last_text(amani.id)
    assert notice.startswith("<b>Concern reports</b> for South Kivu.")
    assert "Waiting for acknowledgement: 2." in notice
    assert "Goats" not in notice and "Fence" not in notice
    assert all(m.chat_id != registered_group or "Concern reports" not in (m.text or "")
               for m in tg.api.chat_messages(registered_group))
    async with database.session() as s:
        assert await purge_delivered(s) == 1
        assert (await s.exec(select(OutboxMessage))).all() == []


async def test_reply_notice_for_a_reporter_who_asked(tg, database, amani, reporter,
                                                     registered_group, settings):
    receipt = await make_report(tg, database, reporter, registered_group)
    await tg.send(reporter, reporter.id, f"/status {receipt}")
    await press_last(tg, reporter, reporter.id, "Tell me when there is an answer")
    await press_last(tg, reporter, reporter.id, "Yes, notify me")
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/case 1")
    await press_last(tg, amani, chat, "Reply to the reporter")
    await tg.send(amani, chat, "Please come to the office on Monday.")
    await press_last(tg, amani, chat, "Send")
    assert "they will get a notice without content" in tg.last_text(chat)
    now = datetime.now(UTC)
    async with database.session() as s:
        assert await notify_replies(s, get_cipher(settings.data_dir), now) == 1
    async with database.session() as s:
        assert await notify_replies(s, get_cipher(settings.data_dir), now) == 0
        rows = (await s.exec(select(OutboxMessage))).all()
    # no chat id in clear at rest, and no time finer than the day in any report notice
    assert rows and all(r.chat_id != reporter.id and str(reporter.id) not in str(r.payload)
                        for r in rows)
    assert all((r.created_at.hour, r.created_at.minute, r.created_at.second,
                r.created_at.microsecond) == (0, 0, 0, 0) for r in rows)
    before = len(tg.texts(reporter.id))
    assert await _deliver(tg, database, now + timedelta(minutes=31)) >= 1
    notices = tg.texts(reporter.id)[before:]
    assert notices == ["There is a new answer to a report. Send /status with your receipt code "
                       "to read it."]
    async with database.session() as s:
        await purge_delivered(s)
        rows = (await s.exec(select(OutboxMessage))).all()
    assert all(r.chat_id != reporter.id for r in rows)


async def test_reportstats_counts_suppressed_and_chart(tg, database, amani, bahati, reporter,
                                                       registered_group):
    for _ in range(3):
        await make_report(tg, database, reporter, registered_group, category=1)
    await make_report(tg, database, reporter, registered_group, category=6)
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/reportstats")
    text = "\n".join(tg.texts(chat))
    month = datetime.now(UTC).strftime("%Y-%m")
    # "4 in all, public security 3" would give away the single Environment report
    assert f"<b>{month}</b>: 4 in all" in text
    assert "Conduct of public security forces" not in text and "Environment" not in text
    assert "Received: 4" not in text
    for _ in range(2):
        await make_report(tg, database, bahati, registered_group, category=6)
    await tg.send(amani, chat, "/reportstats")
    text = "\n".join(tg.texts(chat)[-2:])
    assert f"<b>{month}</b>: 6 in all" in text
    assert "Conduct of public security forces: 3" in text and "Environment: 3" in text
    assert "Received: 6" in text
    assert [m for m, _ in media_sent(tg)] == ["sendPhoto", "sendPhoto"]
    photo = [c for c in tg.api.sent("sendPhoto")][0]
    assert photo.params["chat_id"] == chat


async def test_reportstats_is_for_the_secretariat_only(tg, bahati, registered_group):
    await tg.send(bahati, registered_group, "/join")
    chat = tg.private_chat(bahati)
    await tg.send(bahati, chat, "/reportstats")
    assert tg.last_text(chat).startswith("Only the secretariat")


async def test_a_lost_or_wrong_key_is_explained(tg, database, amani, reporter,
                                                registered_group, monkeypatch, settings):
    receipt = await make_report(tg, database, reporter, registered_group)
    (settings.data_dir / "report.key").unlink()  # the key is lost; a new one is made
    clear_cache()
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/case 1")
    assert tg.last_text(chat).startswith("This case cannot be read")
    await tg.send(amani, chat, "/reports")
    assert "#1" in tg.last_text(chat)
    await tg.send(reporter, reporter.id, f"/status {receipt}")
    assert tg.last_text(reporter.id).startswith("I cannot check this code now")
    monkeypatch.setenv("WGBOT_REPORT_KEY", "not a key")
    clear_cache()
    await tg.send(amani, chat, "/case 1")
    assert tg.last_text(chat).startswith("Reports cannot be taken or read right now")
    await tg.send(reporter, reporter.id, "/report")
    assert tg.last_text(reporter.id).startswith("Reports cannot be taken or read right now")
    monkeypatch.setenv("WGBOT_REPORT_KEY", base64.urlsafe_b64encode(b"k" * 32).decode())
    clear_cache()
    await tg.send(amani, chat, "/case 1")
    assert tg.last_text(chat).startswith("This case cannot be read")


async def test_report_settings_in_the_group(tg, amani, bahati, registered_group):
    await tg.send(bahati, registered_group, "/reportsettings retention 90")
    assert tg.last_text(registered_group) == "Only the secretariat can change the report " \
        "settings."
    await tg.send(amani, registered_group, "/reportsettings retention 5")
    assert tg.last_text(registered_group) == "Give a number of days between 30 and 3650."
    await tg.send(amani, registered_group, "/reportsettings retention 90")
    assert "deleted after 90 days" in tg.last_text(registered_group)
    await tg.send(amani, registered_group, "/reportsettings ack x")
    assert tg.last_text(registered_group) == "Give a number of days between 1 and 60."
    await tg.send(amani, registered_group, "/reportsettings colour blue")
    assert tg.last_text(registered_group).startswith("Change with /reportsettings")


async def test_media_the_bot_api_cannot_send_are_reported_not_fatal(tg, database, amani,
                                                                     reporter, registered_group):
    tg.api.unsupported.update({"sendPhoto", "sendVoice"})  # Telegram refuses the media
    await make_report(tg, database, reporter, registered_group, media=("photo",))
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/case 1")
    assert "Attachment 1 could not be sent (Telegram refused it)." in tg.texts(chat)
    assert tg.last_bot_message(chat).buttons()
    await tg.send(amani, chat, "/reportstats")
    assert tg.last_text(chat) == "The chart could not be sent."


async def test_retention_warning_then_deletion(tg, database, amani, reporter,
                                               registered_group):
    from bot.services.reports import apply_retention

    await make_report(tg, database, reporter, registered_group)
    chat = tg.private_chat(amani)
    await tg.send(amani, chat, "/case 1")
    await press_last(tg, amani, chat, "Set status")
    await press_last(tg, amani, chat, "Closed")
    now = datetime.now(UTC)
    async with database.session() as s:
        assert await apply_retention(s, now + timedelta(days=358)) == (1, 0)
    await _deliver(tg, database, now + timedelta(days=358))
    warning = tg.last_text(chat)
    assert warning.startswith("<b>Closed concern reports of South Kivu will be deleted</b>")
    assert "Case #1: on" in warning
    async with database.session() as s:
        assert await apply_retention(s, now + timedelta(days=365)) == (0, 1)
    await tg.send(amani, chat, "/case 1")
    assert tg.last_text(chat) == "There is no case 1 among the cases of your groups."


async def test_daily_reminder_of_unacknowledged_cases(tg, database, amani, reporter,
                                                      registered_group, settings):
    from bot.services.reports import remind_overdue

    await make_report(tg, database, reporter, registered_group)
    chat = tg.private_chat(amani)
    later = datetime.now(UTC) + timedelta(days=8)
    async with database.session() as s:
        assert await remind_overdue(s, get_cipher(settings.data_dir), later) == 1
    await _deliver(tg, database, later)
    texts = tg.texts(chat)
    assert any(t.startswith("<b>Reminder</b>: 1 concern reports of South Kivu are past") for t
               in texts)
    await tg.send(amani, chat, "/reports")
    assert "acknowledge by" in tg.last_text(chat)

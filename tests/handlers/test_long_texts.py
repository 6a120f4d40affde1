"""Long texts through the real Dispatcher: every message that can grow past Telegram's 4,096
characters arrives in parts that are each valid Telegram HTML under the limit (checked apart
from the bot's own parser), and nothing is left out. The local Bot API refuses what Telegram
would refuse (HTML it cannot parse, a text over the limit once parsed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.delivery.sender import Sender
from bot.delivery.worker import Delivery
from bot.local_api import LocalUser
from bot.services import actions, agenda
from tests.report_helpers import make_report, press_last
from tests.telegram_html import visible

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)  # 10:00 in Lubumbashi
MEETING_START = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
DEADLINE = MEETING_START - timedelta(hours=48)
# Characters Telegram HTML must escape, and one outside the Basic Multilingual Plane (two UTF-16
# code units), so that raw length, parsed length and UTF-16 length all differ.
MARKUP = "<b>&amp; <x> \U0001F534 "


def _long(label: str, size: int, every: int = 7) -> str:
    words = []
    n = 0
    while len(" ".join(words)) < size:
        words.append(f"{label}{n}{MARKUP if n % every == 0 else ''}")
        n += 1
    return " ".join(words)[:size].rstrip()


def _words(text: str) -> list[str]:
    return text.split()


def _all_arrive(text: str, shown: str) -> None:
    """Every word of `text` is in what was shown, in order (parts join on a line break or a
    space, so compare word by word)."""
    words = _words(shown)
    position = 0
    for word in _words(text):
        while position < len(words) and word not in words[position]:
            position += 1
        assert position < len(words), f"{word!r} did not arrive"
        position += 1


def _new_texts(tg, chat_id: int, before: int) -> list[str]:
    return tg.texts(chat_id)[before:]


async def _deliver(tg, database, now):
    return await Delivery(database, Sender(tg.bot, database, rate_limits=False)).run(now)


@pytest.mark.usefixtures("fresh_report_keys")
async def test_case_with_a_long_report_and_notes(tg, database, amani, reporter, registered_group):
    report = _long("report", 3400, every=1)  # over 4,096 characters once escaped
    await make_report(tg, database, reporter, registered_group, texts=(report,))
    chat = tg.private_chat(amani)
    note = _long("note", 2500)
    for _ in range(2):
        await tg.send(amani, chat, "/case 1")
        await press_last(tg, amani, chat, "Add an internal note")
        await tg.send(amani, chat, note)
        assert tg.last_text(chat) == "Note saved in the history of case #1."
    before = len(tg.texts(chat))
    await tg.send(amani, chat, "/case 1")
    parts = _new_texts(tg, chat, before)
    assert len(parts) >= 3
    shown = visible(parts)
    _all_arrive(report, shown)
    _all_arrive(note + " " + note, shown)
    assert tg.last_bot_message(chat).buttons()  # the case's buttons on the last part


@pytest.mark.usefixtures("fresh_report_keys")
async def test_status_with_a_reply_of_many_angle_brackets(tg, database, amani, reporter,
                                                          registered_group):
    receipt = await make_report(tg, database, reporter, registered_group,
                                texts=(_long("report", 3400),))
    chat = tg.private_chat(amani)
    for _ in range(2):
        await tg.send(amani, chat, "/case 1")
        await press_last(tg, amani, chat, "Reply to the reporter")
        await tg.send(amani, chat, "<" * 2990)
        await press_last(tg, amani, chat, "Send")
        assert tg.last_text(chat).startswith("Reply saved.")
    before = len(tg.texts(reporter.id))
    await tg.send(reporter, reporter.id, f"/status {receipt}")
    parts = _new_texts(tg, reporter.id, before)
    assert len(parts) >= 2
    shown = visible(parts)
    assert shown.count("<") >= 2 * 2990
    assert "Add information" in [b["text"] for b in tg.last_bot_message(reporter.id).buttons()]


async def test_members_of_a_large_group(tg, amani, registered_group):
    names = []
    for n in range(120):
        user = LocalUser(id=20_000 + n, first_name=f"Member{n} <&> Mwamba-Kabila-Tshisekedi",
                         language_code="en")
        names.append(f"Member{n} <&>")
        await tg.send(user, registered_group, "/join")
    before = len(tg.texts(registered_group))
    await tg.send(amani, registered_group, "/members")
    parts = _new_texts(tg, registered_group, before)
    assert len(parts) >= 2
    shown = visible(parts)
    assert all(f"{name} Mwamba" in shown for name in names)


async def test_calendar_page_with_long_titles_and_places(tg, clock, amani, registered_group):
    clock.now = NOW
    titles = []
    for day in range(1, 11):
        title = f"Meeting{day} " + _long("title", 190)
        titles.append(title)
        await tg.send(amani, registered_group,
                      f"/schedule 2026-12-{day:02d} 10:00 | {title} | " + _long("place", 190))
    before = len(tg.texts(registered_group))
    await tg.send(amani, registered_group, "/calendar")
    parts = _new_texts(tg, registered_group, before)
    shown = visible(parts)
    shown_meetings = [t for t in titles if t.split()[0] in shown.split()]
    assert len(shown_meetings) >= 5
    for title in shown_meetings:
        _all_arrive(title, shown)


@pytest.fixture
def clock_start() -> datetime:
    return NOW


async def test_published_agenda_sends_every_part_and_pins_the_first(
        tg, database, clock, amani, bahati, registered_group):
    await tg.send(amani, registered_group, "/schedule 2026-12-03 10:00 | Monthly meeting | Hall")
    await tg.send(bahati, registered_group, "/join")
    tg.private_chat(amani)
    proposals = [f"Topic{n} " + _long("point", 380) for n in range(14)]
    for text in proposals:
        await tg.send(bahati, registered_group, f"/propose {text}")
    await _deliver(tg, database, NOW)
    for message in [m for m in tg.api.chat_messages(tg.private_chat(amani))
                    if m.from_bot and any(b["text"] == "✅ Accept" for b in m.buttons())]:
        await tg.press(amani, message, "✅ Accept")
    clock.now = DEADLINE
    assert await agenda.schedule_publications(database, clock.now) == 1
    before = [m.message_id for m in tg.api.chat_messages(registered_group)]
    await _deliver(tg, database, clock.now)
    sent = [m for m in tg.api.chat_messages(registered_group)
            if m.from_bot and m.message_id not in before]
    assert len(sent) >= 2
    assert sent[0].text.startswith("<b>📋 Agenda</b>")
    assert sent[0].pinned and not any(m.pinned for m in sent[1:])
    shown = visible([m.text for m in sent])
    for text in proposals:
        _all_arrive(text, shown)
    # /agenda shows them all too
    before_agenda = len(tg.texts(registered_group))
    await tg.send(bahati, registered_group, "/agenda")
    shown = visible(_new_texts(tg, registered_group, before_agenda))
    for text in proposals:
        _all_arrive(text, shown)


async def test_actions_and_overdue_digest_with_many_long_items(tg, database, clock, amani,
                                                               bahati, registered_group):
    await tg.send(amani, registered_group, "/schedule 2026-11-19 10:00 | Monthly meeting")
    await tg.send(bahati, registered_group, "/join")
    tg.private_chat(amani)
    clock.now = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    items = [f"Task{n} " + _long("do", 380) for n in range(14)]
    for text in items:
        await tg.send(amani, registered_group, f"/action @bahati 2026-11-23 {text}")
        assert "#" in tg.last_text(registered_group)
    before = len(tg.texts(registered_group))
    await tg.send(amani, registered_group, "/actions")
    shown = visible(_new_texts(tg, registered_group, before))
    for text in items:
        _all_arrive(text, shown)
    monday = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    assert await actions.queue_digests(database, monday) == 1
    chat = tg.private_chat(amani)
    before = len(tg.texts(chat))
    await _deliver(tg, database, monday)
    parts = _new_texts(tg, chat, before)
    assert len(parts) >= 2 and "Overdue action items of South Kivu" in parts[0]
    shown = visible(parts)
    for text in items:
        _all_arrive(text, shown)

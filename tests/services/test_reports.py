"""Unit tests of the concern report service and its cryptography (no Telegram)."""

from __future__ import annotations

import os
import stat
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from bot.rate_limits import MemoryCounters
from bot.services.groups import SetupRequest, register_group
from bot.services.people import TelegramIdentity, touch_person
from bot.services.report_crypto import (
    ReportCipher,
    ReportKeyError,
    ReportKeySettings,
    ReportUnreadable,
    format_receipt,
    load_master_key,
    new_receipt,
    parse_receipt,
)
from bot.services.reports import (
    Draft,
    ReportError,
    acknowledge,
    add_note,
    add_part,
    apply_retention,
    case_by_receipt,
    monthly_stats,
    read_content,
    remind_overdue,
    set_status,
    submit,
    suppressed,
    take_report_quota,
    update_settings,
    window_start,
)
from storage.models import OutboxMessage
from storage.report_tables import ReportCase

NOW = datetime(2026, 11, 20, 9, 40, tzinfo=UTC)
CIPHER = ReportCipher(b"m" * 32)


def test_encryption_is_authenticated_and_bound_to_its_key():
    blob = CIPHER.encrypt({"text": "Les soldats"}, "content")
    assert b"soldats" not in blob
    assert CIPHER.decrypt(blob, "content") == {"text": "Les soldats"}
    with pytest.raises(ReportUnreadable) as wrong:
        ReportCipher(b"x" * 32).decrypt(blob, "content")
    assert wrong.value.wrong_key
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(ReportUnreadable) as damaged:
        CIPHER.decrypt(tampered, "content")
    assert not damaged.value.wrong_key
    with pytest.raises(ReportUnreadable):
        CIPHER.decrypt(blob, "event")  # the purpose is authenticated too


def test_receipts_and_counter_hashes():
    receipt = new_receipt()
    assert len(receipt) == 16 and receipt.isdigit()
    assert format_receipt("1234567812345678") == "1234 5678 1234 5678"
    assert parse_receipt("1234-5678 1234 5678") == "1234567812345678"
    assert parse_receipt("1234") is None
    assert parse_receipt("１２３４５６７８１２３４５６７８") is None
    assert CIPHER.receipt_hash(receipt) == CIPHER.receipt_hash(receipt)
    assert CIPHER.receipt_hash(receipt) != ReportCipher(b"x" * 32).receipt_hash(receipt)


def test_key_file_is_created_with_mode_0600_and_reused(tmp_path):
    settings = ReportKeySettings(WGBOT_DATA_DIR=tmp_path / "data", _env_file=None)
    key = load_master_key(settings)
    path = tmp_path / "data" / "report.key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_master_key(settings) == key
    path.write_text("garbage")
    with pytest.raises(ReportKeyError, match="not valid|must hold"):
        load_master_key(settings)
    with pytest.raises(ReportKeyError, match="WGBOT_REPORT_KEY"):
        load_master_key(ReportKeySettings(WGBOT_REPORT_KEY="c2hvcnQ=", _env_file=None))
    other = ReportKeySettings(WGBOT_REPORT_KEY_FILE=tmp_path / "elsewhere.key", _env_file=None)
    assert load_master_key(other) != key


def test_parts_and_suppression():
    parts = add_part([], "text", "  hello ")
    assert parts == [{"kind": "text", "value": "hello"}]
    with pytest.raises(ReportError, match="part_kind"):
        add_part(parts, "document", "x")
    with pytest.raises(ReportError, match="text_long"):
        add_part(parts, "text", "x" * 4000)
    many = [{"kind": "text", "value": "a"}] * 20
    with pytest.raises(ReportError, match="parts_many"):
        add_part(many, "text", "b")
    assert [suppressed(n) for n in (0, 1, 2, 3, 10)] == [None, "<3", "<3", "3", "10"]
    assert window_start(NOW) == datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


async def _setup(session):
    secretary = await touch_person(session, TelegramIdentity(1001, "Amani", "amani"))
    group = await register_group(session, -100, SetupRequest("South Kivu", None),
                                 default_timezone="UTC", default_language="en",
                                 secretariat=[secretary])
    return group, secretary


def _draft(group_id: int, **changes) -> Draft:
    values = dict(language="sw", group_id=group_id, category="land", urgent=False,
                  where="Kamituga", when="jana", parts=[{"kind": "text", "value": "ardhi"}])
    values.update(changes)
    return Draft(**values)


async def test_submit_and_find_by_receipt(session):
    COUNTERS = MemoryCounters()  # noqa: N806
    group, _secretary = await _setup(session)
    case = await submit(session, CIPHER, _draft(group.id), NOW, "1111222233334444")
    assert case.submitted_on == date(2026, 11, 20) and case.ack_due_on == date(2026, 11, 27)
    assert await case_by_receipt(session, CIPHER, COUNTERS, "1111222233334444", 777, NOW) == case
    with pytest.raises(ReportError, match="wrong_code"):
        await case_by_receipt(session, CIPHER, COUNTERS, "1111222233334445", 777, NOW)
    for _ in range(4):
        with pytest.raises(ReportError):
            await case_by_receipt(session, CIPHER, COUNTERS, "0000000000000000", 777, NOW)
    with pytest.raises(ReportError, match="too_many_codes"):
        await case_by_receipt(session, CIPHER, COUNTERS, "1111222233334444", 777, NOW)
    # an hour later the user may try again; another user was never limited
    later = NOW + timedelta(hours=1)
    assert await case_by_receipt(session, CIPHER, COUNTERS, "1111222233334444", 777, later) == case
    assert await case_by_receipt(session, CIPHER, COUNTERS, "1111222233334444", 778, NOW) == case
    with pytest.raises(ReportError, match="key_changed"):
        await case_by_receipt(session, ReportCipher(b"z" * 32), COUNTERS, "1111222233334444",
                              779, NOW)
    with pytest.raises(ReportError, match="incomplete"):
        await submit(session, CIPHER, _draft(group.id, parts=[]), NOW, "5")
    for _ in range(5):
        await take_report_quota(COUNTERS, 777, NOW)
    with pytest.raises(ReportError, match="too_many_reports"):
        await take_report_quota(COUNTERS, 777, NOW)
    await take_report_quota(COUNTERS, 777, NOW + timedelta(days=1))


async def test_status_changes_and_history(session):
    group, secretary = await _setup(session)
    case = await submit(session, CIPHER, _draft(group.id), NOW, "1111222233334444")
    await acknowledge(session, case, secretary, NOW)
    with pytest.raises(ReportError, match="already_acknowledged"):
        await acknowledge(session, case, secretary, NOW)
    with pytest.raises(ReportError, match="same_status"):
        await set_status(session, case, "acknowledged", secretary, NOW)
    with pytest.raises(ReportError, match="status"):
        await set_status(session, case, "lost", secretary, NOW)
    with pytest.raises(ReportError, match="note_long"):
        await add_note(session, CIPHER, case, secretary, "x" * 3001, NOW)
    await set_status(session, case, "closed", secretary, NOW)
    assert case.closed_on == date(2026, 11, 20)
    await set_status(session, case, "referred", secretary, NOW)
    assert case.closed_on is None


async def test_reminders_of_overdue_cases_once_a_day(session):
    group, _secretary = await _setup(session)
    await submit(session, CIPHER, _draft(group.id), NOW, "1111222233334444")
    assert await remind_overdue(session, CIPHER, NOW + timedelta(days=7)) == 0  # not yet due
    eight = NOW + timedelta(days=8)
    assert await remind_overdue(session, CIPHER, eight) == 1
    assert await remind_overdue(session, CIPHER, eight + timedelta(hours=3)) == 0
    assert await remind_overdue(session, CIPHER, eight + timedelta(days=1)) == 1
    rows = (await session.exec(select(OutboxMessage).where(
        OutboxMessage.kind == "reports-reminder"))).all()
    assert len(rows) == 2 and all(r.chat_id == 1001 for r in rows)


async def test_retention_warns_a_week_before_then_deletes(session):
    group, secretary = await _setup(session)
    await update_settings(session, group, retention_days=30)
    case = await submit(session, CIPHER, _draft(group.id), NOW, "1111222233334444")
    await set_status(session, case, "closed", secretary, NOW)
    assert await apply_retention(session, NOW + timedelta(days=22)) == (0, 0)
    assert await apply_retention(session, NOW + timedelta(days=23)) == (1, 0)
    assert await apply_retention(session, NOW + timedelta(days=24)) == (0, 0)
    assert await apply_retention(session, NOW + timedelta(days=30)) == (0, 1)
    assert (await session.exec(select(ReportCase))).all() == []


async def test_monthly_statistics(session):
    group, _secretary = await _setup(session)
    for n, day in enumerate((NOW, NOW, NOW - timedelta(days=40))):
        await submit(session, CIPHER, _draft(group.id), day, f"{n:016d}")
    stats = await monthly_stats(session, group.id, NOW.date())
    assert stats.months == ["2026-10", "2026-11"]
    assert stats.by_category["2026-11"]["land"] == 2
    assert stats.by_status["2026-10"]["received"] == 1


async def test_register_jobs_runs_reminders_retention_and_purges(database, tmp_path):
    from bot.delivery.scheduler import Ticker
    from bot.services.report_crypto import clear_cache, get_cipher
    from bot.services.reports import register_jobs

    clear_cache()
    cipher = get_cipher(tmp_path)
    async with database.session() as session:
        group, _secretary = await _setup(session)
        await submit(session, cipher, _draft(group.id), NOW, "1111222233334444")
    later = NOW + timedelta(days=9)
    ticker = Ticker(30, clock=lambda: later)
    register_jobs(ticker, database, tmp_path)
    assert [job[0] for job in ticker.jobs] == ["reports", "reports-purge"]
    await ticker.tick()
    async with database.session() as session:
        rows = (await session.exec(select(OutboxMessage))).all()
        kinds = sorted(r.kind for r in rows)
    assert kinds == ["reports-digest", "reports-reminder"]
    clear_cache()


async def test_retention_of_a_case_whose_group_was_not_chosen(session):
    from bot.services.reports import closing_soon

    group, secretary = await _setup(session)
    other = await register_group(session, -200, SetupRequest("Ituri", None),
                                 default_timezone="UTC", default_language="en",
                                 secretariat=[secretary])
    await update_settings(session, other, retention_days=60)
    with pytest.raises(ReportError, match="incomplete"):  # every new report has one group
        await submit(session, CIPHER, _draft(None, candidates=[group.id, other.id]), NOW, "1")
    case = await submit(session, CIPHER, _draft(group.id), NOW, "1111222233334444")
    assert set(read_content(CIPHER, case)) == {"where", "when", "parts"}  # no other groups
    # a case filed before, with its reporter's groups, is still kept and deleted in time
    case.group_id = None
    case.content = CIPHER.encrypt({"where": "x", "when": "y", "parts": [],
                                   "candidates": [group.id, other.id]}, "content")
    session.add(case)
    await set_status(session, case, "closed", secretary, NOW)
    warn_at = NOW + timedelta(days=53)
    assert await closing_soon(session, CIPHER, group.id, warn_at.date()) == [
        (case, date(2027, 1, 19))]
    assert await apply_retention(session, warn_at, CIPHER) == (2, 0)  # both groups warned
    assert await apply_retention(session, NOW + timedelta(days=60), CIPHER) == (0, 1)


def test_published_statistics_give_no_count_below_three_away():
    from collections import Counter as C  # noqa: N817

    from bot.services.reports import MonthlyStats, publish_month

    def month(categories: dict, statuses: dict):
        return publish_month(MonthlyStats(["2026-11"], {"2026-11": C(categories)},
                                          {"2026-11": C(statuses)}), "2026-11")

    leaky = month({"land": 3, "harassment": 1}, {"received": 4})
    assert leaky.total == "4" and leaky.by_category == {} and leaky.by_status == {}
    small = month({"land": 2}, {"received": 2})
    assert small.total == "<3" and small.by_category == {}
    safe = month({"land": 3, "harassment": 1, "other": 2}, {"received": 3, "closed": 3})
    assert safe.by_category == {"land": 3} and safe.by_status == {"received": 3, "closed": 3}
    by_status = month({"land": 5}, {"received": 4, "closed": 1})
    assert by_status.by_category == {} and by_status.by_status == {}
    for shown in (leaky, small, safe, by_status):  # what is left out is 0 or at least 3
        total = int(shown.total) if shown.total.isdigit() else None
        for cells in (shown.by_category, shown.by_status):
            if total is not None and cells:
                assert total - sum(cells.values()) == 0 or total - sum(cells.values()) >= 3

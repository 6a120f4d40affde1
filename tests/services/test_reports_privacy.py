"""The privacy test of concern reports: after a whole report and its follow-up, no table and no
log line names the reporter, and the database file does not hold the description in clear."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from bot.delivery.scheduler import Ticker
from bot.delivery.sender import Sender
from bot.delivery.worker import Delivery
from bot.local_api import LocalUser
from bot.logs import configure_logging
from bot.services.report_crypto import clear_cache
from bot.services.reports import register_jobs
from tests.report_helpers import make_report, press_last, send_media

DESCRIPTION = "The commander of the checkpoint took my brother's motorbike at gunpoint"


@pytest.fixture(autouse=True)
def _fresh_keys():
    clear_cache()
    yield
    clear_cache()


async def _dump(database) -> str:
    """Every row of every table, as text."""
    async with database.engine.connect() as conn:
        names = await conn.run_sync(lambda c: inspect(c).get_table_names())
        chunks = []
        for name in names:
            rows = (await conn.execute(text(f'SELECT * FROM "{name}"'))).all()
            chunks.append(f"{name}: {rows!r}")
    return "\n".join(chunks)


def _database_bytes(database) -> bytes:
    path = Path(make_url(database.url).database)
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


async def ticker_round(tg, database, settings, now) -> None:
    """What the scheduler does in one tick: the report jobs, then the outbox delivery."""
    ticker = Ticker(30, clock=lambda: now)
    register_jobs(ticker, database, settings.data_dir)
    await ticker.tick()  # enqueues the reply notice
    await Delivery(database, Sender(tg.bot, database, rate_limits=False)).run(now)
    await ticker.tick()  # purges what was delivered


async def test_no_trace_of_the_reporter(tg, database, carlos, caplog, settings):
    configure_logging("DEBUG")
    caplog.set_level(logging.DEBUG)
    group = tg.group_chat(-1009999, "Ituri WG", creator=carlos)
    await tg.send(carlos, group, "/setup Ituri | Africa/Lubumbashi")
    await tg.send(carlos, group, "/report")
    reporter = LocalUser(id=987654321, first_name="Amani", username="reporter_x",
                         language_code="sw")
    receipt = await make_report(tg, database, reporter, group, language="sw",
                                texts=(DESCRIPTION,), media=("photo", "voice"))
    chat = reporter.id
    assert "Nambari yako ya stakabadhi" in tg.last_text(chat)
    await tg.send(reporter, chat, "/status " + receipt)
    assert "Hali: Imepokelewa" in tg.last_text(chat)
    await press_last(tg, reporter, chat, "Ongeza taarifa")
    await tg.send(reporter, chat, "He also threatened my mother")
    await send_media(tg, reporter, chat, "photo", 9)
    await press_last(tg, reporter, chat, "Tayari")
    assert tg.last_text(chat).startswith("Imeongezwa kwenye ripoti yako")
    await tg.send(reporter, chat, "/status " + receipt)
    await press_last(tg, reporter, chat, "Niambie kukiwa na jibu")  # answer notices...
    await press_last(tg, reporter, chat, "Ndiyo, niarifu")  # ...accepting what they cost
    secretariat = tg.private_chat(carlos)
    await tg.send(carlos, secretariat, "/case 1")
    await press_last(tg, carlos, secretariat, "Reply to the reporter")
    await tg.send(carlos, secretariat, "We will meet the commander")
    await press_last(tg, carlos, secretariat, 1)  # Send: nothing goes before it
    now = datetime.now(UTC) + timedelta(minutes=31)
    await ticker_round(tg, database, settings, now)
    assert tg.last_text(chat).startswith("Kuna jibu jipya kwa ripoti")
    await tg.send(reporter, chat, "/status 0000 0000 0000 0000")  # a wrong code, counted
    await tg.send(reporter, chat, "/report")  # a second flow, abandoned
    await press_last(tg, reporter, chat, "Acha")
    await ticker_round(tg, database, settings, now + timedelta(minutes=31))
    await tg.send(carlos, tg.private_chat(carlos), "/reports")
    assert "#1" in tg.last_text(carlos.id)

    dump = await _dump(database)
    assert "report_case" in dump and "report_counter" not in dump  # counters never on disk
    for needle in ("987654321", "reporter_x", "Amani"):
        assert needle not in dump, needle
        assert needle not in caplog.text, needle
    assert "outbox" in dump and "reports-reply" not in dump and "reports-digest" not in dump
    for needle in ("commander", "motorbike", "threatened", "PHOTO-1", "VOICE-2", receipt):
        assert needle not in dump, needle
        assert needle not in caplog.text, needle
    if database.is_sqlite:
        raw = _database_bytes(database)
        assert b"motorbike" not in raw and DESCRIPTION.encode() not in raw
        assert b"reporter_x" not in raw and b"Amani" not in raw

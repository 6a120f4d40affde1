"""Production mode in one process: webhook with its secret, /healthz, /metrics, the locks between
processes, scanning jobs in one replica at a time, graceful stop of the outbox delivery, and
conversation state in Redis with a time limit."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import select

from bot.app import App, build_app, confirm_updates
from bot.config import ConfigError, Settings, load_settings
from bot.delivery import outbox
from bot.delivery.scheduler import Ticker
from bot.delivery.sender import Sender
from bot.delivery.worker import Delivery, Rendered, renderer
from bot.fsm_privacy import SECRET_KEY
from bot.local_api import LocalBotAPI, LocalTelegram, LocalUser
from bot.middleware import UpdateTracker
from bot.web import internal_web_app, webhook_web_app
from storage.database import Database
from storage.locks import AlreadyRunning, InstanceLock, cluster_lock
from storage.models import OutboxMessage, OutboxStatus

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
SECRET = "webhook-secret-for-tests-42"


# -- configuration ------------------------------------------------------------------------------
def test_webhook_needs_a_public_url_and_a_secret(monkeypatch):
    for name in ("WGBOT_WEBHOOK_URL", "WGBOT_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    with pytest.raises(ConfigError, match="WGBOT_WEBHOOK_URL is not set"):
        settings.require_webhook()
    settings = Settings(_env_file=None, WGBOT_WEBHOOK_URL="https://bot.example.org/")
    with pytest.raises(ConfigError, match="WGBOT_WEBHOOK_SECRET is not set"):
        settings.require_webhook()
    settings = Settings(_env_file=None, WGBOT_WEBHOOK_URL="https://bot.example.org/",
                        WGBOT_WEBHOOK_SECRET=SECRET, WGBOT_WEBHOOK_PATH="/tg/hook")
    assert settings.require_webhook() == ("https://bot.example.org/tg/hook", SECRET)


@pytest.mark.parametrize(("name", "value", "message"), [
    ("WGBOT_WEBHOOK_SECRET", "short", "WGBOT_WEBHOOK_SECRET: use 16 to 256"),
    ("WGBOT_WEBHOOK_SECRET", "has spaces in it, which Telegram refuses", "use 16 to 256"),
    ("WGBOT_WEBHOOK_URL", "bot.example.org", "public https://"),
    ("WGBOT_WEBHOOK_PATH", "hook", "must be a URL path"),
    ("WGBOT_HTTP_PORT", "eighty", "WGBOT_HTTP_PORT"),
])
def test_bad_production_settings_are_explained_in_one_line(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        load_settings(_env_file=None)


async def test_replicas_must_share_an_existing_report_key(app, monkeypatch, fresh_report_keys):
    from bot.app import check_shared_report_key
    from bot.services.report_crypto import clear_cache, get_cipher, new_key
    from storage.report_tables import ReportCase

    with pytest.raises(ConfigError, match="replicas must share one report key"):
        await check_shared_report_key(app)
    assert not (app.settings.data_dir / "report.key").exists(), "no key created on the way"
    monkeypatch.setenv("WGBOT_REPORT_KEY", new_key())
    await check_shared_report_key(app)
    old = get_cipher(app.settings.data_dir)
    async with app.database.session() as session:
        session.add(ReportCase(group_id=None, key_id=old.key_id_hex, category="other",
                               language="en", status="new", submitted_on=NOW.date(),
                               ack_due_on=NOW.date(), receipt_hash="h", content=b"x"))
    monkeypatch.setenv("WGBOT_REPORT_KEY", new_key())
    clear_cache()
    with pytest.raises(ConfigError, match=f"sealed with \\(id {old.key_id_hex}\\)"):
        await check_shared_report_key(app)


def test_report_key_command_prints_a_usable_key(capsys, monkeypatch):
    from bot.cli import main
    from bot.services.report_crypto import ReportKeySettings, load_master_key

    assert main(["report-key"]) == 0
    key = capsys.readouterr().out.strip()
    monkeypatch.setenv("WGBOT_REPORT_KEY", key)
    assert len(load_master_key(ReportKeySettings(_env_file=None))) == 32


# -- the HTTP side ------------------------------------------------------------------------------
@pytest.fixture
async def app(database: Database, tmp_path) -> App:
    settings = Settings(_env_file=None, database_url=database.url, WGBOT_DATA_DIR=tmp_path,
                        WGBOT_TICK_SECONDS=30)
    app = await build_app(settings)
    try:
        yield app
    finally:
        await app.close()


@pytest.fixture
async def client(app: App):
    """The public listener: the webhook only."""
    local = LocalTelegram(app.dispatcher)
    web_app = webhook_web_app(app, local.bot, "/telegram/webhook", SECRET)
    async with TestClient(TestServer(web_app)) as client:
        client.local = local
        yield client
    await local.bot.session.close()


@pytest.fixture
async def internal(app: App):
    """The internal listener: /healthz and /metrics."""
    async with TestClient(TestServer(internal_web_app(app))) as client:
        yield client


async def test_health_and_metrics_are_not_on_the_public_listener(client, internal):
    for path in ("/metrics", "/healthz"):
        assert (await client.get(path)).status == 404
    assert (await internal.get("/metrics")).status == 200


def _start_update(user: LocalUser, update_id: int = 1) -> dict:
    return {"update_id": update_id, "message": {
        "message_id": 1, "date": 1_700_000_000, "text": "/start",
        "chat": {"id": user.id, "type": "private", "first_name": user.first_name},
        "from": user.as_dict(),
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}}


async def test_webhook_refuses_requests_without_the_secret(client, amani):
    client.local.private_chat(amani)
    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "not-the-secret-at-all"}):
        response = await client.post("/telegram/webhook", json=_start_update(amani),
                                     headers=headers)
        assert response.status == 401
    assert client.local.api.sent("sendMessage") == []


async def test_webhook_handles_the_update_before_answering(client, amani):
    client.local.private_chat(amani)
    response = await client.post("/telegram/webhook", json=_start_update(amani),
                                 headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert response.status == 200
    replies = client.local.api.sent("sendMessage")
    assert len(replies) == 1 and int(replies[0].params["chat_id"]) == amani.id


async def test_a_redelivered_update_is_handled_once(app, client, amani):
    app.dispatcher["redeliver_on_failure"] = True
    client.local.private_chat(amani)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    for _ in range(2):  # Telegram delivers the same update again
        response = await client.post("/telegram/webhook", json=_start_update(amani, 41),
                                     headers=headers)
        assert response.status == 200
    assert len(client.local.api.sent("sendMessage")) == 1


async def test_an_update_that_could_not_be_stored_is_answered_with_an_error(
    app, client, amani, failing_commits,
):
    """Telegram then delivers it again; once storage is back, it is handled, once."""
    app.dispatcher["redeliver_on_failure"] = True
    client.local.private_chat(amani)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    failing_commits.armed = True
    response = await client.post("/telegram/webhook", json=_start_update(amani, 42),
                                 headers=headers)
    failing_commits.armed = False
    assert response.status >= 500
    [told] = client.local.api.sent("sendMessage")
    assert "nothing was saved" in told.params["text"]
    for _ in range(2):
        response = await client.post("/telegram/webhook", json=_start_update(amani, 42),
                                     headers=headers)
        assert response.status == 200
    replies = client.local.api.sent("sendMessage")
    assert len(replies) == 2 and "nothing was saved" not in replies[1].params["text"]


async def test_healthz_reports_database_and_scheduler(app, internal):
    response = await internal.get("/healthz")
    assert response.status == 503  # the scheduler has not started
    assert (await response.json())["scheduler"] == "stalled"
    app.ticker.start()
    try:
        await app.ticker.tick()
        response = await internal.get("/healthz")
        assert response.status == 200
        assert await response.json() == {"status": "ok", "database": "ok", "scheduler": "ok"}
        app.ticker.clock = lambda: datetime.now(UTC) + timedelta(minutes=10)  # no tick since
        response = await internal.get("/healthz")
        assert response.status == 503 and (await response.json())["scheduler"] == "stalled"
    finally:
        await app.ticker.stop()


async def test_healthz_says_when_the_database_is_unreachable(app, internal):
    app.ticker.start()
    real = app.database
    app.database = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        response = await internal.get("/healthz")
        assert response.status == 503
        assert (await response.json())["database"] == "unreachable"
    finally:
        await app.database.dispose()
        app.database = real
        await app.ticker.stop()


async def test_metrics_count_updates_by_type_and_outbox_depth(app, client, internal, amani):
    client.local.private_chat(amani)
    await client.local.send(amani, amani.id, "/help")
    async with app.database.session() as session:
        await outbox.enqueue(session, key="m:1", kind="reminder", chat_id=amani.id,
                             due_at=datetime.now(UTC) - timedelta(minutes=1))
    await app.ticker.tick()  # the outbox metrics job (no bot attached: nothing is sent)
    response = await internal.get("/metrics")
    assert response.status == 200
    assert response.content_type == "text/plain"
    body = await response.text()
    assert 'wgbot_updates_total{type="message"}' in body
    assert 'wgbot_handler_seconds_count{type="message"}' in body
    assert 'wgbot_outbox_messages{status="pending"} 1.0' in body
    assert "wgbot_outbox_due 1.0" in body
    assert "wgbot_telegram_retry_after_total" in body
    # no sample says when something first happened (an urgent report's first notice, say)
    assert "_created" not in body


async def test_bot_api_calls_are_counted_by_method_and_outcome():
    from prometheus_client import REGISTRY

    from bot.app import make_bot
    from bot.local_api import LOCAL_TOKEN, LocalBotAPIServer

    def count(outcome):
        return REGISTRY.get_sample_value(
            "wgbot_bot_api_calls_total", {"method": "sendMessage", "outcome": outcome}) or 0

    server = LocalBotAPIServer(open_chats=False)
    bot = make_bot(LOCAL_TOKEN, await server.start())
    server.api.chats[1001] = {"id": 1001, "type": "private", "first_name": "A"}
    ok, bad = count("ok"), count("TelegramBadRequest")
    try:
        await bot.send_message(1001, "hello")
        with pytest.raises(Exception, match="chat not found"):
            await bot.send_message(424242, "nobody")
    finally:
        await bot.session.close()
        await server.stop()
    assert count("ok") == ok + 1 and count("TelegramBadRequest") == bad + 1


# -- locks between processes --------------------------------------------------------------------
async def test_instance_lock_is_exclusive_until_released(database):
    first, second = InstanceLock(database, "instance"), InstanceLock(database, "instance")
    await first.acquire()
    other = Database(database.url)  # as another process would open it
    try:
        with pytest.raises(AlreadyRunning, match="already running against this database"):
            await InstanceLock(other, "instance").acquire()
        await first.release()
        await second.acquire()
        await second.release()
    finally:
        await other.dispose()


async def test_app_refuses_a_second_instance_with_a_config_error(app):
    await app.take_instance_lock()
    twin = App(app.settings, Database(app.database.url), app.i18n, app.dispatcher, app.ticker,
               app.tracker)
    try:
        with pytest.raises(ConfigError, match="another wgbot process"):
            await twin.take_instance_lock()
    finally:
        await twin.database.dispose()


@pytest.mark.postgresql
async def test_cluster_lock_lets_one_replica_scan_per_tick(database):
    if database.is_sqlite:
        async with cluster_lock(database, "jobs") as held, cluster_lock(database, "jobs") as again:
            assert held and again  # SQLite is never shared
        return
    async with cluster_lock(database, "jobs") as held:
        async with cluster_lock(database, "jobs") as other:
            assert held is True and other is False
    async with cluster_lock(database, "jobs") as after:
        assert after is True


async def test_ticker_runs_only_every_replica_jobs_without_the_lock():
    ran: list[str] = []

    def job(name):
        async def run(now):
            ran.append(name)
        return run

    @asynccontextmanager
    async def not_leader():
        yield False

    ticker = Ticker(30, clock=lambda: NOW)
    ticker.add("scan", job("scan"))
    ticker.add("outbox", job("outbox"), every_replica=True)
    ticker.exclusive = not_leader
    await ticker.tick()
    assert ran == ["outbox"]
    ticker.exclusive = None
    await ticker.tick()
    assert ran == ["outbox", "scan", "outbox"]


# -- graceful stop ------------------------------------------------------------------------------
@renderer("test-production")
async def render_plain(session, row, now):
    return Rendered(f"message {row.key}")


class GatedAPI(LocalBotAPI):
    """Holds every sendMessage to the chats in `held` until `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.held: set[int] = set()
        self.release = asyncio.Event()
        self.waiting = asyncio.Event()
        self.on_send = None

    async def make_request(self, bot, method, timeout=None):
        chat_id = getattr(method, "chat_id", None)
        if method.__api_method__ == "sendMessage" and chat_id in self.held:
            self.waiting.set()
            await self.release.wait()
        result = await super().make_request(bot, method, timeout)
        if self.on_send is not None:
            self.on_send()
        return result


def _delivery(database, api: LocalBotAPI, **kwargs) -> Delivery:
    local = LocalTelegram(dispatcher=None, api=api)
    for chat in (1001, 1002, 1003):
        api.chats[chat] = {"id": chat, "type": "private", "first_name": "P"}
    return Delivery(database, Sender(local.bot, database, rate_limits=False), **kwargs)


async def _queue(database, keys_and_chats):
    async with database.session() as session:
        for key, chat in keys_and_chats:
            await outbox.enqueue(session, key=key, kind="test-production", chat_id=chat,
                                 due_at=NOW)


async def _rows(database) -> dict[str, OutboxMessage]:
    async with database.session() as session:
        return {r.key: r for r in (await session.exec(select(OutboxMessage))).all()}


async def test_stopping_delivery_gives_back_what_was_not_sent(database):
    await _queue(database, [(f"k{i}", 1001) for i in range(6)])
    api = GatedAPI()
    delivery = _delivery(database, api, concurrency=1)
    sent = 0

    def count():
        nonlocal sent
        sent += 1
        if sent == 2:
            delivery.stop()

    api.on_send = count
    assert await delivery.run(NOW) == 2
    rows = await _rows(database)
    statuses = sorted(r.status for r in rows.values())
    assert statuses == ["pending"] * 4 + ["sent"] * 2
    for row in rows.values():
        if row.status == OutboxStatus.PENDING.value:
            assert row.claimed_by is None and row.attempts == 0
        else:
            assert row.claimed_by == delivery.worker
    # Another replica's next tick takes the rest at once, without waiting for a lease.
    taken = await outbox.claim_due(database, NOW, worker="other", limit=10)
    assert len(taken) == 4


async def test_a_slow_chat_does_not_hold_up_the_others(database):
    await _queue(database, [("slow-1", 1001), ("slow-2", 1001), ("fast", 1002)])
    api = GatedAPI()
    api.held = {1001}
    delivery = _delivery(database, api)
    run = asyncio.create_task(delivery.run(NOW))
    await api.waiting.wait()
    for _ in range(50):  # let the other chat's worker run
        await asyncio.sleep(0)
        if (await _rows(database))["fast"].status == "sent":
            break
    rows = await _rows(database)
    assert rows["fast"].status == "sent"
    assert rows["slow-1"].status == rows["slow-2"].status == "claimed"
    api.release.set()
    assert await run == 3
    texts = [c.params["text"] for c in api.sent("sendMessage") if c.params["chat_id"] == 1001]
    assert texts == ["message slow-1", "message slow-2"], "one chat's messages stay in order"


async def test_claims_are_renewed_while_a_batch_is_out(database):
    await _queue(database, [("held", 1001)])
    api = GatedAPI()
    api.held = {1001}
    ticks: asyncio.Queue = asyncio.Queue()
    sleeping = asyncio.Queue()
    clock_now = [NOW]

    async def sleep(_seconds):  # the renewal loop's pause, ended by the test
        await sleeping.put(None)
        await ticks.get()

    delivery = _delivery(database, api, lease=timedelta(seconds=30),
                         clock=lambda: clock_now[0], sleep=sleep)
    run = asyncio.create_task(delivery.run(NOW))
    await api.waiting.wait()
    await sleeping.get()  # first pause
    clock_now[0] = NOW + timedelta(seconds=25)
    await ticks.put(None)
    await sleeping.get()  # the renewal ran and the loop paused again
    held = (await _rows(database))["held"]
    assert held.claimed_at.replace(tzinfo=UTC) == NOW + timedelta(seconds=25)
    # 40 s after the claim, but 15 s after the renewal: nobody may take it over.
    assert await outbox.claim_due(database, NOW + timedelta(seconds=40), worker="other") == []
    api.release.set()
    assert await run == 1


async def test_update_tracker_waits_for_updates_in_progress():
    tracker = UpdateTracker()
    gate = asyncio.Event()

    async def handler(event, data):
        await gate.wait()

    from aiogram.types import Update

    task = asyncio.create_task(tracker(handler, Update(update_id=41), {}))  # of no known type
    await asyncio.sleep(0)
    assert tracker.in_flight == 1 and tracker.last_update_id == 41
    assert await tracker.wait_idle(0.01) is False
    gate.set()
    await task
    assert await tracker.wait_idle(0.01) is True


async def test_confirming_updates_asks_for_the_next_offset():
    api = LocalBotAPI()
    local = LocalTelegram(dispatcher=None, api=api)
    await confirm_updates(local.bot, None)
    assert api.sent("getUpdates") == []
    await confirm_updates(local.bot, 41)
    (call,) = api.sent("getUpdates")
    assert call.params["offset"] == 42 and call.params["timeout"] == 0


# -- conversation state in Redis ----------------------------------------------------------------
async def test_redis_keeps_conversations_with_a_time_limit(database, tmp_path, redis, redis_url,
                                                          amani, fresh_report_keys):
    settings = Settings(_env_file=None, database_url=database.url, WGBOT_DATA_DIR=tmp_path,
                        WGBOT_REDIS_URL=redis_url, WGBOT_FSM_TTL_SECONDS=3600)
    app = await build_app(settings)
    try:
        local = LocalTelegram(app.dispatcher)
        local.private_chat(amani)
        await local.send(amani, amani.id, "/report")
        keys = [k.decode() for k in await redis.keys("wgbot:*")]
        assert any(k.endswith(":state") for k in keys), keys
        assert not any(str(amani.id) in k for k in keys), keys  # ids are hashed
        for key in keys:
            if key == SECRET_KEY or key.startswith("wgbot:limits-key:"):
                continue  # the conversation secret lives as long as Redis; the day's key 2 days
            ttl = await redis.ttl(key)
            assert 0 < ttl <= 3600, (key, ttl)
        # A second replica (another Dispatcher on the same Redis) continues the same flow.
        twin = await build_app(settings, migrate=False)
        try:
            state = await twin.dispatcher.fsm.get_context(
                local.bot, chat_id=amani.id, user_id=amani.id).get_state()
            assert state is not None and state.startswith("Report")
        finally:
            await twin.close()
        await local.bot.session.close()
    finally:
        await app.close()


async def test_unreachable_redis_is_a_config_error(database, tmp_path):
    settings = Settings(_env_file=None, database_url=database.url, WGBOT_DATA_DIR=tmp_path,
                        WGBOT_REDIS_URL="redis://127.0.0.1:1/0")
    with pytest.raises(ConfigError, match="cannot reach Redis"):
        await build_app(settings)


async def test_update_tracker_bounds_the_updates_handled_at_once():
    from aiogram.types import Update

    tracker = UpdateTracker(limit=2)
    gate = asyncio.Event()
    running = []

    async def handler(event, data):
        running.append(event.update_id)
        await gate.wait()

    tasks = [asyncio.create_task(tracker(handler, Update(update_id=i), {})) for i in range(3)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert running == [0, 1] and tracker.in_flight == 3  # the third waits its turn
    gate.set()
    await asyncio.gather(*tasks)
    assert running == [0, 1, 2]


def test_update_concurrency_follows_the_database_unless_configured():
    assert Settings(_env_file=None).update_concurrency(sqlite=True) == 4
    assert Settings(_env_file=None).update_concurrency(sqlite=False) == 16
    configured = Settings(_env_file=None, WGBOT_MAX_UPDATES_IN_PROGRESS=7)
    assert configured.update_concurrency(sqlite=True) == 7


async def test_claims_late_in_a_long_tick_are_stamped_with_the_current_time(database):
    """A tick claims batch after batch for the same instant; a later batch claimed with that old
    instant would look abandoned to another replica, which would send it a second time."""
    await _queue(database, [("first", 1002), ("second", 1001)])
    api = GatedAPI()
    api.held = {1001}
    clock_now = [NOW]

    def a_minute_passes():
        clock_now[0] = NOW + timedelta(minutes=1)

    api.on_send = a_minute_passes
    delivery = _delivery(database, api, batch=1, concurrency=1, lease=timedelta(seconds=30),
                         clock=lambda: clock_now[0])
    run = asyncio.create_task(delivery.run(NOW))
    await api.waiting.wait()  # "second" is being sent, claimed in the tick's second batch
    other = await outbox.claim_due(database, NOW + timedelta(seconds=75), worker="other",
                                   lease=timedelta(seconds=30))
    assert other == [], "still held by the first worker"
    api.release.set()
    assert await run == 2

"""Fixtures of the end-to-end tests: the emulator, the shim, the users' client, the bot process.

* ``emulator`` (session): ``telegram-test-api`` running under node on a free loopback port.
* ``bot_token`` : a fresh, well-formed token per test (the emulator keeps each bot's messages
  apart by token, so tests never see each other's conversations).
* ``shim`` : the Bot API proxy of ``shim.py``; ``shim.url`` is the bot's ``TELEGRAM_API_URL``.
  It withholds group messages as Telegram does for a bot in privacy mode that is no group
  administrator (the README's setup); a test may set ``shim.privacy_mode = False``.
* ``tg`` : an ``EmulatorClient`` playing the users of this test's bot.
* ``bot_process`` : an async factory starting the bot as a separate process (by default
  ``python -m bot run``) with ``TELEGRAM_BOT_TOKEN``, ``TELEGRAM_API_URL``, ``DATABASE_URL``
  (SQLite in the test's temporary directory) and ``WGBOT_DATA_DIR``; it waits until the bot
  polls for updates and kills it at teardown. On failure the report shows the bot's output and
  the shim's record of API calls. A test that passes while the bot logged a traceback fails at
  teardown unless it started the bot with ``allow_tracebacks=True``.

Every test in this directory is marked ``e2e`` and is skipped, with the reason, when Node.js or
``node_modules/telegram-test-api`` (``npm ci``) is missing.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import string
import sys
from asyncio.subprocess import DEVNULL, STDOUT
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pytest

E2E_DIR = Path(__file__).resolve().parent
if str(E2E_DIR) not in sys.path:  # the helper modules sit next to this file
    sys.path.insert(0, str(E2E_DIR))

from emulator import REPO_ROOT, EmulatorClient, EmulatorServer, missing_requirements  # noqa: E402
from shim import TelegramShim  # noqa: E402

DEFAULT_BOT_COMMAND = (sys.executable, "-m", "bot", "run")
READY_TIMEOUT_S = 60.0  # imports alone take several seconds on a busy 2-core machine
STOP_TIMEOUT_S = 5.0
TOKEN_ALPHABET = string.ascii_letters + string.digits + "_-"
TRACEBACK = "Traceback (most recent call last)"

BOTS = pytest.StashKey[list["BotProcess"]]()
SHIM = pytest.StashKey[TelegramShim]()
CALL_FAILED = pytest.StashKey[bool]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = missing_requirements()
    for item in items:
        if E2E_DIR not in item.path.parents:
            continue
        item.add_marker(pytest.mark.e2e)
        if reason:
            item.add_marker(pytest.mark.skip(reason=f"end-to-end tests need {reason}"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    if report.when == "call":
        item.stash[CALL_FAILED] = report.failed
    if report.failed:
        for bot in item.stash.get(BOTS, []):
            report.sections.append((f"bot process {bot.pid} output", bot.log_tail()))
        shim = item.stash.get(SHIM, None)
        if shim is not None:
            report.sections.append(("Bot API calls seen by the shim", describe_calls(shim)))
    return report


def describe_calls(shim: TelegramShim, last: int = 60) -> str:
    lines = []
    for call in shim.calls[-last:]:
        response = call.response or {}
        outcome = "ok" if response.get("ok") else f"{response.get('description')}"
        params = {k: v for k, v in call.params.items() if k not in ("reply_markup", "entities")}
        lines.append(f"{call.method} {params} -> {outcome}")
    if shim.unsupported:
        lines.append(f"UNSUPPORTED methods: {sorted({c.method for c in shim.unsupported})}")
    lines.append(f"getUpdates calls: {shim.poll_count}")
    return "\n".join(lines)


@dataclass
class BotProcess:
    """A bot started by the ``bot_process`` factory."""

    command: Sequence[str]
    env: Mapping[str, str] = field(repr=False)
    log_path: Path
    data_dir: Path
    database_url: str
    allow_tracebacks: bool
    process: asyncio.subprocess.Process = field(repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, chars: int = 20000) -> str:
        return self.log_text()[-chars:] or "(no output)"

    async def wait_ready(self, shim: TelegramShim, polls_before: int, timeout: float) -> None:
        """Wait until the bot asks for updates (it has started and will see user messages)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while shim.poll_count <= polls_before:
            if self.returncode is not None:
                raise AssertionError(
                    f"the bot exited with code {self.returncode} before polling:\n"
                    f"{self.log_tail(8000)}"
                )
            if asyncio.get_running_loop().time() >= deadline:
                raise AssertionError(
                    f"the bot did not poll for updates within {timeout:.0f}s:\n"
                    f"{self.log_tail(8000)}"
                )
            await asyncio.sleep(0.05)

    async def wait_exit(self, timeout: float) -> int | None:
        """Wait (serving the shim meanwhile) for the process to end; its code or None."""
        try:
            return await asyncio.wait_for(asyncio.shield(self.process.wait()), timeout)
        except TimeoutError:
            return None

    async def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """SIGTERM (a graceful stop), then SIGKILL after ``timeout``; returns the exit code."""
        if self.returncode is None:
            self._signal(signal.SIGTERM)
            if await self.wait_exit(timeout) is None:
                self._signal(signal.SIGKILL)
        return await asyncio.wait_for(self.process.wait(), timeout)

    def _signal(self, signum: int) -> None:
        try:
            os.killpg(self.process.pid, signum)  # the group created for this process only
        except ProcessLookupError:
            pass


class StartBot(Protocol):
    async def __call__(
        self,
        command: Sequence[str] | None = None,
        *,
        env: Mapping[str, str] | None = None,
        wait_ready: bool = True,
        ready_timeout: float = READY_TIMEOUT_S,
        allow_tracebacks: bool = False,
    ) -> BotProcess: ...


def make_token() -> str:
    bot_id = secrets.randbelow(9 * 10**9) + 10**8
    secret = "AA" + "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(33))
    return f"{bot_id}:{secret}"


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    if reason := missing_requirements():
        pytest.skip(f"end-to-end tests need {reason}")
    server = EmulatorServer(tmp_path_factory.mktemp("emulator") / "emulator.log")
    with server:
        yield server


@pytest.fixture
def bot_token() -> str:
    return make_token()


@pytest.fixture
async def shim(request: pytest.FixtureRequest, emulator: EmulatorServer, bot_token: str):
    async with TelegramShim(emulator.url, bot_token=bot_token, privacy_mode=True) as proxy:
        request.node.stash[SHIM] = proxy
        yield proxy


@pytest.fixture
async def tg(emulator: EmulatorServer, bot_token: str) -> AsyncIterator[EmulatorClient]:
    async with EmulatorClient(emulator.url, bot_token) as client:
        yield client


@pytest.fixture
def bot_data_dir(tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    return data_dir


@pytest.fixture
async def bot_process(
    request: pytest.FixtureRequest,
    shim: TelegramShim,
    bot_token: str,
    bot_data_dir: Path,
) -> AsyncIterator[StartBot]:
    started: list[BotProcess] = []
    request.node.stash[BOTS] = started
    database_url = f"sqlite+aiosqlite:///{bot_data_dir / 'wgbot.db'}"

    async def start(
        command: Sequence[str] | None = None,
        *,
        env: Mapping[str, str] | None = None,
        wait_ready: bool = True,
        ready_timeout: float = READY_TIMEOUT_S,
        allow_tracebacks: bool = False,
    ) -> BotProcess:
        argv = list(command or DEFAULT_BOT_COMMAND)
        full_env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("TELEGRAM_", "WGBOT_")) and key != "DATABASE_URL"
        }
        full_env.update(
            PYTHONUNBUFFERED="1",
            TELEGRAM_BOT_TOKEN=bot_token,
            TELEGRAM_API_URL=shim.url,
            DATABASE_URL=database_url,
            WGBOT_DATA_DIR=str(bot_data_dir),
        )
        full_env.update(env or {})
        log_path = bot_data_dir.parent / f"bot-{len(started) + 1}.log"
        polls_before = shim.poll_count
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                *argv,
                cwd=REPO_ROOT,
                env=full_env,
                stdin=DEVNULL,
                stdout=log,
                stderr=STDOUT,
                start_new_session=True,
            )
        bot = BotProcess(
            argv,
            full_env,
            log_path,
            bot_data_dir,
            database_url,
            allow_tracebacks,
            process,
        )
        started.append(bot)
        if wait_ready:
            await bot.wait_ready(shim, polls_before, ready_timeout)
        return bot

    yield start

    for bot in reversed(started):
        await bot.stop()
    if request.node.stash.get(CALL_FAILED, True):
        return
    for bot in started:
        if not bot.allow_tracebacks and TRACEBACK in bot.log_text():
            pytest.fail(
                f"the bot logged a traceback (pid {bot.pid}):\n{bot.log_tail(8000)}", pytrace=False
            )

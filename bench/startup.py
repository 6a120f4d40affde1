"""Start-up and idle memory of `wgbot run` beside a bare aiogram polling bot, in the same run.

Run from the repository: `.venv/bin/python bench/startup.py [--rounds 3] [--idle 3]`.

Each round spawns, one after the other, a bare aiogram bot (a Dispatcher with one echo handler,
`start_polling`) and `wgbot run` on a SQLite database already migrated (the first, unmeasured
start migrates it), both against a local Bot API server (`bot.local_api.LocalBotAPIServer`).
It prints the time from spawn to the first getUpdates (median of the rounds) and the resident
memory at that moment and after `--idle` seconds of idling, and for `wgbot console` (given
"/start" on its input, same database) the time to the first line of its reply and the memory
then. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402

from bot.local_api import LOCAL_TOKEN, LocalBotAPIServer  # noqa: E402

BARE = """
import asyncio, os
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message

router = Router()

@router.message()
async def echo(message: Message) -> None:
    await message.answer(message.text or "")

async def main() -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"]))
    bot = Bot(os.environ["TELEGRAM_BOT_TOKEN"], session=session)
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    await dispatcher.start_polling(bot)

asyncio.run(main())
"""


def mb(value: int) -> float:
    return value / 1024 / 1024


async def spawn(argv: list[str], env: dict[str, str], cwd: Path, idle: float
                ) -> dict[str, float]:
    server = LocalBotAPIServer()
    api_url = await server.start()
    env = dict(env, TELEGRAM_BOT_TOKEN=LOCAL_TOKEN, TELEGRAM_API_URL=api_url)
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *argv, env=env, cwd=str(cwd), stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE)
    try:
        watcher = psutil.Process(process.pid)
        waiter = asyncio.ensure_future(server.first_poll.wait())
        exited = asyncio.ensure_future(process.wait())
        await asyncio.wait({waiter, exited}, timeout=300, return_when=asyncio.FIRST_COMPLETED)
        if not server.first_poll.is_set():
            error = (await process.stderr.read()).decode(errors="replace")[-2000:] \
                if exited.done() else "timeout"
            raise RuntimeError(f"{argv[-1]} did not poll: {error}")
        figures = {"startup": server.first_poll_at - started,
                   "rss_poll": mb(watcher.memory_info().rss)}
        await asyncio.sleep(idle)
        figures["rss_idle"] = mb(watcher.memory_info().rss)
        return figures
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()
        await server.stop()


async def spawn_console(wgbot: str, env: dict[str, str], cwd: Path) -> dict[str, float]:
    """`wgbot console` with "/start" on its input: time to the first line of the bot's reply."""
    env = dict(env, PYTHONUNBUFFERED="1")
    env.pop("TELEGRAM_BOT_TOKEN", None)
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        wgbot, "console", env=env, cwd=str(cwd), stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    try:
        watcher = psutil.Process(process.pid)
        process.stdin.write(b"/start\n")
        await process.stdin.drain()
        while True:
            line = await asyncio.wait_for(process.stdout.readline(), 300)
            if not line:
                raise RuntimeError("wgbot console ended without replying")
            if line.startswith(b"[bot -> "):
                break
        return {"startup": time.monotonic() - started,
                "rss_poll": mb(watcher.memory_info().rss)}
    finally:
        if process.returncode is None:
            process.stdin.close()
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


async def main_async(args) -> None:
    python = str(ROOT / ".venv" / "bin" / "python")
    wgbot = str(ROOT / ".venv" / "bin" / "wgbot")
    results: dict[str, list[dict[str, float]]] = {"bare aiogram": [], "wgbot run": [],
                                                  "wgbot console": []}
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        env = dict(os.environ, DATABASE_URL=f"sqlite+aiosqlite:///{data}/wgbot.db",
                   WGBOT_DATA_DIR=str(data), WGBOT_LOG_LEVEL="WARNING",
                   WGBOT_REPORT_KEY=base64.urlsafe_b64encode(os.urandom(32)).decode())
        env.pop("WGBOT_HTTP_PORT", None)
        script = data / "bare.py"
        script.write_text(BARE, encoding="utf-8")
        await spawn([wgbot, "run"], env, data, 0)  # migrates the database: not measured
        for _ in range(args.rounds):
            results["bare aiogram"].append(await spawn([python, str(script)], env, data,
                                                       args.idle))
            results["wgbot run"].append(await spawn([wgbot, "run"], env, data, args.idle))
            results["wgbot console"].append(await spawn_console(wgbot, env, data))
    print(f"{'':<16}{'first poll s':>14}{'RSS at poll MB':>16}{'RSS idle MB':>14}"
          f"   (median of {args.rounds}; console: to its first reply)")
    for name, runs in results.items():
        idle = [r["rss_idle"] for r in runs if "rss_idle" in r]
        print(f"{name:<16}"
              f"{statistics.median(r['startup'] for r in runs):>14.2f}"
              f"{statistics.median(r['rss_poll'] for r in runs):>16.1f}"
              + (f"{statistics.median(idle):>14.1f}" if idle else f"{'-':>14}"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--idle", type=float, default=3.0)
    args = parser.parse_args(argv)
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()

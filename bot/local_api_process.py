"""The local Bot API (bot/local_api.py, bot/local_api_limits.py) served from a process of its own,
for real bot processes (`wgbot run`) to call over HTTP in the replica tests and benchmarks.

A fake served from the process that also runs a test or a load generator reads a request late
whenever that process is busy (a test process on a loaded 2-core machine read them up to about
100 ms after a replica sent them), which shifts the times it records and the sliding windows of
`LimitedBotAPI`, and mixes its CPU time with the test's. Here it has an event loop and a CPU
time of its own.

    python -m bot.local_api_process [--limited] [--jitter S] [--host 127.0.0.1] [--port 0]

prints one line of JSON, {"url": ..., "pid": ...}, once it listens, and stops on SIGTERM, on
SIGINT or when its standard input closes (its parent went away). `LocalBotAPIProcess` starts it
and reads what it recorded through control endpoints served beside the Bot API's methods, under
/_local/ (never a Bot API path):

- GET  /_local/calls?method=M&start=N   the calls received, [method, params], from the N-th on
- GET  /_local/count?method=M           how many calls were received
- GET  /_local/limits                   LimitedBotAPI's accepted (time, chat id) and its 429s
- GET  /_local/first_poll               time.monotonic() of the first getUpdates, or null
- GET  /_local/lag                      how late its event loop woke (a 10 ms timer, watched
                                        all along): the most, and how often over 20 ms
- GET  /_local/messages?chat_id=C       the messages stored in a chat
- POST /_local/state                    chats, users, creators and messages it should know
- POST /_local/update                   an update for getUpdates to answer

The times are time.monotonic() of this process: the same clock as its parent's on Linux.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import sys
from dataclasses import dataclass
from typing import Any

from bot.local_api import ApiCall, LocalBotAPI, LocalBotAPIServer, StoredMessage
from bot.local_api_limits import (
    LimitedBotAPI,
    peak_per_group_minute,
    peak_per_second,
    tightest_span,
)


class ControlledServer(LocalBotAPIServer):
    """A LocalBotAPIServer with the /_local/ control endpoints."""

    def web_app(self):
        from aiohttp import web

        app = super().web_app()
        app.router.add_get("/_local/calls", self._calls)
        app.router.add_get("/_local/count", self._count)
        app.router.add_get("/_local/limits", self._limits)
        app.router.add_get("/_local/first_poll", self._first_poll)
        app.router.add_get("/_local/lag", self._lag)
        app.router.add_get("/_local/messages", self._messages)
        app.router.add_post("/_local/state", self._state)
        app.router.add_post("/_local/update", self._update)
        self._web = web
        return app

    def _matching(self, request) -> list[ApiCall]:
        method = request.query.get("method")
        return [c for c in self.api.calls if method is None or c.method == method]

    async def _calls(self, request):
        start = int(request.query.get("start", 0))
        return self._web.json_response(
            {"calls": [[c.method, c.params] for c in self._matching(request)[start:]]})

    async def _count(self, request):
        return self._web.json_response({"count": len(self._matching(request))})

    async def _limits(self, request):
        api = self.api
        if not isinstance(api, LimitedBotAPI):
            return self._web.json_response({"error": "not a LimitedBotAPI"}, status=404)
        return self._web.json_response({
            "accepted": api.accepted, "rejected": api.rejected,
            "rejected_global": api.rejected_global, "jitter": api.jitter})

    async def _first_poll(self, request):
        return self._web.json_response({"at": self.first_poll_at})

    async def _lag(self, request):
        return self._web.json_response(self.lag)

    async def watch_lag(self, period: float = 0.01) -> None:
        """How late the event loop wakes: what delays this process's reading of requests."""
        loop = asyncio.get_running_loop()
        self.lag = {"max": 0.0, "over_20ms": 0, "ticks": 0}
        while True:
            due = loop.time() + period
            await asyncio.sleep(period)
            late = loop.time() - due
            self.lag["ticks"] += 1
            self.lag["max"] = max(self.lag["max"], late)
            self.lag["over_20ms"] += late > 0.02

    async def _messages(self, request):
        chat_id = int(request.query["chat_id"])
        return self._web.json_response([
            {"message_id": m.message_id, "text": m.text, "reply_markup": m.reply_markup,
             "from_bot": m.from_bot} for m in self.api.chat_messages(chat_id)])

    async def _state(self, request):
        state = await request.json()
        api = self.api
        for chat in state.get("chats", []):
            api.chats[int(chat["id"])] = chat
        for user in state.get("users", []):
            api.users[int(user["id"])] = user
        for chat_id, user_id in state.get("creators", []):
            api.creators[int(chat_id)] = int(user_id)
        last: dict[int, int] = {}
        for message in state.get("messages", []):
            stored = api.store(StoredMessage(
                chat_id=int(message["chat_id"]), message_id=int(message["message_id"]),
                sender=message["sender"], text=message.get("text"),
                reply_markup=message.get("reply_markup")))
            last[stored.chat_id] = max(last.get(stored.chat_id, 0), stored.message_id)
        for chat_id, message_id in last.items():  # new messages come after the stored ones
            api._message_ids[chat_id] = itertools.count(message_id + 1)
        return self._web.json_response({"ok": True})

    async def _update(self, request):
        self.push_update(await request.json())
        return self._web.json_response({"ok": True})


async def serve(limited: bool, jitter: float, host: str, port: int, open_chats: bool) -> None:
    api = LimitedBotAPI(jitter=jitter) if limited else LocalBotAPI()
    server = ControlledServer(api, open_chats=open_chats)
    url = await server.start(host, port)
    watcher = asyncio.ensure_future(server.watch_lag())
    print(json.dumps({"url": url, "pid": os.getpid()}), flush=True)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    stdin = sys.stdin.fileno()

    def read_stdin() -> None:
        if not os.read(stdin, 4096):  # end of file: the parent closed it or went away
            stop.set()

    try:
        loop.add_reader(stdin, read_stdin)
    except (PermissionError, OSError):  # not a pipe or a terminal (/dev/null, a file)
        stdin = None
    try:
        await stop.wait()
    finally:
        if stdin is not None:
            loop.remove_reader(stdin)
        watcher.cancel()
        await server.stop()


@dataclass
class LimitsSeen:
    """What a LimitedBotAPI in the other process accepted and refused."""

    accepted: list[tuple[float, int]]
    rejected: int
    rejected_global: int
    jitter: float

    def peak_per_second(self) -> int:
        return peak_per_second(self.accepted, self.jitter)

    def peak_per_group_minute(self) -> int:
        return peak_per_group_minute(self.accepted, self.jitter)

    def tightest_span(self) -> float:
        """The shortest time in which 31 messages arrived."""
        return tightest_span(self.accepted)


class LocalBotAPIProcess:
    """Starts `python -m bot.local_api_process` and reads what it recorded."""

    def __init__(self, *, limited: bool = False, jitter: float = 0.0, open_chats: bool = True,
                 python: str = sys.executable) -> None:
        self.args = [python, "-m", "bot.local_api_process", "--jitter", str(jitter)]
        self.args += ["--limited"] if limited else []
        self.args += [] if open_chats else ["--closed-chats"]
        self.process: asyncio.subprocess.Process | None = None
        self.url = ""
        self.pid = 0
        self._http = None

    async def start(self, timeout: float = 60) -> str:
        from aiohttp import ClientSession

        self.process = await asyncio.create_subprocess_exec(
            *self.args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        try:
            line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
            ready = json.loads(line)
        except (TimeoutError, ValueError):
            await self.stop()
            raise RuntimeError("the local Bot API process did not start") from None
        self.url, self.pid = ready["url"], ready["pid"]
        self._http = ClientSession()
        return self.url

    async def stop(self) -> int | None:
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self.process is None or self.process.returncode is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        self.process.stdin.close()
        try:
            return await asyncio.wait_for(self.process.wait(), 10)
        except TimeoutError:
            self.process.kill()
            return await self.process.wait()

    async def _get(self, path: str, **query: Any) -> Any:
        query = {k: str(v) for k, v in query.items() if v is not None}
        async with self._http.get(f"{self.url}/_local/{path}", params=query) as response:
            response.raise_for_status()
            return await response.json()

    async def _post(self, path: str, payload: Any) -> None:
        async with self._http.post(f"{self.url}/_local/{path}", json=payload) as response:
            response.raise_for_status()

    async def calls(self, method: str | None = None, start: int = 0) -> list[ApiCall]:
        """The calls received (of `method` only if given), from the `start`-th on."""
        found = await self._get("calls", method=method, start=start)
        return [ApiCall(m, params) for m, params in found["calls"]]

    async def count(self, method: str | None = None) -> int:
        return (await self._get("count", method=method))["count"]

    async def limits(self) -> LimitsSeen:
        seen = await self._get("limits")
        return LimitsSeen([(t, c) for t, c in seen["accepted"]], seen["rejected"],
                          seen["rejected_global"], seen["jitter"])

    async def first_poll(self) -> float | None:
        return (await self._get("first_poll"))["at"]

    async def wait_first_poll(self, timeout: float) -> float:
        """time.monotonic() of the first getUpdates, waiting for it up to `timeout` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (at := await self.first_poll()) is None:
            if loop.time() > deadline:
                raise TimeoutError("no getUpdates yet")
            await asyncio.sleep(0.05)
        return at

    async def lag(self) -> dict[str, float]:
        """How late the fake's event loop woke: {"max": s, "over_20ms": n, "ticks": n}."""
        return await self._get("lag")

    async def messages(self, chat_id: int) -> list[dict[str, Any]]:
        return await self._get("messages", chat_id=chat_id)

    async def set_state(self, *, chats=(), users=(), creators=(), messages=()) -> None:
        """Chats, users, (chat, creator) pairs and messages ({chat_id, message_id, sender,
        text, reply_markup}) the fake should know, as if they had been there before."""
        await self._post("state", {"chats": list(chats), "users": list(users),
                                   "creators": list(creators), "messages": list(messages)})

    async def push_update(self, payload: dict[str, Any]) -> None:
        await self._post("update", payload)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limited", action="store_true",
                        help="enforce Telegram's sending limits (bot/local_api_limits.py)")
    parser.add_argument("--jitter", type=float, default=0.0,
                        help="seconds the limits' windows are counted shorter")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--closed-chats", action="store_true",
                        help="only chats given through /_local/state exist")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.limited, args.jitter, args.host, args.port, not args.closed_chats))


if __name__ == "__main__":
    main()

"""The bot's HTTP side (aiohttp): Telegram's webhook on the public listener, `/healthz` and
`/metrics` on an internal one (loopback by default), so what the metrics say (how many updates
and messages, when) is never served to the internet beside the webhook.

The webhook handles each update inside the request (Telegram gets its 200 once the update is
handled), so a replica that stops or crashes mid-update leaves Telegram to deliver it again,
and a graceful stop simply waits for the requests in progress. A request without the right
`X-Telegram-Bot-Api-Secret-Token` header is refused with 401 before anything is read from it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.metrics import exposition

log = logging.getLogger(__name__)
CHECK_SECONDS = 3.0


class Served(Protocol):
    """What the HTTP side needs of the running bot (the composition root's App is one)."""

    database: Any  # has `async check()`
    ticker: Any  # has `healthy()`
    redis: Any  # None, or has `async ping()`
    dispatcher: Dispatcher
    stopping: bool


async def health(app: Served) -> tuple[bool, dict[str, str]]:
    """What `/healthz` reports: the database answers, the scheduler ticks, Redis answers."""
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(app.database.check(), CHECK_SECONDS)
        checks["database"] = "ok"
    except Exception:  # unreachable, or too slow to count as up
        checks["database"] = "unreachable"
    checks["scheduler"] = "ok" if app.ticker.healthy() else "stalled"
    if app.redis is not None:
        try:
            await asyncio.wait_for(app.redis.ping(), CHECK_SECONDS)
            checks["redis"] = "ok"
        except Exception:
            checks["redis"] = "unreachable"
    if app.stopping:
        checks["state"] = "stopping"
    return all(v == "ok" for k, v in checks.items() if k != "state") and not app.stopping, checks


def internal_web_app(app: Served) -> web.Application:
    """The internal listener: `/healthz` and `/metrics`."""
    web_app = web.Application()

    async def healthz(_request: web.Request) -> web.Response:
        ok, checks = await health(app)
        return web.json_response({"status": "ok" if ok else "unhealthy", **checks},
                                 status=200 if ok else 503)

    async def metrics(_request: web.Request) -> web.Response:
        body, content_type = exposition()
        response = web.Response(body=body)
        response.content_type = content_type.split(";")[0]
        response.charset = "utf-8"
        return response

    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/metrics", metrics)
    return web_app


def webhook_web_app(app: Served, bot: Bot, path: str, secret: str) -> web.Application:
    """The public listener: Telegram's webhook at `path`, and nothing else."""
    web_app = web.Application()
    SimpleRequestHandler(
        app.dispatcher, bot, handle_in_background=False, secret_token=secret,
    ).register(web_app, path=path)
    return web_app


class WebServer:
    """Runs a web application; `stop` stops listening, then waits for requests in progress."""

    def __init__(self, web_app: web.Application, host: str, port: int,
                 shutdown_seconds: float) -> None:
        self.runner = web.AppRunner(web_app, access_log=None, handle_signals=False,
                                    shutdown_timeout=shutdown_seconds)
        self.host = host
        self.port = port

    async def start(self) -> int:
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, self.port)
        await site.start()
        port = self.runner.addresses[0][1] if self.runner.addresses else self.port
        log.info("listening on %s:%s", self.host, port)
        return port

    async def stop(self) -> None:
        await self.runner.cleanup()

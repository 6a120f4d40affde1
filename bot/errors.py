"""Any exception in a handler: a short localized answer with a reference code, and a log line
with the full error under the same code (never the text of the message).

When the update's changes could not be stored (the commit failed, the database or Redis did not
answer), the person is told plainly that nothing was saved and that they can try again. In
webhook mode (`redeliver_on_failure`) such an update is then answered with an error, so Telegram
delivers it again; handled update ids are recorded in the update's own transaction, so a
redelivered update acts only if its first handling left nothing stored."""

from __future__ import annotations

import logging
import secrets
import traceback

from aiogram.types import ErrorEvent
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, OperationalError

from bot.i18n import translate
from bot.metrics import ERRORS
from bot.middleware import NotStored
from storage.database import DatabaseUnavailable

log = logging.getLogger("wgbot.errors")

INFRASTRUCTURE = (NotStored, OperationalError, DBAPIError, DatabaseUnavailable, RedisError,
                  ConnectionError, TimeoutError)


def reference_code() -> str:
    return secrets.token_hex(4).upper()


def is_infrastructure(exc: BaseException) -> bool:
    """A failure of what stores things, not of the handler's logic: worth trying again."""
    return isinstance(exc, INFRASTRUCTURE)


async def on_error(event: ErrorEvent, locale: str = "en", redeliver_on_failure: bool = False,
                   **_: object) -> bool:
    code = reference_code()
    ERRORS.inc()
    update = event.update
    exc = event.exception
    # The traceback's frames, without str(exception): that could quote what a user wrote.
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error(
        "error %s while handling update %s (%s): %s\n%s",
        code, update.update_id, update.event_type, type(exc).__name__, frames,
    )
    infrastructure = is_infrastructure(exc)
    if infrastructure:
        text = translate(
            "That did not work: nothing was saved, because the bot could not store it just now. "
            "Please try again in a moment. (Reference: {code})", locale, code=code)
    else:
        text = translate(
            "Sorry, something went wrong on my side. If it happens again, tell the secretariat "
            "this reference: {code}", locale, code=code,
        )
    try:
        if update.message is not None:
            await update.message.answer(text)
        elif update.callback_query is not None:
            await update.callback_query.answer(text[:200], show_alert=True)
    except Exception:  # the answer itself failed (network, blocked bot): already logged above
        log.warning("could not send the answer for error %s", code)
    if infrastructure and redeliver_on_failure:
        raise exc  # a non-2xx answer to the webhook: Telegram delivers the update again
    return True

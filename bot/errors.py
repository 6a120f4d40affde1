"""Any exception in a handler: a short localized apology with a reference code, and a log line
with the full error under the same code (never the text of the message)."""

from __future__ import annotations

import logging
import secrets
import traceback

from aiogram.types import ErrorEvent

from bot.i18n import translate
from bot.metrics import ERRORS

log = logging.getLogger("wgbot.errors")


def reference_code() -> str:
    return secrets.token_hex(4).upper()


async def on_error(event: ErrorEvent, locale: str = "en", **_: object) -> bool:
    code = reference_code()
    ERRORS.inc()
    update = event.update
    # The traceback's frames, without str(exception): that could quote what a user wrote.
    frames = "".join(traceback.format_tb(event.exception.__traceback__))
    log.error(
        "error %s while handling update %s (%s): %s\n%s",
        code, update.update_id, update.event_type, type(event.exception).__name__, frames,
    )
    apology = translate(
        "Sorry, something went wrong on my side. If it happens again, tell the secretariat "
        "this reference: {code}", locale, code=code,
    )
    try:
        if update.message is not None:
            await update.message.answer(apology)
        elif update.callback_query is not None:
            await update.callback_query.answer(apology[:200], show_alert=True)
    except Exception:  # the apology itself failed (network, blocked bot): already logged above
        log.warning("could not send the apology for error %s", code)
    return True

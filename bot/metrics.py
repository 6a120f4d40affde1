"""Prometheus metrics (the middlewares that feed the update and API-call ones are in
bot.middleware).

The metrics are process-wide (one registry per process, scraped at `/metrics` of each replica):
updates handled by type, handler latency, handler errors, outbox depth, messages sent, 429s and
send failures. No label ever carries a chat, a user or a text, and no sample carries a time:
the `_created` timestamps prometheus_client adds to each labelled counter would tell when the
first message of a kind (an urgent report's notice, say) went out, so they are turned off.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

disable_created_metrics()

UPDATES = Counter("wgbot_updates_total", "Updates handled, by type", ["type"])
HANDLER_SECONDS = Histogram(
    "wgbot_handler_seconds", "Time to handle one update, by type", ["type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ERRORS = Counter("wgbot_errors_total", "Updates whose handler raised (users got an apology)")
IN_FLIGHT = Gauge("wgbot_updates_in_flight", "Updates being handled now")
OUTBOX = Gauge("wgbot_outbox_messages", "Outbox rows by status", ["status"])
OUTBOX_DUE = Gauge("wgbot_outbox_due", "Outbox rows due now and not sent yet")
SENT = Counter("wgbot_messages_sent_total", "Messages sent from the outbox, by kind", ["kind"])
RETRY_AFTER = Counter("wgbot_telegram_retry_after_total", "429 answers (flood waits) received")
SEND_FAILURES = Counter("wgbot_send_failures_total", "Outbox sends that failed, by reason",
                        ["reason"])
API_CALLS = Counter("wgbot_bot_api_calls_total",
                    "Bot API calls (handlers' replies included), by method and outcome",
                    ["method", "outcome"])
LAST_TICK = Gauge("wgbot_scheduler_last_tick_seconds", "Unix time of the last scheduler tick")


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus text format and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST

"""aiogram routers, one module per feature. Thin: parse, authorise, call a service, render."""

from aiogram import Router

from bot.router_doors import DoorRouter


def build_router() -> Router:
    """All feature routers in matching order; the fallback router comes last."""
    from handlers import (  # noqa: I001
        actions, agenda, agenda_notices, calendar, calendar_settings, case_agenda, cases,
        cochairs, fallback, language, meetings, members, monthly, my_calendar, practices,
        profile, report_status, reports, schedule, setup, start,
    )

    from handlers import agenda_decline

    root = DoorRouter(name="wgbot")
    root.include_router(agenda_decline.router.build())  # /decline, previewed; only its own state
    # Feature routers before `start`, so their deep-link /start handlers win over the greeting.
    # /status before /report: the report flow's catch-all would take what is written in /status.
    for module in (setup, members, profile, language, my_calendar, calendar, calendar_settings,
                   meetings, schedule, report_status, reports, cases, case_agenda, practices,
                   agenda, cochairs, actions, monthly, start):
        root.include_router(module.router.build())
    root.include_router(fallback.router.build())
    del agenda_notices  # imported for its outbox renderers, which register themselves
    return root

"""Texts, cards and keyboards of the secretariat's side of concern reports (no handlers here)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.formatting import colon, escape, format_when
from bot.i18n import LANGUAGE_NAMES, _, translate
from bot.services import concerns
from bot.services.report_crypto import ReportCipher, ReportUnreadable
from bot.services.reports import (
    CATEGORIES,
    STATUSES,
    MonthlyStats,
    history,
    publish_month,
    read_body,
)
from handlers.common import RowId
from handlers.report_texts import CATEGORY_LABELS, category_label, day_text, status_label
from storage.models import Person, WorkingGroup
from storage.report_tables import ReportCase, ReportEvent


class CaseCb(CallbackData, prefix="cs"):
    action: str  # open, ack, status, set, note, reply, stats, agenda, outcome
    case: RowId
    value: str = ""


def case_error_text(code: str, **params: object) -> str:
    texts = {
        "no_case": _("There is no case {number} among the cases of your groups."),
        "status": _("Unknown status."),
        "same_status": _("The case already has that status."),
        "already_acknowledged": _("This case was already acknowledged."),
        "note_empty": _("Please send the text."),
        "note_long": _("That is too long: at most {max} characters."),
        "emergency_long": _("That is too long: at most {max} characters."),
        "retention_range": _("Give a number of days between {min} and {max}."),
        "ack_range": _("Give a number of days between {min} and {max}."),
    }
    return texts.get(code, _("That did not work.")).format(**params)


def unreadable_text() -> str:
    return _("This case cannot be read: it was encrypted with another report key than the one "
             "configured now (WGBOT_REPORT_KEY or the key file). Restore the original key.")


def not_secretariat_text() -> str:
    return _("Only the secretariat of a working group can see its concern reports.")


def cb(text: str, action: str, case: int, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=CaseCb(action=action, case=case,
                                                                value=value).pack())


async def case_line(session: AsyncSession, case: ReportCase, locale: str, today: date) -> str:
    group = await session.get(WorkingGroup, case.group_id) if case.group_id else None
    parts = [f"<b>#{case.id}</b>", category_label(case.category, locale)]
    if case.urgent:
        parts.append(_("URGENT"))
    parts += [status_label(case.status, locale), LANGUAGE_NAMES.get(case.language, case.language),
              _("{days} d old").format(days=(today - case.submitted_on).days)]
    if case.acknowledged_on is None:
        due = _("acknowledge by {day}").format(day=day_text(case.ack_due_on, locale))
        parts.append(f"<b>{due} !</b>" if case.ack_due_on < today else due)
    if case.reporter_update:
        parts.append(_("new information"))
    parts.append(escape(group.name) if group else _("group not chosen by the reporter"))
    return " · ".join(parts)


async def case_card(session: AsyncSession, cipher: ReportCipher, case: ReportCase,
                    content: dict, locale: str) -> str:
    today = datetime.now(UTC).date()
    lines = [
        _("<b>Case #{number}</b>").format(number=case.id),
        await case_line(session, case, locale, today),
        _("Submitted on {day}").format(day=day_text(case.submitted_on, locale)),
        _("Where: {place}").format(place=escape(content.get("where", ""))),
        _("When: {time}").format(time=escape(content.get("when", ""))),
        "", _("<b>What happened</b>"),
    ]
    lines += parts_lines(content.get("parts", []))
    lines += ["", _("<b>History</b>")]
    for event, actor in await history(session, case):
        lines.append(event_line(cipher, event, actor, locale))
    lines += await agenda_lines(session, cipher, case, locale)
    return "\n".join(lines)


async def agenda_lines(session: AsyncSession, cipher: ReportCipher, case: ReportCase,
                       locale: str) -> list[str]:
    """The agenda items the case became, their decisions and actions, and the outcome."""
    links = await concerns.linked(session, case)
    if not links:
        return []
    group = await session.get(WorkingGroup, case.group_id) if case.group_id else None
    zone = group.timezone if group else "UTC"
    lines = ["", _("<b>On the agenda</b>")]
    for link in links:
        title = escape(link.meeting.title) if link.meeting else "?"
        when = format_when(link.start, locale, zone) if link.start else "?"
        lines.append(_("Item #{item}, {meeting}, {when}: «{text}»").format(
            item=link.item.id, meeting=title, when=when, text=escape(link.item.text)))
        if link.item.discussed:
            lines.append("  " + _("discussed"))
        for decision in link.decisions:
            lines.append("  " + _("Decision: {text}").format(text=escape(decision.text)))
        for action, owner in link.actions:
            state = _("done") if action.status == "done" else _("open")
            lines.append("  " + _("Action #{number} ({state}) {owner}: {text}").format(
                number=action.id, state=state, owner=escape(owner.full_name),
                text=escape(action.text)))
    if not any(link.actions for link in links):
        lines.append(_("Record decisions and actions for it in the group with /decision #ITEM "
                       "TEXT and /action #ITEM @owner DUE TEXT."))
    try:
        outcome = concerns.read_outcome(cipher, case)
    except ReportUnreadable:
        outcome = None
    if outcome is not None:
        shown = _("shown to the reporter since {day}").format(
            day=day_text(outcome.shown_on, locale)) if outcome.shown_on else _(
            "not shown to the reporter")
        lines += ["", _("<b>Outcome</b> ({shown})").format(shown=shown),
                  _("Discussed by the working group on {day}; agreed:").format(
                      day=day_text(outcome.day, locale)), f"<i>{escape(outcome.text)}</i>"]
    return lines


def parts_lines(parts: list[dict]) -> list[str]:
    lines, attachment = [], 0
    for part in parts:
        if part.get("kind") == "text":
            lines.append(escape(part.get("value", "")))
        else:
            attachment += 1
            label = _("voice note") if part.get("kind") == "voice" else _("photo")
            lines.append(_("[{kind} {number}, sent below]").format(kind=label, number=attachment))
    return lines


def event_line(cipher: ReportCipher, event: ReportEvent, actor: Person | None,
                locale: str) -> str:
    who = escape(actor.full_name) if actor is not None else (
        _("the reporter") if event.kind in ("info", "submitted") else _("a former member"))
    day = day_text(event.on_day, locale)
    if event.kind in ("submitted", "acknowledged", "status"):
        return _("{day} · {who}: status {status}").format(
            day=day, who=who, status=status_label(event.status or "", locale))
    if event.kind in ("agenda", "outcome_shown", "outcome_hidden"):
        return concern_event_line(cipher, event, day, who)
    try:
        body = read_body(cipher, event)
    except ReportUnreadable:
        return _("{day} · {who}: (cannot be read with the current key)").format(day=day, who=who)
    if event.kind == "info":
        text = "\n".join(parts_lines(body.get("parts", [])))
        return _("{day} · {who} added:").format(day=day, who=who) + "\n" + text
    label = _("reply to the reporter") if event.kind == "reply" else _("internal note")
    return _("{day} · {who}, {kind}:").format(day=day, who=who, kind=label) + \
        f"\n<i>{escape(body.get('text', ''))}</i>"


def concern_event_line(cipher: ReportCipher, event: ReportEvent, day: str, who: str) -> str:
    if event.kind in ("outcome_shown", "outcome_hidden"):
        label = _("outcome shown to the reporter") if event.kind == "outcome_shown" else _(
            "outcome hidden from the reporter")
        return f"{day} · {who}: {label}"
    try:
        body = read_body(cipher, event)
    except ReportUnreadable:
        body = {}
    return _("{day} · {who}: put on the agenda as item #{item}").format(
        day=day, who=who, item=body.get("item", "?"))


def case_keyboard(case: ReportCase) -> InlineKeyboardMarkup:
    rows = []
    if case.acknowledged_on is None:
        rows.append([cb(_("Acknowledge"), "ack", case.id)])
    rows.append([cb(_("Set status"), "status", case.id)])
    rows.append([cb(_("Add an internal note"), "note", case.id),
                 cb(_("Reply to the reporter"), "reply", case.id)])
    if case.group_id is not None and case.status != "closed":
        rows.append([cb(_("Put on an agenda"), "agenda", case.id),
                     cb(_("Outcome for the reporter"), "outcome", case.id)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def status_keyboard(case: ReportCase, locale: str) -> InlineKeyboardMarkup:
    rows = [[cb(status_label(s, locale), "set", case.id, s)] for s in STATUSES
            if s != case.status]
    rows.append([cb(_("Back"), "open", case.id)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def stats_text(stats: MonthlyStats, group: WorkingGroup, locale: str) -> str:
    lines = [_("<b>Concern reports of {group}, per month</b>").format(group=escape(group.name)),
             _("Counts below 3 are shown as \"&lt;3\" so that nobody can be recognised.")]
    if not stats.months:
        return "\n".join([*lines, "", _("No reports in the last twelve months.")])
    for month in stats.months:
        shown = publish_month(stats, month)
        lines += ["", _("<b>{month}</b>: {total} in all").format(
            month=month, total=escape(shown.total))]
        for category in CATEGORIES:
            if category in shown.by_category:
                lines.append(f"  {category_label(category, locale)}{colon(locale)}"
                             f"{shown.by_category[category]}")
        statuses = [f"{status_label(s, locale)}{colon(locale)}{shown.by_status[s]}"
                    for s in STATUSES
                    if s in shown.by_status]
        if statuses:
            lines.append("  " + _("Status: {status}").format(status="; ".join(statuses)))
    return "\n".join(lines)


def stats_chart(stats: MonthlyStats, group: WorkingGroup, locale: str) -> bytes:
    """A stacked bar chart per month and category; counts below 3 are left out."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4.5), dpi=100)
    axes = figure.subplots()
    bottoms = [0] * len(stats.months)
    published = [publish_month(stats, m) for m in stats.months]
    for category in CATEGORIES:
        values = [p.by_category.get(category, 0) for p in published]
        if any(values):
            axes.bar(stats.months, values, bottom=bottoms,
                     label=translate(label_id(category), locale))
            bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    axes.set_title(translate("Concern reports per month: {group}", locale, group=group.name))
    axes.set_ylabel(translate("reports (counts below 3 not shown)", locale))
    if any(bottoms):
        axes.legend(fontsize="small")
    axes.tick_params(axis="x", labelrotation=45)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def label_id(category: str) -> str:
    return CATEGORY_LABELS[category]

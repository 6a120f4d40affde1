"""Labels, texts and keyboards of the reporter's side of concern reports (no handlers here)."""

from __future__ import annotations

import logging
from datetime import date
from functools import lru_cache

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.config import Settings
from bot.formatting import escape, fill, format_day
from bot.i18n import N_, _, current_locale, translate
from bot.services.report_crypto import ReportCipher, ReportKeyError, get_cipher
from bot.services.report_drafts import preview
from bot.services.reports import Draft
from storage.models import WorkingGroup

log = logging.getLogger(__name__)

CATEGORY_LABELS = {
    "public_security": N_("Conduct of public security forces"),
    "private_security": N_("Conduct of private security"),
    "land": N_("Land or resettlement"),
    "compensation": N_("Compensation"),
    "employment": N_("Employment"),
    "environment": N_("Environment"),
    "harassment": N_("Harassment or gender-based violence"),
    "other": N_("Other"),
}
STATUS_LABELS = {
    "received": N_("Received"),
    "acknowledged": N_("Acknowledged"),
    "under_review": N_("Under review"),
    "referred": N_("Referred"),
    "resolved": N_("Resolved"),
    "closed": N_("Closed"),
}


def category_label(category: str, locale: str) -> str:
    msgid = CATEGORY_LABELS.get(category)
    return translate(msgid, locale) if msgid else escape(category)


def status_label(status: str, locale: str) -> str:
    msgid = STATUS_LABELS.get(status)
    return translate(msgid, locale) if msgid else escape(status)


def day_text(day: date, locale: str) -> str:
    return format_day(day, locale)


class ReportCb(CallbackData, prefix="rp"):
    action: str
    value: str = ""


@lru_cache(maxsize=1024)
def btn(text: str, action: str, value: str = "") -> InlineKeyboardButton:
    """A button of the report flows, built once (its callback data and its model cost about
    30 us; a step shows up to ten)."""
    return InlineKeyboardButton(text=text, callback_data=ReportCb(action=action,
                                                                  value=value).pack())


def nav(back: bool = True) -> list[InlineKeyboardButton]:
    row = [btn(_("Back"), "back")] if back else []
    return [*row, btn(_("Stop"), "cancel")]


def kb(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[row for row in rows if row])


def unavailable_text() -> str:
    return _("Reports cannot be taken or read right now: the bot's report key is missing or "
             "invalid. Please tell the secretariat; nothing you wrote has been kept.")


def load_cipher(settings: Settings) -> ReportCipher | None:
    try:
        return get_cipher(settings.data_dir)
    except ReportKeyError as exc:
        log.error("concern reports unavailable: %s", exc)
        return None


def report_error_text(code: str, **params: object) -> str:
    texts = {
        "where_empty": _("Please write where it happened, as text."),
        "where_long": _("That is too long: at most {max} characters."),
        "when_empty": _("Please write when it happened, as text."),
        "when_long": _("That is too long: at most {max} characters."),
        "part_kind": _("Send text, voice notes or photos."),
        "parts_many": _("That is the most a report can hold ({max} messages). Press Done."),
        "text_long": _("That message is too long: at most {max} characters. Split it in "
                       "several messages."),
        "incomplete": _("Some answers are missing. Start again with /report."),
        "too_many_reports": _("You have sent {max} reports today, the most allowed in a day. "
                              "Please try again tomorrow. If someone is in danger, call the "
                              "emergency services now."),
        "too_many_codes": _("Too many wrong codes. For your protection, try again in an hour."),
        "wrong_code": _("No report has this code. Check the 16 digits and try again."),
        "unavailable": unavailable_text(),
        "key_changed": _("I cannot check this code now: the bot's report key has changed. "
                         "Please tell the secretariat."),
    }
    return fill(texts.get(code, _("That did not work.")), **params)


def notice_text() -> str:
    return "\n\n".join([
        _("<b>Before you start: your safety</b>"),
        _("What is kept: what you write, the place and time, voice notes and photos, all "
          "encrypted; the category; the day you report (not the hour)."),
        _("What is not kept: your name, your Telegram account, your username or your phone "
          "number. The secretariat never learns who you are."),
        _("At the end you get a receipt code. With it, and only with it, you can follow your "
          "report. I can then delete the messages of this report from this chat; you can also "
          "delete the whole chat (in Telegram: open the chat menu, then Delete chat)."),
        _("If someone is in danger now, call the emergency services or a person you trust first. "
          "I will show you the emergency contacts of your working group."),
    ])


def step_prompt(step: str) -> tuple[str, InlineKeyboardMarkup]:
    """The question and buttons of a step of the report (not the summary)."""
    if step == "notice":
        return notice_text(), kb([btn(_("Continue"), "go")], nav(back=False))
    if step == "category":
        rows = [[btn(translate(label, current_locale()), "cat", key)]
                for key, label in CATEGORY_LABELS.items()]
        return _("What is your concern about?"), kb(*rows, nav())
    if step == "danger":
        return _("Is someone injured or in danger now?"), kb(
            [btn(_("Yes"), "danger", "yes"), btn(_("No"), "danger", "no")], nav())
    if step == "where":
        return _("Where did it happen? Write the place (village, site, road...)."), kb(nav())
    if step == "when":
        return _("When did it happen? Write the date or time, or choose:"), kb(
            [btn(_("Today"), "when", "today"), btn(_("Yesterday"), "when", "yesterday")],
            [btn(_("I don't remember"), "when", "unknown")], nav())
    return _(
        "What happened? Send text messages, voice notes or photos, as many as you need. "
        "Press Done when you have finished. Do not send files: they can carry hidden "
        "details such as the place they were made."), kb([btn(_("Done"), "done")], nav())


def group_button(group: WorkingGroup, locale: str) -> str:
    """A group as a reporter chooses it: its name and since when it is registered."""
    return _("{group} (since {day})").format(
        group=group.name, day=day_text(group.created_at.date(), locale))


def summary_text(draft: Draft, group: WorkingGroup | None, locale: str) -> str:
    texts, shown = preview(draft)
    lines = [_("<b>Your report</b>")]
    if group is not None:  # who will read it, and how long that group has existed
        lines.append(_("To the secretariat of: {group}, a working group registered on {day}"
                       ).format(group=escape(group.name),
                                day=day_text(group.created_at.date(), locale)))
    lines += [
        _("About: {category}").format(category=category_label(draft.category or "", locale)),
        _("Someone injured or in danger: {answer}").format(
            answer=_("yes") if draft.urgent else _("no")),
        _("Where: {place}").format(place=escape(draft.where or "")),
        _("When: {time}").format(time=escape(draft.when or "")),
        _("Messages: {texts}, voice notes: {voices}, photos: {photos}").format(
            texts=len(texts), voices=sum(p["kind"] == "voice" for p in draft.parts),
            photos=sum(p["kind"] == "photo" for p in draft.parts)),
    ]
    if shown:
        lines += ["", f"<i>{escape(shown)}</i>"]
    lines += ["", _("Send it to the secretariat?")]
    return "\n".join(lines)


def emergency_text(contacts: list[tuple[WorkingGroup, str]]) -> str:
    lines = [_("<b>If someone is in danger now, get help first.</b>")]
    if contacts:
        lines.append(_("Emergency contacts of your working group:"))
        lines += [f"{escape(g.name)}: {escape(text)}" for g, text in contacts]
    else:
        lines.append(_("Your working group has not given emergency contacts. Call the local "
                       "emergency services or someone you trust."))
    lines.append(_("Your report will be marked urgent: the secretariat is told at once when "
                   "you send it."))
    return "\n".join(lines)


def receipt_text(receipt: str) -> str:
    from bot.services.report_crypto import format_receipt

    return "\n\n".join([
        _("Your report was sent. Thank you for your trust."),
        _("Your receipt code (shown only this once):"),
        f"<code>{format_receipt(receipt)}</code>",
        _("Write it down and keep it safe, away from this phone if you can. With /status and "
          "this code you can see what happens, read the secretariat's answers and add "
          "information. Without it nobody, not even the secretariat, can link the report to "
          "you."),
        _("Press the button to delete the messages of this report from this chat, this one "
          "included: write the code down first."),
    ])

"""The draft of a report while it is being written, as kept in the conversation state.

Plain functions over the state's dict and a cipher (no aiogram): the handlers read the dict from
the FSM storage, call these, and write back what they return. Everything the conversation keeps
(group, category, urgency, language, place, time, what happened, the messages to delete) is one
sealed (encrypted) `secret` entry, under a key that is neither configured nor on disk.
"""

from __future__ import annotations

import base64
from typing import Protocol

from bot.services.report_crypto import ReportUnreadable
from bot.services.reports import Draft, ReportError

STEPS = ("notice", "category", "danger", "where", "when", "what", "summary")
SECRET = "secret"
PURPOSE = "draft"


class DraftCipher(Protocol):
    def encrypt(self, value: object, purpose: str) -> bytes: ...

    def decrypt(self, blob: bytes, purpose: str) -> object: ...


def open_secret(data: dict, cipher: DraftCipher | None) -> dict:
    """The sealed part of the draft; empty when there is none or it cannot be read."""
    sealed = data.get(SECRET)
    if not sealed or cipher is None:
        return {}
    try:
        value = cipher.decrypt(base64.b64decode(sealed), PURPOSE)
    except (ReportUnreadable, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def seal_secret(data: dict, cipher: DraftCipher | None, **fields: object) -> dict:
    """The state update that adds `fields` to the sealed part of the draft."""
    if cipher is None:
        raise ReportError("unavailable")
    merged = {**open_secret(data, cipher), **fields}
    return {SECRET: base64.b64encode(cipher.encrypt(merged, PURPOSE)).decode("ascii")}


def draft_of(opened: dict) -> Draft:
    """The draft in the opened conversation (see `open_secret`)."""
    return Draft.from_dict({**opened, "language": opened.get("language", "en")})


def tracked(data: dict, *message_ids: int) -> list[int]:
    """The ids of the messages to delete when the conversation ends, with `message_ids`."""
    return [*data.get("messages", []), *message_ids]


def previous_step(step: str | None) -> str:
    """The step "Back" leads to from `step`."""
    if step is None or step in ("notice", "category") or step not in STEPS:
        return "notice"
    return STEPS[STEPS.index(step) - 1]


def group_choice(data: dict, value: str) -> int | None:
    """The group a reporter chose among their candidates: its id, None when the choice is not
    among them. There is no "any of them": see handlers/reports.py's _ask_group."""
    candidates = data.get("candidates") or []
    if not value.isdecimal() or int(value) not in candidates:
        return None
    return int(value)


def emergency_groups(draft: Draft) -> list[int]:
    """The groups whose emergency contacts the reporter is shown."""
    return [draft.group_id] if draft.group_id is not None else list(draft.candidates)


def preview(draft: Draft, limit: int = 300) -> tuple[list[str], str]:
    """The draft's texts and the start of them shown in the summary."""
    texts = [p["value"] for p in draft.parts if p["kind"] == "text"]
    shown = " ".join(texts)
    if len(shown) > limit:
        shown = shown[:limit] + "..."
    return texts, shown

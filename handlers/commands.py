"""The bot's commands: one table drives /help and the per-language, per-scope command menus."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from rapidfuzz import fuzz, process

from bot.i18n import N_, translate


class Audience(StrEnum):
    EVERYONE = "everyone"
    MEMBER = "member"  # in a registered group
    SECRETARIAT = "secretariat"
    CHAT_ADMIN = "chat_admin"  # in a group that is not registered yet


@dataclass(frozen=True)
class CommandInfo:
    name: str
    description: str  # message id, translated where shown
    private: bool
    group: bool
    audience: Audience = Audience.EVERYONE


COMMANDS: list[CommandInfo] = [
    CommandInfo("start", N_("Start and see what I can do"), private=True, group=False),
    CommandInfo("help", N_("What I can do here"), private=True, group=True),
    CommandInfo("profile", N_("Your pillar, organisation, language and co-chair choice"),
                private=True, group=False),
    CommandInfo("language", N_("Choose your language"), private=True, group=True),
    CommandInfo("groups", N_("The working groups you belong to"), private=True, group=False),
    CommandInfo("setup", N_("Register this chat as a working group, or edit its settings"),
                private=False, group=True, audience=Audience.CHAT_ADMIN),
    CommandInfo("join", N_("Join this working group"), private=False, group=True,
                audience=Audience.MEMBER),
    CommandInfo("members", N_("Members of this working group by pillar"), private=False,
                group=True, audience=Audience.MEMBER),
    CommandInfo("grant", N_("Give a member the secretariat role: /grant @user secretariat"),
                private=False, group=True, audience=Audience.SECRETARIAT),
    CommandInfo("revoke", N_("Take the secretariat role back: /revoke @user"),
                private=False, group=True, audience=Audience.SECRETARIAT),
    CommandInfo("calendar", N_("Coming meetings (in private: of all your groups)"), private=True,
                group=True, audience=Audience.MEMBER),
    CommandInfo("meeting", N_("One meeting's card with RSVP buttons: /meeting N"),
                private=True, group=True, audience=Audience.MEMBER),
    CommandInfo("ics", N_("Calendar file (.ics) (in private: one per group)"), private=True,
                group=True, audience=Audience.MEMBER),
    CommandInfo("attendance", N_("Each member's attendance rate"), private=False, group=True,
                audience=Audience.MEMBER),
    CommandInfo("schedule", N_("Schedule a meeting: /schedule WHEN | TITLE | PLACE"),
                private=False, group=True, audience=Audience.SECRETARIAT),
    CommandInfo("settings", N_("Reminder and quorum settings: /settings reminders 3d 1d 2h"),
                private=False, group=True, audience=Audience.MEMBER),
    CommandInfo("mute", N_("Stop private meeting reminders"), private=True, group=True),
    CommandInfo("unmute", N_("Receive private meeting reminders again"), private=True,
                group=True),
    CommandInfo("propose", N_("Propose an agenda item: /propose TEXT"), private=True,
                group=True),
    CommandInfo("agenda", N_("The agenda of the next meeting: /agenda or /agenda N"),
                private=False, group=True, audience=Audience.MEMBER),
    CommandInfo("decline", N_("Secretariat: decline an agenda item: /decline N REASON"),
                private=True, group=True, audience=Audience.SECRETARIAT),
    CommandInfo("merge", N_("Secretariat: fold agenda item N into item M: /merge N M"),
                private=True, group=True, audience=Audience.SECRETARIAT),
    CommandInfo("discussed", N_("Secretariat: mark agenda items discussed: /discussed N"),
                private=False, group=True, audience=Audience.SECRETARIAT),
    CommandInfo("agendadeadline", N_("Secretariat: hours before a meeting that proposals close"),
                private=False, group=True, audience=Audience.SECRETARIAT),
    CommandInfo("cochairs", N_("Co-chairs: upcoming, queue and turns; /cochairs away N"),
                private=False, group=True, audience=Audience.MEMBER),
    CommandInfo("decision", N_("Secretariat: record a decision of the latest meeting"),
                private=False, group=True, audience=Audience.SECRETARIAT),
    CommandInfo("action", N_("Secretariat: record an action item: /action @owner DUE TEXT"),
                private=False, group=True, audience=Audience.SECRETARIAT),
    CommandInfo("actions", N_("Open action items; /actions mine privately"), private=True,
                group=True),
    CommandInfo("summary", N_("Secretariat: publish the summary of the latest meeting"),
                private=False, group=True, audience=Audience.SECRETARIAT),
    CommandInfo("report", N_("Report a concern anonymously"), private=True, group=True),
    CommandInfo("status", N_("Follow your report: /status RECEIPT-CODE"), private=True,
                group=False),
    CommandInfo("reports", N_("Secretariat: the concern reports of your groups"), private=True,
                group=False, audience=Audience.SECRETARIAT),
    CommandInfo("case", N_("Secretariat: open a concern report: /case NUMBER"), private=True,
                group=False, audience=Audience.SECRETARIAT),
    CommandInfo("reportstats", N_("Secretariat: monthly statistics of concern reports"),
                private=True, group=False, audience=Audience.SECRETARIAT),
    CommandInfo("monthly", N_("Secretariat: the monthly security status report: /monthly "
                              "[YYYY-MM], /monthly settings"),
                private=True, group=False, audience=Audience.SECRETARIAT),
    CommandInfo("engagement", N_("A company's engagement report: /engagement ORGANISATION "
                                 "[YEAR]"), private=True, group=False),
    CommandInfo("reportsettings", N_("Emergency contacts, retention and deadlines of reports"),
                private=False, group=True, audience=Audience.SECRETARIAT),
    CommandInfo("ask", N_("Ask what good practice says: /ask QUESTION"), private=True,
                group=True),
    CommandInfo("practices", N_("Browse the good-practice catalogue"), private=True, group=True),
]


def visible_commands(
    *, private: bool, registered: bool, secretariat: bool, chat_admin: bool
) -> list[CommandInfo]:
    """The commands a user can use in this chat, given their role.

    In a private chat `secretariat` means: in the secretariat of at least one group.
    """
    shown = []
    for command in COMMANDS:
        if private and not command.private:
            continue
        if not private and not command.group:
            continue
        if not private and command.audience is Audience.MEMBER and not registered:
            continue
        if command.audience is Audience.SECRETARIAT and not (secretariat and
                                                             (private or registered)):
            continue
        if command.audience is Audience.CHAT_ADMIN and not (chat_admin or secretariat):
            continue
        shown.append(command)
    return shown


def menu(locale: str, *, private: bool) -> list[tuple[str, str]]:
    """(command, description) pairs for a command menu in one language and scope."""
    return [
        (c.name, translate(c.description, locale))
        for c in COMMANDS
        if (c.private if private else c.group)
    ]


def known_command_names() -> set[str]:
    return {c.name for c in COMMANDS}


# How close a mistyped command must be to a known one to be suggested (rapidfuzz's normalised
# Indel similarity, 0-100): `/shedule`, `/calender`, `/reprot` are above it, `/hello` is not.
SUGGEST_CUTOFF = 80


def suggest(typed: str) -> str | None:
    """The known command a mistyped one most likely meant, or None when nothing is near."""
    typed = typed.lower()
    if not typed or len(typed) > 64:
        return None
    best = process.extractOne(typed, [c.name for c in COMMANDS], scorer=fuzz.ratio,
                              score_cutoff=SUGGEST_CUTOFF)
    return best[0] if best else None

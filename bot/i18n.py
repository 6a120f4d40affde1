"""Translations: gettext catalogs under locales/, compiled in memory from the .po files at start.

Compiling at load time means `pip install .` alone gives a working bot: no manual
`pybabel compile` step, no .mo files to keep in sync. Handlers use `_` (context locale, set per
update by the context middleware); scheduler jobs and other code without a request context call
`translate(msgid, locale)` explicitly.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _  # noqa: F401  (re-exported for handlers)
from aiogram.utils.i18n import lazy_gettext as __  # noqa: F401
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.config import DEFAULT_LANGUAGE, LANGUAGES

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"

LANGUAGE_NAMES = {
    "en": "English",
    "fr": "Français",
    "sw": "Kiswahili",
    "es": "Español",
    "ln": "Lingála",
}


def compile_po(po_path: Path) -> gettext.GNUTranslations:
    with po_path.open("rb") as fp:
        catalog = read_po(fp, locale=po_path.parent.parent.name)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class CatalogI18n(I18n):
    """aiogram's I18n, loading .po catalogs directly (compiled in memory)."""

    @contextmanager
    def context(self) -> Iterator[CatalogI18n]:
        # aiogram's `_` looks the instance up on the base class' context variable; a subclass
        # gets a variable of its own, so register on the base class explicitly.
        token = I18n.set_current(self)
        try:
            yield self
        finally:
            I18n.reset_current(token)

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        translations: dict[str, gettext.GNUTranslations] = {}
        for lang_dir in sorted(self.path.iterdir()):
            po_path = lang_dir / "LC_MESSAGES" / f"{self.domain}.po"
            if po_path.is_file():
                translations[lang_dir.name] = compile_po(po_path)
        return translations


_instance: CatalogI18n | None = None


def get_i18n() -> CatalogI18n:
    """The process-wide catalog set (compiled once)."""
    global _instance
    if _instance is None:
        _instance = CatalogI18n(path=LOCALES_DIR, default_locale=DEFAULT_LANGUAGE, domain=DOMAIN)
    return _instance


def translate(msgid: str, locale: str, /, **params: object) -> str:
    """Translate `msgid` into `locale` and fill its `{placeholders}`."""
    text = get_i18n().gettext(msgid, locale=locale)
    return text.format(**params) if params else text


def normalise_language(code: str | None) -> str | None:
    """Map a Telegram language code (`fr`, `pt-br`, `sw-KE`) onto a supported language."""
    if not code:
        return None
    primary = code.replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in LANGUAGES else None


def pick_locale(
    stored: str | None, telegram_code: str | None, group_language: str | None
) -> str:
    """The user's stored choice, else Telegram's language_code, else the group's, else English."""
    for candidate in (stored, normalise_language(telegram_code), group_language):
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT_LANGUAGE


def N_(msgid: str) -> str:
    """Mark a message id for extraction without translating it (translated where it is used)."""
    return msgid

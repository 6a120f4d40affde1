"""Translations: gettext catalogs under locales/, compiled in memory from the .po files at start.

Compiling at load time means `pip install .` alone gives a working bot: no manual
`pybabel compile` step, no .mo files to keep in sync. Handlers use `_` (context locale, set per
update by the context middleware); scheduler jobs and other code without a request context call
`translate(msgid, locale)` explicitly.
"""

from __future__ import annotations

import contextlib
import gettext
import hashlib
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import LazyProxy

from bot.config import DEFAULT_LANGUAGE, LANGUAGES

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"

# Every list of languages (first contact, /language, /profile, a group's language, a report's
# language) shows them in this one order: the languages of eastern DR Congo first.
LANGUAGE_NAMES = {
    "sw": "Kiswahili",
    "fr": "Français",
    "ln": "Lingála",
    "en": "English",
    "es": "Español",
}


def compile_po(po_path: Path) -> gettext.GNUTranslations:
    """The catalog of a .po file. Compiling the five takes about half a second, so the result is
    kept beside it (`.messages.cache.mo`, keyed by a hash of the .po's content) when the folder
    is writable, and read from there at the next start."""
    source = po_path.read_bytes()
    digest = hashlib.sha256(source).hexdigest().encode()
    cache = po_path.with_name(f".{po_path.stem}.cache.mo")
    try:
        kept = cache.read_bytes()
    except OSError:
        kept = b""
    head, _, compiled = kept.partition(b"\n")
    if head != digest:
        catalog = read_po(io.BytesIO(source), locale=po_path.parent.parent.name)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        compiled = buffer.getvalue()
        partial = cache.with_name(f"{cache.name}.{os.getpid()}")
        try:
            partial.write_bytes(digest + b"\n" + compiled)
            partial.replace(cache)
        except OSError:  # a read-only installation compiles at each start
            with contextlib.suppress(OSError):
                partial.unlink()
    return gettext.GNUTranslations(io.BytesIO(compiled))


class CatalogI18n:
    """The gettext catalogs of every language, compiled once, and the locale of the code
    running now (a context variable: each update handled, each job, has its own)."""

    def __init__(self, path: Path, default_locale: str = DEFAULT_LANGUAGE,
                 domain: str = DOMAIN) -> None:
        self.path = path
        self.default_locale = default_locale
        self.domain = domain
        self.locales = self.find_locales()

    @property
    def available_locales(self) -> tuple[str, ...]:
        return tuple(self.locales)

    @property
    def current_locale(self) -> str:
        return _current_locale.get() or self.default_locale

    @contextmanager
    def use_locale(self, locale: str) -> Iterator[None]:
        token = _current_locale.set(locale)
        try:
            yield
        finally:
            _current_locale.reset(token)

    @contextmanager
    def context(self) -> Iterator[CatalogI18n]:
        """Kept for symmetry with `use_locale`: the instance is process-wide already."""
        yield self

    def gettext(self, singular: str, plural: str | None = None, n: int = 1,
                locale: str | None = None) -> str:
        translations = self.locales.get(locale or self.current_locale)
        if translations is None:
            return singular if plural is None or n == 1 else plural
        if plural is None:
            return translations.gettext(singular)
        return translations.ngettext(singular, plural, n)

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        translations: dict[str, gettext.GNUTranslations] = {}
        for lang_dir in sorted(self.path.iterdir()):
            po_path = lang_dir / "LC_MESSAGES" / f"{self.domain}.po"
            if po_path.is_file():
                translations[lang_dir.name] = compile_po(po_path)
        return translations


_current_locale: ContextVar[str | None] = ContextVar("wgbot_locale", default=None)
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


def _(msgid: str, plural: str | None = None, n: int = 1) -> str:
    """Translate into the locale of the code running now (set per update by the middleware)."""
    return get_i18n().gettext(msgid, plural, n)


def __(msgid: str) -> LazyProxy:
    """`_` evaluated when the text is used, not when it is defined."""
    return LazyProxy(_, msgid, enable_cache=False)


def current_locale() -> str:
    return get_i18n().current_locale


def N_(msgid: str) -> str:
    """Mark a message id for extraction without translating it (translated where it is used)."""
    return msgid

"""Long HTML messages cut into parts Telegram accepts, never through a tag or an entity.

Telegram measures a message after it has parsed the HTML (4,096 characters of text, counted in
UTF-16 code units) and refuses a part with a tag left open. So a text is first parsed the way
Telegram parses it, into plain text and entities (the standard library's HTML tokenizer does the
tokenizing); the plain text is cut on line breaks (spaces, or anywhere, when a line is longer
than a message); each entity is clipped to the parts it spans; and each part is written back as
HTML by aiogram's own renderer. Nothing is dropped: every character of the text is in one part,
apart from the line breaks or spaces where it was cut.
"""

from __future__ import annotations

from html.parser import HTMLParser

from aiogram.types import MessageEntity
from aiogram.utils.text_decorations import html_decoration

from bot.formatting import TELEGRAM_TEXT_LIMIT

# Telegram's HTML tags and the entity each one makes.
_ENTITY_OF_TAG = {
    "b": "bold", "strong": "bold",
    "i": "italic", "em": "italic",
    "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "blockquote": "blockquote",
}


class TelegramHTMLError(ValueError):
    """The text is not HTML that Telegram would accept."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class _Parser(HTMLParser):
    def __init__(self, entities: bool = True) -> None:
        super().__init__(convert_charrefs=True)
        self.keep_entities = entities
        self.pieces: list[str] = []
        self.units = 0  # in UTF-16 code units, as Telegram counts
        self.open: list[tuple[str, int, dict[str, str | None]]] = []
        self.entities: list[MessageEntity] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "span" and attributes.get("class") == "tg-spoiler":
            tag = "tg-spoiler"
        if tag not in _ENTITY_OF_TAG:
            raise TelegramHTMLError(f"unsupported tag <{tag}>")
        if tag == "a" and not attributes.get("href"):
            raise TelegramHTMLError("a link without href")
        self.open.append((tag, self.units, attributes))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise TelegramHTMLError(f"self-closing tag <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "span":
            tag = "tg-spoiler"
        if not self.open or self.open[-1][0] != tag:
            raise TelegramHTMLError(f"unexpected </{tag}>")
        _, start, attributes = self.open.pop()
        length = self.units - start
        if length == 0 or not self.keep_entities:
            return
        kind = _ENTITY_OF_TAG[tag]
        if kind == "code" and self.open and self.open[-1][0] == "pre":
            language = (attributes.get("class") or "").removeprefix("language-") or None
            self.open[-1][2].setdefault("language", language)
            return
        extra: dict[str, str] = {}
        if kind == "text_link":
            extra["url"] = attributes["href"] or ""
        elif kind == "pre" and attributes.get("language"):
            extra["language"] = attributes["language"] or ""
        elif kind == "blockquote" and "expandable" in attributes:
            kind = "expandable_blockquote"
        self.entities.append(MessageEntity(type=kind, offset=start, length=length, **extra))

    def handle_data(self, data: str) -> None:
        self.pieces.append(data)
        self.units += utf16_len(data)

    def handle_comment(self, data: str) -> None:
        raise TelegramHTMLError("comment")

    def handle_decl(self, decl: str) -> None:
        raise TelegramHTMLError("declaration")

    def handle_pi(self, data: str) -> None:
        raise TelegramHTMLError("processing instruction")

    def unknown_decl(self, data: str) -> None:
        raise TelegramHTMLError("declaration")


def parse_html(text: str, entities: bool = True) -> tuple[str, list[MessageEntity]]:
    """The plain text and entities Telegram makes of an HTML message (offsets in UTF-16);
    without `entities`, the text only (checked all the same)."""
    parser = _Parser(entities)
    parser.feed(text)
    parser.close()
    if parser.open:
        raise TelegramHTMLError(f"<{parser.open[-1][0]}> is never closed")
    if parser.rawdata:  # a "<" that starts no tag, left over by the tokenizer
        raise TelegramHTMLError("unescaped <")
    return "".join(parser.pieces), sorted(parser.entities, key=lambda e: (e.offset, -e.length))


def _cut(text: str, start: int, limit: int) -> tuple[int, int]:
    """Where the part beginning at `start` ends, and where the next one begins (code points)."""
    size = 0
    end = start
    while end < len(text):
        step = 2 if ord(text[end]) > 0xFFFF else 1
        if size + step > limit:
            break
        size += step
        end += 1
    if end == len(text):
        return end, end
    for separator in ("\n", " "):
        at = text.rfind(separator, start, end + 1)
        if at > start:
            return at, at + 1
    return end, end


def split_html(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """`text` (Telegram HTML) as one or more HTML messages of at most `limit` characters each
    once parsed, with every tag closed in the part that opens it and reopened in the next.
    A text whose HTML is within the limit is returned unparsed: parsing only shortens it (tags
    go, a character reference becomes one character)."""
    if utf16_len(text) <= limit:
        return [text]
    plain, entities = parse_html(text)
    if utf16_len(plain) <= limit:
        return [text]
    parts: list[str] = []
    start = 0
    unit_start = 0
    while start < len(plain):
        end, following = _cut(plain, start, limit)
        piece = plain[start:end]
        unit_end = unit_start + utf16_len(piece)
        if piece.strip():
            clipped = []
            for entity in entities:
                low, high = max(entity.offset, unit_start), min(
                    entity.offset + entity.length, unit_end)
                if low < high:
                    clipped.append(entity.model_copy(
                        update={"offset": low - unit_start, "length": high - low}))
            parts.append(html_decoration.unparse(piece, clipped))
        unit_start = unit_end + utf16_len(plain[end:following])
        start = following
    return parts

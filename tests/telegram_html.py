"""A check of Telegram HTML written apart from the bot's own parser: the tags Telegram knows,
each closed in the message that opens it, no bare `<` or `>`, at most 4,096 characters once
parsed. Returns the text a reader sees."""

from __future__ import annotations

import html
import re

TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "tg-spoiler", "span",
        "code", "pre", "a", "blockquote", "tg-emoji"}
TAG = re.compile(r"<(/?)([a-z-]+)((?:\s+[a-z-]+(?:=\"[^\"<>]*\")?)*)\s*>")


def visible_text(message: str) -> str:
    stack: list[str] = []
    for match in TAG.finditer(message):
        closing, name = match.group(1), match.group(2)
        assert name in TAGS, f"unknown tag {name!r}"
        if closing:
            assert stack and stack[-1] == name, f"</{name}> closes nothing open: {message[:80]!r}"
            stack.pop()
        else:
            stack.append(name)
    assert not stack, f"tags left open: {stack}"
    bare = TAG.sub("", message)
    assert "<" not in bare and ">" not in bare, "a bare < or > outside a tag"
    assert not re.search(r"&(?!(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)", bare), "a bare &"
    text = html.unescape(bare)
    assert 0 < len(text.encode("utf-16-le")) // 2 <= 4096, "empty or over 4,096 characters"
    return text


def visible(messages: list[str]) -> str:
    """Every message checked, their visible texts joined by line breaks."""
    return "\n".join(visible_text(m) for m in messages)

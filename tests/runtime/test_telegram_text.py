"""The splitting of long HTML messages: each part valid Telegram HTML under the limit, every
entity kept on the text it covered, nothing dropped, also with characters outside the Basic
Multilingual Plane and lines longer than a message."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.formatting import escape
from bot.telegram_text import TelegramHTMLError, parse_html, split_html, utf16_len
from tests.telegram_html import visible_text

WORDS = st.text(alphabet=st.sampled_from(list("ab <>&\"\n") + ["\U0001F534", "é"]),
                min_size=0, max_size=60)
TAGS = st.sampled_from(["b", "i", "code", "u", "s", 'a href="https://example.org/?a=1&amp;b=2"'])


@st.composite
def messages(draw) -> str:
    pieces = []
    for _ in range(draw(st.integers(1, 40))):
        text = escape(draw(WORDS))
        if draw(st.booleans()):
            tag = draw(TAGS)
            inner = escape(draw(WORDS))
            if draw(st.booleans()):
                inner = f"<i>{inner}</i>{escape(draw(WORDS))}"
            text += f"<{tag}>{inner}</{tag.split()[0]}>"
        pieces.append(text)
    return "\n".join(pieces)


def _bold_ranges(html: str) -> str:
    plain, entities = parse_html(html)
    units = plain.encode("utf-16-le")
    return "".join(units[2 * e.offset:2 * (e.offset + e.length)].decode("utf-16-le")
                   for e in entities if e.type == "bold")


@settings(max_examples=150, deadline=None)
@given(messages(), st.integers(min_value=8, max_value=300))
def test_every_part_is_valid_under_the_limit_and_nothing_is_lost(html, limit):
    plain, _ = parse_html(html)
    parts = split_html(html, limit)
    if utf16_len(plain) <= limit:
        assert parts == [html]  # what fits is sent as written
        return
    joined = ""
    for part in parts:
        text, _ = parse_html(part)
        assert 0 < utf16_len(text) <= limit
        assert text.strip()
        visible_text(part)  # and valid by a check written apart from the parser
        joined += text
    # only the line breaks and spaces where the text was cut are missing
    assert "".join(joined.split()) == "".join(plain.split())


def test_a_long_bold_line_is_closed_and_reopened():
    html = "<b>" + escape("x < y & z " * 1000) + "</b>\n" + "after"
    parts = split_html(html)
    assert len(parts) == 3
    for part in parts:
        visible_text(part)
    assert parts[0].startswith("<b>") and parts[0].endswith("</b>")
    assert parts[1].startswith("<b>")
    assert "".join(_bold_ranges(p) for p in parts).replace(" ", "") == \
        ("x < y & z " * 1000).replace(" ", "")


def test_limit_counts_parsed_text_in_utf16_units():
    short = escape("<" * 4000)  # 16,000 characters of HTML, 4,000 once parsed: one message
    assert split_html(short) == [short]
    emoji = "\U0001F534" * 3000  # 6,000 UTF-16 units
    parts = split_html(emoji)
    assert [utf16_len(p) for p in parts] == [4096, 1904]


@pytest.mark.parametrize("html", [
    "<b>x</b> &amp; &lt;y&gt;", "&#128308; &#x1F534; \U0001F534", '<a href="https://e.org/">a</a>',
    "<pre><code class=\"language-python\">x</code></pre>", "&nbsp;&eacute;",
])
def test_parsing_never_lengthens_a_text(html):
    # split_html returns a text whose HTML is within the limit as it is, unparsed
    assert utf16_len(parse_html(html)[0]) <= utf16_len(html)
    assert split_html(html, limit=utf16_len(html)) == [html]


def test_links_keep_their_address_in_every_part():
    html = '<a href="https://example.org/">' + "word " * 1500 + "</a>"
    parts = split_html(html)
    assert len(parts) == 2
    assert all(p.startswith('<a href="https://example.org/">') for p in parts)


@pytest.mark.parametrize("bad", ["<b>open", "close</b>", "<script>x</script>", "<b><i>x</b></i>"])
def test_html_telegram_would_refuse_is_refused(bad):
    with pytest.raises(TelegramHTMLError):
        parse_html(bad)
    with pytest.raises(TelegramHTMLError):  # checked the same when only the text is wanted
        parse_html(bad, entities=False)


def test_the_text_alone_is_the_same_text():
    html = '<b>bold <i>both</i></b> &amp; <a href="https://e.org/">link</a> \U0001F534'
    assert parse_html(html, entities=False) == (parse_html(html)[0], [])

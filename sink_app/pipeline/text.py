"""Turn HTML, or text that may hold HTML, into clean readable text."""

from __future__ import annotations

import html
import re
from typing import Any

import lxml.etree
import lxml.html

from jobsearch.posting import RemoteType

DESCRIPTION_LIMIT = 20_000
HTML_LIMIT = 2_000_000

_DROPPED = frozenset(
    {"script", "style", "noscript", "template", "svg", "iframe", "object", "head"}
)
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt",
        "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4",
        "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section",
        "table", "tbody", "td", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>")
_ESCAPED_TAG = re.compile(
    r"&lt;/?[a-zA-Z][a-zA-Z0-9]*(?:\s.{0,300}?)?/?&gt;", re.DOTALL
)
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_BARE_BULLET = re.compile(r"^-\n+(?=\S)", re.MULTILINE)


def parse_html(markup: str | bytes, encoding: str | None = None) -> Any | None:
    """Parse a whole document leniently; None when nothing can be parsed."""
    if not markup:
        return None
    parser = lxml.html.HTMLParser(
        encoding=encoding, remove_comments=True, remove_pis=True, no_network=True
    )
    try:
        return lxml.etree.fromstring(markup[:HTML_LIMIT], parser)
    except ValueError:
        # lxml refuses str input that carries an XML encoding declaration.
        if isinstance(markup, str):
            return parse_html(markup.encode("utf-8", "replace"), "utf-8")
        return None
    except (lxml.etree.LxmlError, LookupError):
        return None


def collapse(text: str) -> str:
    """Collapse runs of whitespace to one space and trim."""
    return " ".join(text.split())


def element_text(element: Any, limit: int = DESCRIPTION_LIMIT) -> str:
    """Readable text of an element: tags and scripts dropped, paragraphs kept."""
    pieces: list[str] = []
    size = 0
    walker = lxml.etree.iterwalk(element, events=("start", "end"))
    for event, node in walker:
        if size > limit:
            break
        tag = node.tag.lower() if isinstance(node.tag, str) else ""
        dropped = tag in _DROPPED and node is not element
        if event == "start" and dropped:
            walker.skip_subtree()
        piece = _event_text(event, node, tag, element, dropped)
        pieces.append(piece)
        size += len(piece)
    return tidy_text("".join(pieces), limit)


def html_to_text(fragment: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """Readable text of an HTML fragment, entities decoded by the HTML parser."""
    root = parse_html(f"<html><body><div>{fragment}</div></body></html>")
    if root is None:
        return tidy_text(fragment, limit)
    return element_text(root, limit)


def markup_text(value: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """Text of a string that may be HTML, escaped HTML or escaped text: decode once."""
    value = value[: limit * 5]
    if _ESCAPED_TAG.search(value) and not _TAG.search(value):
        value = html.unescape(value)
    if "<" in value and _TAG.search(value):
        return html_to_text(value, limit)
    return tidy_text(html.unescape(value), limit)


def inline_text(value: str, limit: int = 300) -> str:
    """One line of text from a string that may hold markup or entities."""
    return collapse(markup_text(value, limit * 4))[:limit].strip()


def _event_text(event: str, node: Any, tag: str, root: Any, dropped: bool) -> str:
    if event == "start":
        if dropped:
            return _block_break(tag)
        return _block_break(tag) + ("- " if tag == "li" else "") + _flat(node.text)
    tail = "" if node is root else _flat(node.tail)
    return ("" if tag in ("li", "br", "hr") else _block_break(tag)) + tail


def _flat(text: str | None) -> str:
    # Newlines in HTML source are plain whitespace; only block elements break lines.
    return text.replace("\n", " ").replace("\r", " ") if text else ""


def _block_break(tag: str) -> str:
    if tag in ("p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table"):
        return "\n\n"
    return "\n" if tag in _BLOCKS else ""


def tidy_text(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """Text with spaces collapsed per line, blank runs cut and length bounded."""
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    joined = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    joined = _BARE_BULLET.sub("- ", joined)
    if len(joined) <= limit:
        return joined
    return joined[:limit].rsplit(" ", 1)[0].rstrip() + " …"


_HYBRID = re.compile(r"hybrid|hybride|híbrido|гибрид", re.IGNORECASE)
_REMOTE = re.compile(
    r"remote|telecommut|work\s+from\s+home|\bwfh\b|anywhere|fernarbeit|remoto"
    r"|télétravail|teletrabajo|удал[её]нн?|дистанцион",
    re.IGNORECASE,
)
_ON_SITE = re.compile(r"on-?\s?site|in[-\s]office|vor\s+ort|в\s+офисе", re.IGNORECASE)
_STRICT_REMOTE = re.compile(
    r"(?<!not\s)(?<!not\sa\s)(?<!non-)(?:fully|100\s?%|full)\s+remote|remote[-\s]first"
    r"|(?<!not\sa\s)remote\s+(?:role|position|job|work|contract)|work(?:ing)?\s+remotely"
    r"|work\s+from\s+anywhere|удал[её]нн(?:ая|ый)\s+(?:работа|формат)|полностью\s+удал"
    r"|vollständig\s+remote|100\s?%\s+fernarbeit",
    re.IGNORECASE,
)
_STRICT_HYBRID = re.compile(
    r"hybrid\s+(?:work|working|role|position|model|schedule|setup)|\(hybrid\)"
    r"|гибридн(?:ый|ая)\s+(?:формат|график|работа)",
    re.IGNORECASE,
)


def remote_from_words(text: str) -> RemoteType | None:
    """Remote, Hybrid or On-site as short text (a title, a location) states it."""
    if _HYBRID.search(text):
        return "Hybrid"
    if _REMOTE.search(text):
        return "Remote"
    return "On-site" if _ON_SITE.search(text) else None


def remote_from_prose(text: str) -> RemoteType | None:
    """Remote or Hybrid only where long prose says so in an unambiguous phrase."""
    if _STRICT_HYBRID.search(text):
        return "Hybrid"
    return "Remote" if _STRICT_REMOTE.search(text) else None


_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I
)


def decode_html(data: str | bytes, encoding: str | None = None) -> str:
    """Page bytes as text: the given encoding, a BOM, a meta charset, else UTF-8."""
    if isinstance(data, str):
        return data
    for candidate in (encoding, _sniffed_encoding(data)):
        if candidate:
            try:
                return data.decode(candidate, errors="replace")
            except LookupError:
                continue
    return data.decode("utf-8", errors="replace")


def _sniffed_encoding(data: bytes) -> str | None:
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    match = _META_CHARSET.search(data[:4096])
    return match.group(1).decode("ascii") if match else None

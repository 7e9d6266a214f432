"""Document parsers behind ``parse_document``: markdown, HTML, CSV, JSON and plain text.

Each parser turns text into a ``ParsedDocument``; ``detect_format`` picks one from a file name
or, failing that, from the content itself.
"""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser
from typing import Any, Literal

from markdown_it import MarkdownIt
from markdown_it.token import Token
from pydantic import BaseModel, Field

from fluxio.errors import UsageError

__all__ = [
    "DocumentFormat",
    "Link",
    "ParsedDocument",
    "Section",
    "detect_format",
    "parse",
]

DocumentFormat = Literal["markdown", "html", "csv", "json", "text"]

_EXTENSIONS: dict[str, DocumentFormat] = {
    ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html",
    ".csv": "csv", ".tsv": "csv", ".json": "json", ".txt": "text", ".text": "text",
}  # fmt: skip
_HTML_HINT = re.compile(r"^\s*(<!doctype html|<html|<head|<body)|<(p|div|h[1-6]|a)\b", re.I)
_MARKDOWN_HINT = re.compile(r"^(#{1,6} \S|[-*+] \S|\d+\. \S|```|> )|\[[^\]]+\]\([^)]+\)", re.M)


class Section(BaseModel):
    """A heading and the text under it (until the next heading)."""

    level: int
    title: str
    text: str


class Link(BaseModel):
    """A link: its visible text and its target."""

    text: str
    href: str


class ParsedDocument(BaseModel):
    """What ``parse_document`` returns; fields a format does not have stay empty.

    Attributes:
        format: the format that was parsed.
        title: the document's title (HTML ``<title>``, else the first heading), if any.
        text: the plain text, markup removed.
        sections: headings with their text (markdown and HTML).
        links: links found (markdown and HTML).
        columns: the header row (CSV).
        rows: each row as a mapping from column to value (CSV).
        data: the parsed value (JSON).
        metadata: counts and details, e.g. ``characters``, ``words``, ``delimiter``.
    """

    format: DocumentFormat
    title: str | None = None
    text: str = ""
    sections: list[Section] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)
    columns: list[str] = Field(default_factory=list)
    rows: list[dict[str, Any]] = Field(default_factory=list)
    data: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)


def detect_format(content: str, filename: str | None = None) -> DocumentFormat:
    """The format of ``content``: from the file extension if known, else from the content."""
    if filename:
        suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        if suffix in _EXTENSIONS:
            return _EXTENSIONS[suffix]
    stripped = content.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            json.loads(content)
            return "json"
        except ValueError:
            pass
    if _HTML_HINT.search(content[:4096]):
        return "html"
    if _MARKDOWN_HINT.search(content[:8192]):
        return "markdown"
    return "text"


def parse(content: str, fmt: DocumentFormat, filename: str | None = None) -> ParsedDocument:
    """Parse ``content`` as ``fmt``; raises ``UsageError`` when it is not valid in that format."""
    parsers = {
        "markdown": _markdown,
        "html": _html,
        "csv": lambda text: _csv(text, tab=bool(filename and filename.lower().endswith(".tsv"))),
        "json": _json,
        "text": _text,
    }
    document: ParsedDocument = parsers[fmt](content)
    words = len(document.text.split())
    document.metadata = {"characters": len(content), "words": words, **document.metadata}
    return document


def _text(content: str) -> ParsedDocument:
    paragraphs = [p for p in re.split(r"\n\s*\n", content) if p.strip()]
    return ParsedDocument(
        format="text",
        text=content.strip(),
        metadata={"lines": len(content.splitlines()), "paragraphs": len(paragraphs)},
    )


def _json(content: str) -> ParsedDocument:
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"content is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}; "
            "fix the document or parse it as format 'text'"
        ) from exc
    return ParsedDocument(format="json", text=content.strip(), data=data)


def _csv(content: str, *, tab: bool = False) -> ParsedDocument:
    sample = content[:8192]
    delimiter = "\t" if tab else ","
    if not tab:
        try:
            delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    reader = csv.DictReader(io.StringIO(content), delimiter=delimiter, restkey="_extra", restval="")
    try:
        rows = [dict(row) for row in reader]
    except csv.Error as exc:
        raise UsageError(f"content is not valid CSV at line {reader.line_num}: {exc}") from exc
    columns = list(reader.fieldnames or [])
    return ParsedDocument(
        format="csv",
        text=content.strip(),
        columns=columns,
        rows=rows,
        metadata={"delimiter": delimiter, "row_count": len(rows)},
    )


def _markdown(content: str) -> ParsedDocument:
    tokens = MarkdownIt("commonmark").parse(content)
    sections: list[Section] = []
    links: list[Link] = []
    blocks: list[str] = []
    level = 0
    for token in tokens:
        if token.type == "heading_open":
            level = int(token.tag[1])
        elif token.type == "inline":
            line = _inline_text(token, links)
            if level:
                sections.append(Section(level=level, title=line, text=""))
                level = 0
            else:
                _add_to_section(sections, line)
            blocks.append(line)
        elif token.type in ("fence", "code_block"):
            code = token.content.rstrip("\n")
            _add_to_section(sections, code)
            blocks.append(code)
    title = next(
        (s.title for s in sections if s.level == 1), sections[0].title if sections else None
    )
    return ParsedDocument(
        format="markdown", title=title, text="\n\n".join(blocks), sections=sections, links=links
    )


def _inline_text(token: Token, links: list[Link]) -> str:
    parts: list[str] = []
    href: str | None = None
    start = 0
    for child in token.children or []:
        if child.type in ("text", "code_inline", "html_inline"):
            parts.append(child.content)
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak":
            parts.append("\n")
        elif child.type == "image":
            parts.append(child.content)
        elif child.type == "link_open":
            href, start = str(child.attrs.get("href", "")), len(parts)
        elif child.type == "link_close" and href is not None:
            links.append(Link(text="".join(parts[start:]).strip(), href=href))
            href = None
    return "".join(parts).strip()


def _add_to_section(sections: list[Section], text: str) -> None:
    if sections and text:
        last = sections[-1]
        last.text = f"{last.text}\n\n{text}" if last.text else text


def _html(content: str) -> ParsedDocument:
    parser = _HTMLText()
    parser.feed(content)
    parser.close()
    title = parser.title.strip() or next((s.title for s in parser.sections), None)
    return ParsedDocument(
        format="html",
        title=title or None,
        text=parser.text(),
        sections=parser.sections,
        links=parser.links,
    )


_SKIP = frozenset({"script", "style", "noscript", "template", "head"})
_BLOCKS = frozenset(
    {"p", "div", "br", "li", "tr", "table", "section", "article", "header", "footer", "ul", "ol",
     "blockquote", "pre", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "main", "nav", "aside"}
)  # fmt: skip


class _HTMLText(HTMLParser):
    """Collects the visible text, title, headings and links of an HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.sections: list[Section] = []
        self.links: list[Link] = []
        self._lines: list[str] = [""]
        self._skip = 0
        self._in_title = False
        self._heading: tuple[int, int] | None = None
        self._link: tuple[str, int] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in _SKIP:
            self._skip += 1
        if tag in _BLOCKS:
            self._break()
        if tag in {"h1", "h2", "h3", "h4", "h5", "h6"} and not self._skip:
            self._heading = (int(tag[1]), len(self._lines) - 1)
        if tag == "a":
            self._link = (dict(attrs).get("href") or "", len(self._current()))

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        if tag == "a" and self._link is not None:
            href, start = self._link
            self.links.append(Link(text=self._current()[start:].strip(), href=href))
            self._link = None
        if self._heading is not None and tag == f"h{self._heading[0]}":
            level, first = self._heading
            heading = " ".join(line.strip() for line in self._lines[first:] if line.strip())
            self._lines.append("")
            self.sections.append(Section(level=level, title=heading, text=""))
            self._heading = None
        if tag in _BLOCKS:
            self._break()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skip:
            self._lines[-1] += re.sub(r"\s+", " ", data)

    def _current(self) -> str:
        return self._lines[-1]

    def _break(self) -> None:
        line = self._lines[-1].strip()
        if self.sections and self._heading is None and line:
            _add_to_section(self.sections, line)
        self._lines[-1] = line
        self._lines.append("")

    def text(self) -> str:
        """The visible text, one block per line."""
        self._break()
        return "\n".join(line for line in self._lines if line)

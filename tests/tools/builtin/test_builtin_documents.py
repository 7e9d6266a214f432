"""parse_document on each format (and format detection), chunk_content's boundaries and overlap."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fluxio.errors import ToolInputInvalid, UsageError
from fluxio.tools import Tool
from fluxio.tools.builtin import chunk_content

pytestmark = pytest.mark.anyio

MARKDOWN = """# Release notes

Version **2.0** ships [the new engine](https://example.com/engine).

## Fixes

- a crash on resume
- a leak

```python
print("hi")
```
"""

HTML = """<!doctype html><html><head><title>Quarterly &amp; report</title>
<style>body { color: red }</style><script>alert("x")</script></head>
<body><h1>Summary</h1><p>Revenue <a href="/q3">grew</a> again.</p>
<h2>Risks</h2><div>Supply
   chain</div><noscript>enable js</noscript></body></html>"""


async def test_markdown_gives_title_sections_links_and_plain_text(tools: dict[str, Tool]) -> None:
    doc = await tools["parse_document"].invoke({"content": MARKDOWN, "format": "markdown"})
    assert doc["title"] == "Release notes"
    assert [(s["level"], s["title"]) for s in doc["sections"]] == [
        (1, "Release notes"),
        (2, "Fixes"),
    ]
    assert doc["sections"][0]["text"] == "Version 2.0 ships the new engine."
    assert "a crash on resume" in doc["sections"][1]["text"]
    assert 'print("hi")' in doc["sections"][1]["text"]
    assert doc["links"] == [{"text": "the new engine", "href": "https://example.com/engine"}]
    assert "**" not in doc["text"]
    assert "](" not in doc["text"]


async def test_html_drops_script_and_style_and_keeps_title_links_headings(
    tools: dict[str, Tool],
) -> None:
    doc = await tools["parse_document"].invoke({"content": HTML})
    assert doc["format"] == "html"
    assert doc["title"] == "Quarterly & report"
    assert doc["text"] == "Summary\nRevenue grew again.\nRisks\nSupply chain"
    assert doc["links"] == [{"text": "grew", "href": "/q3"}]
    assert [(s["title"], s["text"]) for s in doc["sections"]] == [
        ("Summary", "Revenue grew again."),
        ("Risks", "Supply chain"),
    ]
    assert "alert" not in doc["text"]
    assert "color" not in doc["text"]


async def test_csv_rows_become_dicts_with_a_sniffed_delimiter(tools: dict[str, Tool]) -> None:
    content = "name;city\nAnn;Utrecht\nBob;Gent\n"
    doc = await tools["parse_document"].invoke({"content": content, "format": "csv"})
    assert doc["columns"] == ["name", "city"]
    assert doc["rows"] == [{"name": "Ann", "city": "Utrecht"}, {"name": "Bob", "city": "Gent"}]
    assert doc["metadata"]["delimiter"] == ";"
    assert doc["metadata"]["row_count"] == 2


async def test_csv_handles_quoted_fields_and_short_rows(tools: dict[str, Tool]) -> None:
    content = 'a,b,c\n"x, y",2,3\nonly\n'
    doc = await tools["parse_document"].invoke({"content": content, "format": "csv"})
    assert doc["rows"] == [{"a": "x, y", "b": "2", "c": "3"}, {"a": "only", "b": "", "c": ""}]


async def test_json_is_parsed_into_data(tools: dict[str, Tool]) -> None:
    doc = await tools["parse_document"].invoke({"content": '{"a": [1, 2]}'})
    assert (doc["format"], doc["data"]) == ("json", {"a": [1, 2]})


async def test_invalid_json_names_line_and_column(tools: dict[str, Tool]) -> None:
    with pytest.raises(UsageError, match=r"not valid JSON: .* line 2 column"):
        await tools["parse_document"].invoke({"content": '{"a":\n oops}', "format": "json"})


async def test_plain_text_counts_words_and_paragraphs(tools: dict[str, Tool]) -> None:
    doc = await tools["parse_document"].invoke({"content": "one two\n\nthree"})
    assert doc["format"] == "text"
    assert (doc["metadata"]["words"], doc["metadata"]["paragraphs"]) == (3, 2)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("report.md", "plain words", "markdown"),
        ("page.HTM", "plain words", "html"),
        ("rows.tsv", "a\tb\n1\t2\n", "csv"),
        ("data.json", "[1]", "json"),
        ("notes.txt", "# not a heading here", "text"),
    ],
)
async def test_format_follows_the_file_extension(
    tools: dict[str, Tool], workspace: Path, name: str, content: str, expected: str
) -> None:
    (workspace / name).write_text(content)
    doc = await tools["parse_document"].invoke({"path": name})
    assert doc["format"] == expected


async def test_tsv_files_split_on_tabs(tools: dict[str, Tool], workspace: Path) -> None:
    (workspace / "rows.tsv").write_text("a\tb\n1\t2\n")
    doc = await tools["parse_document"].invoke({"path": "rows.tsv"})
    assert doc["rows"] == [{"a": "1", "b": "2"}]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("<p>hello</p>", "html"),
        ("## Heading\n\ntext", "markdown"),
        ("see [docs](http://x)", "markdown"),
        ("[1, 2", "text"),
        ("just a sentence.", "text"),
    ],
)
async def test_format_is_detected_from_content(
    tools: dict[str, Tool], content: str, expected: str
) -> None:
    doc = await tools["parse_document"].invoke({"content": content})
    assert doc["format"] == expected


async def test_parse_document_needs_exactly_one_source(tools: dict[str, Tool]) -> None:
    with pytest.raises(UsageError, match=r"exactly one of content or path"):
        await tools["parse_document"].invoke({})
    with pytest.raises(UsageError, match=r"exactly one of content or path"):
        await tools["parse_document"].invoke({"content": "x", "path": "a.md"})


async def test_parse_document_of_a_missing_file_is_a_clear_error(tools: dict[str, Tool]) -> None:
    with pytest.raises(UsageError, match=r"cannot parse 'nope.md': no such file"):
        await tools["parse_document"].invoke({"path": "nope.md"})


async def test_unknown_format_is_refused_by_the_schema(tools: dict[str, Tool]) -> None:
    with pytest.raises(ToolInputInvalid, match=r"'format'"):
        await tools["parse_document"].invoke({"content": "x", "format": "docx"})


TEXT = (
    "Durable runs survive crashes. Each step is journaled before it returns.\n\n"
    "Replays skip completed steps. The journal is the source of truth!\n\n"
    "Tools declare side effects. The kernel writes an intent first."
)


async def test_chunks_end_at_paragraph_boundaries_and_map_to_offsets() -> None:
    result = await chunk_content.invoke({"content": TEXT, "max_size": 80, "overlap": 0})
    chunks = result["chunks"]
    assert [c["text"] for c in chunks] == TEXT.split("\n\n")
    for i, chunk in enumerate(chunks):
        assert chunk["index"] == i
        assert TEXT[chunk["start"] : chunk["end"]] == chunk["text"]
        assert len(chunk["text"]) <= 80


async def test_long_paragraphs_split_at_sentence_boundaries() -> None:
    result = await chunk_content.invoke({"content": TEXT, "max_size": 45, "overlap": 0})
    texts = [c["text"] for c in result["chunks"]]
    assert texts[:2] == [
        "Durable runs survive crashes.",
        "Each step is journaled before it returns.",
    ]
    assert all(t[-1] in ".!" for t in texts)


async def test_overlap_repeats_the_previous_sentence() -> None:
    result = await chunk_content.invoke(
        {"content": TEXT, "max_size": 80, "overlap": 45, "strategy": "sentence"}
    )
    chunks = result["chunks"]
    assert chunks[1]["start"] < chunks[0]["end"]
    assert chunks[1]["text"].startswith("Each step is journaled")
    assert all(len(c["text"]) <= 80 for c in chunks)


async def test_fixed_strategy_cuts_exactly_with_overlap() -> None:
    result = await chunk_content.invoke(
        {"content": "abcdefghij", "max_size": 4, "overlap": 1, "strategy": "fixed"}
    )
    assert [(c["start"], c["text"]) for c in result["chunks"]] == [
        (0, "abcd"),
        (3, "defg"),
        (6, "ghij"),
    ]


async def test_text_without_boundaries_is_cut_at_max_size() -> None:
    result = await chunk_content.invoke({"content": "x" * 25, "max_size": 10, "overlap": 0})
    assert [len(c["text"]) for c in result["chunks"]] == [10, 10, 5]


async def test_chunking_is_deterministic_and_covers_all_words() -> None:
    text = " ".join(f"word{i}." if i % 7 == 0 else f"word{i}" for i in range(500))
    args = {"content": text, "max_size": 120, "overlap": 30}
    first, second = await chunk_content.invoke(args), await chunk_content.invoke(args)
    assert json.dumps(first) == json.dumps(second)
    covered = " ".join(c["text"] for c in first["chunks"]).split()
    assert set(covered) == set(text.split())


async def test_empty_content_gives_no_chunks() -> None:
    result = await chunk_content.invoke({"content": "  \n\n "})
    assert result["chunks"] == []


@pytest.mark.parametrize(("max_size", "overlap"), [(0, 0), (10, 10), (10, -1)])
async def test_invalid_chunk_sizes_are_refused(max_size: int, overlap: int) -> None:
    with pytest.raises(UsageError, match=r"max_size >= 1 and 0 <= overlap < max_size"):
        await chunk_content.invoke({"content": "abc", "max_size": max_size, "overlap": overlap})

"""format_output: sandboxed Jinja2 templates, strict variables, HTML escaping and size caps."""

from __future__ import annotations

import pytest

from fluxio.errors import UsageError
from fluxio.tools.builtin import format_output

pytestmark = pytest.mark.anyio

DATA = {"name": "<Ann>", "items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 1}]}


async def test_template_sees_data_fields_and_data_itself() -> None:
    template = (
        "{{ name }}: {% for i in items %}{{ i.sku }}x{{ i.qty }} {% endfor %}"
        "({{ data['items']|length }})"
    )
    result = await format_output.invoke({"data": DATA, "template": template})
    assert result == {"formatted": "<Ann>: ax2 bx1 (2)", "format": "text"}


async def test_html_format_escapes_values() -> None:
    result = await format_output.invoke(
        {"data": DATA, "format": "html", "template": "<h1>{{ name }}</h1>"}
    )
    assert result["formatted"] == "<h1>&lt;Ann&gt;</h1>"


async def test_without_a_template_data_is_pretty_printed() -> None:
    as_json = await format_output.invoke({"data": {"a": [1]}, "format": "json"})
    as_html = await format_output.invoke({"data": {"a": "<b>"}, "format": "html"})
    as_text = await format_output.invoke({"data": "already text"})
    assert as_json["formatted"] == '{\n  "a": [\n    1\n  ]\n}'
    assert as_html["formatted"] == "<pre>{\n  &quot;a&quot;: &quot;&lt;b&gt;&quot;\n}</pre>"
    assert as_text["formatted"] == "already text"


@pytest.mark.parametrize(
    "template",
    [
        "{{ data.__class__.__mro__ }}",
        "{{ ''.__class__.__base__.__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ items.append(1) }}",
        "{{ name.__len__ }}",
    ],
)
async def test_reaching_unsafe_attributes_is_refused(template: str) -> None:
    with pytest.raises(UsageError, match=r"refused the template: access to attribute .* is unsafe"):
        await format_output.invoke({"data": DATA, "template": template})


async def test_undefined_variable_is_an_error_listing_the_available_ones() -> None:
    with pytest.raises(
        UsageError, match=r"'nmae' is undefined; the template can use: data, items, name"
    ):
        await format_output.invoke({"data": DATA, "template": "Hi {{ nmae }}"})


async def test_template_syntax_error_names_the_line() -> None:
    with pytest.raises(UsageError, match=r"syntax error on line 2"):
        await format_output.invoke({"data": DATA, "template": "ok\n{% for %}"})


async def test_runtime_error_in_a_template_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"the template failed: division by zero"):
        await format_output.invoke({"data": DATA, "template": "{{ 1 / 0 }}"})


async def test_output_over_max_chars_is_refused() -> None:
    template = "{% for i in range(1000) %}0123456789{% endfor %}"
    with pytest.raises(UsageError, match=r"over 5000 characters"):
        await format_output.invoke({"data": {}, "template": template, "max_chars": 5000})


async def test_huge_ranges_are_refused_by_the_sandbox() -> None:
    with pytest.raises(UsageError, match=r"Range too big"):
        await format_output.invoke({"data": {}, "template": "{{ range(10**9)|length }}"})

"""Policy files load in every shape, and every mistake names the file, the line and the fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fluxio.errors import DefinitionError, UsageError
from fluxio.governance.policies import PolicySet, load_policies, parse_policies

ONE = """
id: no-delete
rules:
  - id: forbid-delete
    type: forbid
    condition: tool.name == "delete_file"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policies.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> DefinitionError:
    with pytest.raises(DefinitionError) as caught:
        load_policies(write(tmp_path, text))
    return caught.value


def test_one_policy_a_list_a_policies_key_and_several_documents_all_load(
    tmp_path: Path,
) -> None:
    listed = "- " + textwrap.indent(ONE.strip(), "  ").lstrip()
    keyed = "policies:\n" + textwrap.indent(listed, "  ")
    second = ONE.replace("no-delete", "other")
    for text, count in [(ONE, 1), (listed, 1), (keyed, 1), (ONE + "---\n" + second, 2)]:
        policies = load_policies(write(tmp_path, text))
        assert isinstance(policies, PolicySet)
        assert len(policies) == count


def test_defaults_follow_the_seed_schema() -> None:
    (policy,) = parse_policies(ONE)
    assert (policy.enforcement, policy.violation_action, policy.status) == (
        "strict",
        "block",
        "active",
    )
    assert policy.scope.applies_to.tools == "*"
    assert policy.title == "no-delete"


def test_seed_field_names_policy_id_and_rule_id_are_accepted() -> None:
    text = ONE.replace("id: no-delete", "policy_id: no-delete").replace(
        "- id: forbid", "- rule_id: forbid"
    )
    (policy,) = parse_policies(text)
    assert (policy.id, policy.rules[0].id) == ("no-delete", "forbid-delete")


def test_unknown_rule_type_points_at_its_line_and_suggests_the_right_one(
    tmp_path: Path,
) -> None:
    error = error_of(tmp_path, ONE.replace("type: forbid", "type: forbidd"))
    assert error.line == 5
    assert error.file is not None
    assert error.file.endswith("policies.yaml")
    assert "policy 'no-delete', rules[0].type: unknown rule type 'forbidd'" in error.message
    assert "Did you mean 'forbid'?" in (error.suggestion or "")


def test_unknown_field_suggests_the_field_meant(tmp_path: Path) -> None:
    error = error_of(tmp_path, ONE + "enforcment: warn\n")
    assert error.line == 7
    assert "unknown field `enforcment`" in error.message
    assert "Did you mean 'enforcement'?" in (error.suggestion or "")


def test_bad_cel_shows_the_expression_and_the_parse_error(tmp_path: Path) -> None:
    error = error_of(tmp_path, ONE.replace("==", "="))
    assert error.line == 6
    assert "invalid CEL expression 'tool.name = \"delete_file\"'" in error.message
    assert "at column 11" in error.message
    assert "Compare with ==" in error.message


def test_a_condition_on_an_unknown_variable_is_refused_at_load(tmp_path: Path) -> None:
    error = error_of(tmp_path, ONE.replace("tool.name", "tol.name"))
    assert "unknown variable 'tol'; did you mean 'tool'?" in error.message


@pytest.mark.parametrize(
    ("replace", "by", "line", "fragment"),
    [
        ('    condition: tool.name == "delete_file"\n', "", 4, "a forbid rule needs `condition:`"),
        ("type: forbid", "type: limit", 4, "a limit rule needs `limit:`"),
        ("id: no-delete", "id: no delete", 2, "'no delete' is not a valid id"),
        ("rules:", "status: paused\nrules:", 3, "`status` is 'paused'"),
    ],
)
def test_invalid_fields_name_the_problem_and_the_line(
    tmp_path: Path, replace: str, by: str, line: int, fragment: str
) -> None:
    error = error_of(tmp_path, ONE.replace(replace, by))
    assert error.line == line, error
    assert fragment in str(error)


def test_an_unquoted_yaml_boolean_used_as_an_id_says_to_quote_it(tmp_path: Path) -> None:
    error = error_of(tmp_path, ONE.replace("id: forbid-delete", "id: no"))
    assert error.line == 4
    assert "`id` is the boolean False, not text" in error.message
    assert 'Quote it, e.g. `id: "no"`.' in (error.suggestion or "")


def test_a_missing_rules_list_says_what_to_add(tmp_path: Path) -> None:
    error = error_of(tmp_path, "id: empty\ndescription: nothing\n")
    assert "`rules` is required" in error.message
    assert "at least one rule" in (error.suggestion or "")


def test_limit_and_transform_parameters_are_checked(tmp_path: Path) -> None:
    limit = ONE.replace(
        '    condition: tool.name == "delete_file"',
        "    limit: {count: 0, period: week}",
    ).replace("type: forbid", "type: limit")
    assert "limit.count" in error_of(tmp_path, limit).message
    transform = ONE.replace(
        '    condition: tool.name == "delete_file"',
        "    transform: {redact_paths: ['a..b']}",
    ).replace("type: forbid", "type: transform")
    assert "'a..b' is not a JSON path" in error_of(tmp_path, transform).message


def test_effective_dates_must_be_in_order(tmp_path: Path) -> None:
    text = ONE + "effective_from: 2025-02-01\neffective_until: 2025-01-01\n"
    assert "effective_until must be later than effective_from" in error_of(tmp_path, text).message


def test_repeated_policy_and_rule_ids_are_refused(tmp_path: Path) -> None:
    error = error_of(tmp_path, ONE + "---\n" + ONE)
    assert "policy id 'no-delete' is used twice" in error.message
    assert error.line == 9
    rules = ONE + '  - id: forbid-delete\n    type: forbid\n    condition: "false"\n'
    assert "repeated: ['forbid-delete']" in error_of(tmp_path, rules).message


def test_yaml_syntax_errors_and_repeated_keys_give_the_line(tmp_path: Path) -> None:
    broken = error_of(tmp_path, ONE + "rules: [\n")
    assert broken.line is not None
    assert "cannot parse the policy file" in broken.message
    twice = error_of(tmp_path, ONE + "id: again\n")
    assert (twice.line, "key 'id' appears twice" in twice.message) == (7, True)


def test_an_empty_file_or_a_scalar_is_not_a_policy_file(tmp_path: Path) -> None:
    assert "holds no policies" in error_of(tmp_path, "# nothing here\n").message
    assert "not str" in error_of(tmp_path, "just words\n").message


def test_an_unreadable_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="cannot read the policy file"):
        load_policies(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        (
            "- {id: r, type: forbid, condition: 'true', limit: {count: 1, period: day}}",
            "a forbid rule takes no `limit:`",
        ),
        ("- {id: r, type: transform, transform: {mask: x}}", "a transform needs defaults"),
        ("- {id: r, type: limit, limit: {count: 1, period: day, key: planet}}", "limit.key"),
    ],
)
def test_rule_parameters_must_fit_the_rule_type(rule: str, fragment: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        parse_policies(f"id: p\nrules:\n  {rule}\n")
    assert fragment in str(caught.value)


def test_an_empty_scope_list_matches_nothing_and_is_refused() -> None:
    with pytest.raises(
        DefinitionError, match=r"scope\.applies_to\.tools: an empty list matches nothing"
    ):
        parse_policies(ONE + "scope: {applies_to: {tools: []}}\n")


def test_a_mapping_used_as_a_key_is_refused_with_its_line() -> None:
    with pytest.raises(DefinitionError) as caught:
        parse_policies(ONE + "? {a: 1}\n: x\n")
    assert (caught.value.line, caught.value.message) == (7, "a mapping key must be a plain value")


def test_policy_sets_built_in_code_refuse_repeated_ids() -> None:
    (policy,) = parse_policies(ONE)
    with pytest.raises(UsageError, match="policy ids must be unique; repeated: no-delete"):
        PolicySet([policy, policy])

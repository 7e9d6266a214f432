"""ToolContract: the seed 000 fields, their validation and the seed spellings."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from fluxio.dsl.options import RetryPolicy
from fluxio.errors import UsageError
from fluxio.tools import ErrorSpec, RetrySpec, ToolContract
from fluxio.tools.contract import make_contract, semver_key


def test_defaults_describe_a_safe_active_atomic_tool() -> None:
    contract = ToolContract(name="lookup")
    assert contract.id == "lookup"
    assert contract.version == "1.0.0"
    assert (contract.type, contract.status, contract.audit_level) == ("atomic", "active", "basic")
    assert (contract.side_effects, contract.idempotent, contract.reversible) == (False, True, False)
    assert contract.input_schema == {"type": "object", "properties": {}}
    assert contract.retry_policy() is None


def test_contract_is_frozen() -> None:
    contract = ToolContract(name="lookup")
    with pytest.raises(ValidationError, match="frozen"):
        contract.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize("version", ["1", "1.0", "v1.0.0", "01.0.0", "1.0.0.0"])
def test_version_must_be_semver(version: str) -> None:
    with pytest.raises(ValidationError, match="not a semantic version"):
        ToolContract(name="lookup", version=version)


def test_semver_orders_prereleases_before_releases() -> None:
    versions = ["1.10.0", "1.2.0", "2.0.0-rc.1", "2.0.0", "1.2.0-alpha"]
    assert sorted(versions, key=semver_key) == [
        "1.2.0-alpha",
        "1.2.0",
        "1.10.0",
        "2.0.0-rc.1",
        "2.0.0",
    ]


def test_invalid_json_schema_is_refused_with_its_location() -> None:
    bad = {"type": "object", "properties": {"to": {"type": "strng"}}}
    with pytest.raises(ValidationError, match="not a valid JSON Schema at properties/to/type"):
        ToolContract(name="send", input_schema=bad)
    with pytest.raises(ValidationError, match="not a valid JSON Schema"):
        ToolContract(name="send", output_schema={"minimum": "zero"})


def test_input_schema_must_describe_named_arguments() -> None:
    with pytest.raises(ValidationError, match="must describe an object"):
        ToolContract(name="send", input_schema={"type": "string"})


def test_seed_spellings_are_accepted() -> None:
    contract = ToolContract.model_validate(
        {
            "tool_id": "mail.send.v1",
            "name": "send_email",
            "timeout_ms": 2500,
            "retry_policy": {"max_retries": 2, "backoff": "linear"},
        }
    )
    assert contract.id == "mail.send.v1"
    assert contract.timeout == 2.5
    assert contract.retry == RetrySpec(max_attempts=3, backoff="linear")


def test_retry_accepts_a_kernel_policy_and_gives_it_back() -> None:
    policy = RetryPolicy(max_attempts=5, initial=0.5, retry_on=("rate_limited",))
    contract = ToolContract(name="fetch", retry=policy)  # type: ignore[arg-type]
    assert contract.retry_policy() == policy


def test_reverse_with_implies_reversible_but_cannot_contradict_it() -> None:
    assert ToolContract(name="charge", reverse_with="refund").reversible is True
    with pytest.raises(ValidationError, match="reversible is false"):
        ToolContract(name="charge", reverse_with="refund", reversible=False)


def test_a_tool_cannot_require_and_conflict_with_the_same_tool() -> None:
    with pytest.raises(ValidationError, match="both requires and conflicts_with"):
        ToolContract(name="a", requires=("b",), conflicts_with=("b",))


def test_typed_errors_and_lookup_by_code() -> None:
    contract = ToolContract(
        name="fetch",
        errors=(ErrorSpec(code="rate_limited", recoverable=True), ErrorSpec(code="not_found")),
    )
    spec = contract.error_spec("rate_limited")
    assert spec is not None
    assert spec.recoverable
    assert contract.error_spec("boom") is None


def test_past_sunset_date_counts_as_retired() -> None:
    contract = ToolContract(name="old", status="deprecated", sunset_date=dt.date(2030, 1, 1))
    assert contract.effective_status(dt.date(2029, 12, 31)) == "deprecated"
    assert contract.effective_status(dt.date(2030, 1, 1)) == "retired"


def test_make_contract_explains_every_problem_in_one_usage_error() -> None:
    with pytest.raises(UsageError) as info:
        make_contract({"name": "bad name", "version": "1", "cost_per_call": -1})
    message = str(info.value)
    assert message.startswith("tool 'bad name' has an invalid contract:")
    assert "field 'name'" in message
    assert "field 'version': version '1' is not a semantic version" in message
    assert "field 'cost_per_call'" in message

"""How HTTP failures become ModelError: what retries, how long to wait, what to check."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from fluxio.models.providers.http_errors import provider_message, retry_after, status_error


def test_retry_after_reads_milliseconds_seconds_and_http_dates() -> None:
    assert retry_after({"retry-after-ms": "1500"}) == 1.5
    assert retry_after({"Retry-After": "12"}) == 12.0
    in_a_minute = formatdate(time.time() + 60, usegmt=True)
    assert 55 < (retry_after({"retry-after": in_a_minute}) or 0) <= 60
    assert retry_after({"retry-after": formatdate(time.time() - 60, usegmt=True)}) == 0.0


@pytest.mark.parametrize("headers", [{}, {"retry-after": "soon"}, {"retry-after-ms": "x"}])
def test_unusable_retry_after_is_ignored(headers: dict[str, str]) -> None:
    assert retry_after(headers) is None


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(408, True), (429, True), (500, True), (529, True), (400, False), (404, False)],
)
def test_which_statuses_are_transient(status: int, retryable: bool) -> None:
    assert status_error("model m", status, "msg").retryable is retryable


def test_client_errors_say_what_to_check() -> None:
    error = status_error("model m at http://x", 401, "Incorrect API key provided")
    assert "Incorrect API key provided" in str(error)
    assert "check the key" in str(error)


def test_provider_messages_are_found_in_both_error_shapes() -> None:
    assert provider_message({"message": "openai style"}, "f") == "openai style"
    assert provider_message({"error": {"message": "anthropic style"}}, "f") == "anthropic style"
    assert provider_message("<html>bad gateway</html>", "f") == "<html>bad gateway</html>"
    assert provider_message(None, "fallback") == "fallback"

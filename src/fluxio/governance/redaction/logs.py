"""Keep sensitive values out of logs: a ``logging.Filter`` that redacts every record."""

from __future__ import annotations

import logging

from fluxio.governance.redaction.redactor import Redactor

__all__ = ["RedactingFilter"]


class RedactingFilter(logging.Filter):
    """Rewrites each record's message through a Redactor before any handler formats it.

    ``logging.getLogger("fluxio").addFilter(RedactingFilter(Redactor()))`` covers records
    logged on that logger; add it to a handler to cover everything the handler writes.
    Tracebacks attached to a record are formatted and redacted too.

    Args:
        redactor: the Redactor to apply (``mask`` or ``hash`` mode suits logs best).
        tenant_id: the tenant tokens and digests are scoped to.
    """

    def __init__(self, redactor: Redactor, *, tenant_id: str = "default") -> None:
        """Remember the redactor to apply."""
        super().__init__()
        self.redactor = redactor
        self.tenant_id = tenant_id

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the record's message (and traceback text) by its redacted form."""
        record.msg = self.redactor.redact_text(record.getMessage(), tenant_id=self.tenant_id).text
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor.redact_text(
                record.exc_text, tenant_id=self.tenant_id
            ).text
        return True

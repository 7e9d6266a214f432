"""Redaction and data minimization: find sensitive values and mask, hash or tokenize them.

```python
from fluxio.governance.redaction import Redactor

Redactor().redact_text("mail jane@example.com").text   # 'mail [EMAIL_1]'
```

Built-in recognizers cover emails, phone numbers, payment cards (Luhn), IBANs (mod-97),
national ids (US SSN, UK NINO, Spanish DNI/NIE, Italian codice fiscale), secrets (cloud and
SaaS keys, bearer tokens, private keys, high-entropy assignments) and IP addresses.
"""

from fluxio.governance.redaction.config import DEFAULT_SENSITIVE_KEYS, Mode, RedactionConfig
from fluxio.governance.redaction.findings import PLACEHOLDER_PATTERN, Finding, RedactionResult
from fluxio.governance.redaction.logs import RedactingFilter
from fluxio.governance.redaction.recognizers import BUILTIN_RECOGNIZERS, Entity, Recognizer
from fluxio.governance.redaction.redactor import Redactor
from fluxio.governance.redaction.vault import (
    TOKEN_PATTERN,
    MemoryTokenStore,
    TokenStore,
    Vault,
    VaultEntry,
)

__all__ = [
    "BUILTIN_RECOGNIZERS",
    "DEFAULT_SENSITIVE_KEYS",
    "PLACEHOLDER_PATTERN",
    "TOKEN_PATTERN",
    "Entity",
    "Finding",
    "MemoryTokenStore",
    "Mode",
    "Recognizer",
    "RedactingFilter",
    "RedactionConfig",
    "RedactionResult",
    "Redactor",
    "TokenStore",
    "Vault",
    "VaultEntry",
]

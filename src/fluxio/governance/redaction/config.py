"""What to redact and how: the configuration a ``transform`` policy carries.

```yaml
redaction:
  mode: mask                 # mask | hash | tokenize
  entities: [EMAIL, CARD, SECRET]   # omit for every entity type
  modes: {EMAIL: tokenize}   # per-entity override of mode
  min_confidence: 0.7        # skip recognizers less sure than this
```
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from fluxio.errors import UsageError

__all__ = ["DEFAULT_SENSITIVE_KEYS", "Mode", "RedactionConfig"]

Mode = Literal["mask", "hash", "tokenize"]
"""``mask`` → ``[EMAIL_1]``; ``hash`` → ``[EMAIL:3f9a...]``; ``tokenize`` → ``[EMAIL:tok_...]``."""

DEFAULT_SENSITIVE_KEYS: tuple[str, ...] = (
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "client_secret",
    "api_key",
    "apikey",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "auth_token",
    "private_key",
    "authorization",
    "cookie",
    "set_cookie",
    "pin",
    "cvv",
    "cvc",
)
"""JSON keys whose whole value is a secret, whatever it looks like (``db_password`` too)."""


class RedactionConfig(BaseModel):
    """Which entity types to redact, and how.

    Attributes:
        mode: the default replacement: ``mask``, ``hash`` or ``tokenize`` (needs a vault).
        entities: entity types to redact (``EMAIL``, ``PHONE``, ``CARD``, ``IBAN``,
            ``NATIONAL_ID``, ``SECRET``, ``IP_ADDRESS``, or a custom recognizer's);
            ``None`` means every type the recognizers know.
        modes: per-entity overrides of ``mode``, e.g. ``{"EMAIL": "tokenize"}``.
        min_confidence: recognizers with a lower confidence are not run.
        sensitive_keys: in JSON values, a key equal to one of these (case and ``-``/``_``
            insensitive) or ending in ``_<one of these>`` has its whole value redacted as
            ``SECRET``. Empty to disable.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Mode = "mask"
    entities: tuple[str, ...] | None = None
    modes: dict[str, Mode] = Field(default_factory=dict)
    min_confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    sensitive_keys: tuple[str, ...] = DEFAULT_SENSITIVE_KEYS

    @field_validator("entities")
    @classmethod
    def _upper_entities(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if value is None else tuple(name.upper() for name in value)

    @field_validator("modes")
    @classmethod
    def _upper_modes(cls, value: dict[str, Mode]) -> dict[str, Mode]:
        return {name.upper(): mode for name, mode in value.items()}

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> RedactionConfig:
        """Build from a mapping (e.g. a policy's YAML); bad input raises ``UsageError``."""
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in error['loc']) or 'config'}: {error['msg']}"
                for error in exc.errors()
            )
            raise UsageError(
                f"invalid redaction config: {problems}. Expected keys: mode (mask|hash|tokenize), "
                "entities, modes, min_confidence, sensitive_keys."
            ) from exc

    def mode_for(self, entity: str) -> Mode:
        """The replacement mode used for ``entity``."""
        return self.modes.get(entity, self.mode)

"""How imported OpenAPI tools authenticate: bearer token, API key, or HTTP basic.

The configuration names environment variables, never secrets: the secret is read from the
environment on each call, so it is not stored in a tool contract, a saved tool file or the run
journal. A missing variable fails the call with a message naming it.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from typing import Literal

from fluxio.errors import StepFailed, UsageError

__all__ = ["AuthConfig"]

AuthKind = Literal["bearer", "apikey", "basic"]

_FORMS = (
    "bearer:ENV_VAR, apikey:header:NAME:ENV_VAR, apikey:query:NAME:ENV_VAR "
    "or basic:USER_ENV:PASS_ENV"
)


@dataclass(frozen=True)
class AuthConfig:
    """Credentials for an imported API, by the environment variables that hold them.

    Build one with ``AuthConfig.bearer("TOKEN_VAR")``, ``AuthConfig.api_key("X-API-Key",
    "KEY_VAR")``, ``AuthConfig.basic("USER_VAR", "PASS_VAR")`` or ``AuthConfig.parse(text)``.

    Args:
        kind: ``bearer``, ``apikey`` or ``basic``.
        env: the variable holding the token, the key, or (basic) the user name.
        password_env: (basic) the variable holding the password.
        name: (apikey) the header or query parameter name.
        location: (apikey) ``header`` or ``query``.
    """

    kind: AuthKind
    env: str
    password_env: str | None = None
    name: str | None = None
    location: Literal["header", "query"] = "header"

    @classmethod
    def bearer(cls, env: str) -> AuthConfig:
        """``Authorization: Bearer $env``."""
        return cls("bearer", env)

    @classmethod
    def api_key(
        cls, name: str, env: str, location: Literal["header", "query"] = "header"
    ) -> AuthConfig:
        """An API key from ``$env`` sent as header (or query parameter) ``name``."""
        return cls("apikey", env, name=name, location=location)

    @classmethod
    def basic(cls, user_env: str, password_env: str) -> AuthConfig:
        """HTTP basic auth with the user name and password from two variables."""
        return cls("basic", user_env, password_env=password_env)

    @classmethod
    def parse(cls, text: str) -> AuthConfig:
        """Read the CLI form: ``bearer:ENV``, ``apikey:header|query:NAME:ENV``, ``basic:U:P``.

        Raises:
            UsageError: the text matches none of the forms.
        """
        parts = text.split(":")
        if parts[0] == "bearer" and len(parts) == 2 and parts[1]:
            return cls.bearer(parts[1])
        if parts[0] == "apikey" and len(parts) == 4 and all(parts[2:]) and parts[1] == "query":
            return cls.api_key(parts[2], parts[3], "query")
        if parts[0] == "apikey" and len(parts) == 4 and all(parts[2:]) and parts[1] == "header":
            return cls.api_key(parts[2], parts[3], "header")
        if parts[0] == "basic" and len(parts) == 3 and parts[1] and parts[2]:
            return cls.basic(parts[1], parts[2])
        raise UsageError(f"--auth {text!r} is not understood; use {_FORMS}")

    def as_option(self) -> str:
        """The CLI form of this configuration (``parse(c.as_option()) == c``)."""
        if self.kind == "bearer":
            return f"bearer:{self.env}"
        if self.kind == "apikey":
            return f"apikey:{self.location}:{self.name}:{self.env}"
        return f"basic:{self.env}:{self.password_env}"

    def describe(self) -> str:
        """What is sent and where it comes from, without the secret (for listings)."""
        if self.kind == "bearer":
            return f"bearer token from ${self.env}"
        if self.kind == "apikey":
            return f"API key in {self.location} {self.name!r} from ${self.env}"
        return f"basic auth from ${self.env} and ${self.password_env}"

    def secret_in_url(self) -> str | None:
        """The API key when it travels in the query string (so error messages can hide it)."""
        if self.kind == "apikey" and self.location == "query":
            return os.environ.get(self.env) or None
        return None

    def apply(self, headers: dict[str, str], query: dict[str, object], tool: str) -> None:
        """Add the credentials to a request being built, reading them from the environment.

        Raises:
            StepFailed: (not retryable) a variable is not set.
        """
        secret = self._read(self.env, tool)
        if self.kind == "bearer":
            headers["Authorization"] = f"Bearer {secret}"
        elif self.kind == "apikey" and self.location == "query":
            query[str(self.name)] = secret
        elif self.kind == "apikey":
            headers[str(self.name)] = secret
        else:
            password = self._read(str(self.password_env), tool)
            token = base64.b64encode(f"{secret}:{password}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {token}"

    def _read(self, variable: str, tool: str) -> str:
        value = os.environ.get(variable)
        if not value:
            raise StepFailed(
                f"tool {tool!r} authenticates with {self.describe()}, but ${variable} is not "
                "set; export it in the worker's environment and retry",
                retryable=False,
                error_type="AuthNotConfigured",
            )
        return value

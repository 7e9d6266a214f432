"""The ``fluxio`` command line: typer commands over the same library API (see docs/cli.md)."""

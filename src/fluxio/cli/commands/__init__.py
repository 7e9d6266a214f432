"""The CLI's commands, one module per area; ``fluxio.cli.main`` assembles them."""

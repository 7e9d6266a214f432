"""The individual store checks behind ``fluxio.testing.conformance``, grouped by concern."""

from fluxio.testing.store_checks.journal import JOURNAL_CHECKS
from fluxio.testing.store_checks.leases import LEASE_CHECKS
from fluxio.testing.store_checks.limits import LIMIT_CHECKS
from fluxio.testing.store_checks.runs import RUN_CHECKS
from fluxio.testing.store_checks.signals import SIGNAL_CHECKS

__all__ = ["JOURNAL_CHECKS", "LEASE_CHECKS", "LIMIT_CHECKS", "RUN_CHECKS", "SIGNAL_CHECKS"]

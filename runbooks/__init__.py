"""runbooks: ordered, confirmed, recorded runbook automation over SSH."""

__version__ = "0.1.0"

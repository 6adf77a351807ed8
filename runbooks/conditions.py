"""`when:` conditions live in runbooks/lang/expr.py (this name stays for importers)."""

from runbooks.lang.expr import compile_condition, evaluate

__all__ = ["compile_condition", "evaluate"]

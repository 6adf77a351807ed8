"""Operator-safety tests reuse the rollback tests' host: the sandbox behind a real sshd."""

from tests.rollback.conftest import host  # noqa: F401 - the fixture, for tests/operator

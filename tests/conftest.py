"""Shared test configuration.

Hypothesis profiles: the default run keeps every property and fuzz test to a few
thousand examples; ``--hypothesis-profile=nightly`` runs 100,000 per test (the
reliability fuzz included), with no deadline.

The tests' helper modules (``oracle``, ``threads``) are imported by name: pytest puts
this folder on the path (``pythonpath`` in pyproject.toml), so no test edits sys.path.
"""
from hypothesis import HealthCheck, settings

settings.register_profile("nightly", max_examples=100_000, deadline=None,
                          suppress_health_check=list(HealthCheck))

"""Shared test configuration.

Hypothesis profiles: the default run keeps every property and fuzz test to a few
thousand examples; ``--hypothesis-profile=nightly`` runs 100,000 per test (the
reliability fuzz included), with no deadline.
"""
from hypothesis import HealthCheck, settings

settings.register_profile("nightly", max_examples=100_000, deadline=None,
                          suppress_health_check=list(HealthCheck))

"""Shared pytest configuration.

Hypothesis runs derandomized by default (profile "ci") so every run of the suite explores the same
examples; set HYPOTHESIS_PROFILE=dev for fresh random examples when hunting bugs locally.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

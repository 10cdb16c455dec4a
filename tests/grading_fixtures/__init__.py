"""Test-only exercise modules and notebooks for tests/test_grading.py."""

"""Broken configurations, one per diagnostic code; collected by test_diagnostic_codes.py."""

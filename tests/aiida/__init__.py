"""Tests of the AiiDA adapter; skipped, with the reason, where aiida-core is not installed."""

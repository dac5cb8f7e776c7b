"""Tests of the scenario language, generators, oracle and catalog (mirrors `scenarios/`)."""

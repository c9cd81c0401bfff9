"""Benchmarks behind `dynamical bench ...`; each returns a pydantic result the CLI prints."""

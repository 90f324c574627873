"""Test tooling that ships with the package (fault injection, the config fuzzer), for tests and bench."""

"""Test tooling that ships with the package (fault injection, the config fuzzer, throwaway PostgreSQL
schemas, sample plays), for tests and bench; the product never imports it."""

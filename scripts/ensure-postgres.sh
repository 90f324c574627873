#!/usr/bin/env bash
# Make sure the PostgreSQL server the tests use (127.0.0.1:5432) answers; start the local cluster
# if it is installed but stopped. Prints one line either way; never fails the build by itself:
# the PostgreSQL tests fail loudly with their own message when the server is missing.
set -u
if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then exit 0; fi
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  for version in $(ls /etc/postgresql); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
  done
  for _ in $(seq 1 20); do
    pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && { echo "PostgreSQL started"; exit 0; }
    sleep 0.5
  done
fi
echo "PostgreSQL is not reachable at 127.0.0.1:5432; its tests will fail (set SIGNAGE_SKIP_POSTGRES=1 to skip them)" >&2

"""Benchmarks: `make bench` runs them all and writes benchmarks/RESULTS.md.

The ones that build the portal in this process run it as a test setting (like tests/conftest.py): a
fresh checkout has no .env, and without a setting the portal is production and refuses its defaults.
The production shape (benchmarks.load, benchmarks.pages) runs in processes of its own, with
APP_ENV=production set explicitly."""

import os

os.environ.setdefault("APP_ENV", "test")

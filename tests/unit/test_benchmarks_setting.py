"""`make bench` in a fresh checkout: no .env, no APP_ENV."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What benchmarks.password_check and benchmarks.edasi_latency do first: the portal, in this process.
BUILD_PORTAL = """
import benchmarks
from webapp import create_app
create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True})
print("built")
"""


def test_benchmarks_build_the_portal_without_any_setting(tmp_path):
    """Without APP_ENV the portal is production and refuses its defaults: `make bench` stopped at its first
    benchmark. The benchmarks run it as a test setting."""
    env = {name: value for name, value in os.environ.items() if name != "APP_ENV"}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(  # noqa: S603 - our own code
        [sys.executable, "-c", BUILD_PORTAL],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "built"

"""The production shape for the tests in this folder: see shape.py, which starts it (and is shared with
the load benchmark, benchmarks/load.py)."""

import time

import pytest

from tests.production.shape import (  # noqa: F401 - the tests import these from here
    ROOT,
    Browser,
    Service,
    free_port,
    running_stack,
    wait_until,
)

OUTPUT = ROOT / "test-output"


def report(line: str) -> None:
    """A figure worth keeping: printed, and added to test-output/production.txt."""
    print(line)
    OUTPUT.mkdir(exist_ok=True)
    with (OUTPUT / "production.txt").open("a") as file:
        file.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Two web instances (`a`, `b`, one worker each) and two senders, ready; torn down whole."""
    started = time.monotonic()
    with running_stack(tmp_path_factory.mktemp("production")) as stack:
        report(f"production shape up in {time.monotonic() - started:.1f}s")
        yield stack

"""Fixtures for the dev mailbox tests (the `mailbox` fixture itself comes from the plugin)."""

import pytest
from mailbox_helpers import call


@pytest.fixture
def api(mailbox):
    return lambda method, path, body=None: call(mailbox, method, path, body)

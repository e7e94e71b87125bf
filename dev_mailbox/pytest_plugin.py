"""pytest plugin (loaded in every run through the pytest11 entry point): the `mailbox` fixture.

It imports nothing heavy and starts nothing until a test asks for the fixture.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from dev_mailbox.testing import MailboxHandle


@pytest.fixture
def mailbox(tmp_path: Path) -> Iterator["MailboxHandle"]:
    """A running dev mailbox on free ports with its own database; see dev_mailbox/README.md."""
    from dev_mailbox.testing import MailboxHandle

    handle = MailboxHandle(tmp_path / "dev_mailbox.sqlite3")
    handle.start()
    try:
        yield handle
    finally:
        handle.stop()

"""An asyncio event loop in a thread of its own: the mailbox runs its SMTP sessions and its
store's writes on one (see Mailbox), and a store used on its own runs one for its writes."""

import asyncio
import threading


class LoopThread:
    """An event loop running in a daemon thread from construction until stop()."""

    def __init__(self, name: str = "mailbox") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.loop.run_forever()
        # Callbacks handed over while the loop was stopping run now, not left waiting.
        self.loop.call_soon(self.loop.stop)
        self.loop.run_forever()

    def stop(self) -> None:
        """Stop the loop and wait for its thread to end; the loop stays open until close()."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()

    def close(self) -> None:
        self.loop.close()

"""A loopback TCP proxy that can cut a node off from the server (tests only).

Modes: ``pass`` forwards both ways; ``blackhole`` holds every byte (a partition: connections
stay open, nothing arrives); ``drop_replies`` forwards requests but swallows the server's
answers; ``drop_after_commit`` forwards until a client sends ``COMMIT``, then swallows the
answers (a commit whose reply is lost). With ``arm`` set, only a ``COMMIT`` sent on a connection
that has received ``arm`` from the server counts: the commit of a transaction that read those
rows, not an empty claim round's. Runs on its own thread with its own event loop.
"""

from __future__ import annotations

import asyncio
import threading


class Proxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.mode = "pass"
        #: the request whose reply ``drop_after_commit`` swallows (and every later one)
        self.commit_marker = b"COMMIT"
        #: when set, ``commit_marker`` counts only on a connection that received these bytes
        self.arm: bytes | None = None
        self.port = 0
        self._swallow = False
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True)
        self._writers: set[asyncio.StreamWriter] = set()

    def __enter__(self) -> Proxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def set(self, mode: str) -> None:
        self.mode = mode
        self._swallow = False

    def cut(self) -> None:
        """Close every connection now (a reset)."""

        def close_all() -> None:
            for w in list(self._writers):
                w.close()

        self._loop.call_soon_threadsafe(close_all)

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()
        for w in list(self._writers):
            w.close()
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.run_until_complete(server.wait_closed())
        self._loop.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        armed: list[bool] = [False]  # this connection has received ``arm``
        await asyncio.gather(
            self._pump(reader, up_writer, armed, upstream=True),
            self._pump(up_reader, writer, armed, upstream=False),
            return_exceptions=True,
        )
        self._writers -= {writer, up_writer}

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        armed: list[bool],
        upstream: bool,
    ) -> None:
        try:
            while data := await reader.read(65536):
                while self.mode == "blackhole":
                    await asyncio.sleep(0.02)  # hold the bytes: they arrive after the heal
                if not upstream and self.arm is not None and self.arm in data:
                    armed[0] = True
                if (
                    upstream
                    and self.mode == "drop_after_commit"
                    and self.commit_marker in data
                    and (self.arm is None or armed[0])
                ):
                    self._swallow = True
                if not upstream and (
                    self.mode == "drop_replies"
                    or (self.mode == "drop_after_commit" and self._swallow)
                ):
                    continue
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

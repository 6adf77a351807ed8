"""A TCP relay on 127.0.0.1 in front of sshd: it counts the bytes that really crossed the
wire (SSH framing and encryption included) and emulates the network between an operator
and prod, independently of the tool measured.

Latency: every byte is delivered RTT/2 after it was read, in each direction, and the
upstream connection is made 1.5 RTT after the client's: a TCP handshake's SYN, SYN-ACK and
ACK, so the server's banner reaches the client 2 RTT after connect() (1 RTT of TCP, 1 of
banner), as over a real link. Threads, one reader and one timed writer per direction; the
RTT can be changed between runs (`rtt_ms`), a connection keeps the RTT it started with.
`blackhole()` stops forwarding without closing anything: a link that vanished (a phone
hotspot that dropped), which neither end notices.
"""

from __future__ import annotations

import queue
import socket
import threading
import time


class LatencyRelay:
    def __init__(self, upstream_port: int, rtt_ms: float = 0.0, connect_rtts: float = 1.5,
                 upstream_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self.rtt_ms = rtt_ms
        self.connect_rtts = connect_rtts
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.to_client = 0  # bytes host -> operator
        self.to_server = 0
        self.accepted: list[float] = []  # perf_counter() of each client connection
        self.accepted_wall: list[float] = []  # the same, as time.time() (to compare with the host's clock)
        self._lock = threading.Lock()
        self._stop = False
        self._holes = threading.Event()
        threading.Thread(target=self._accept, daemon=True, name=f"relay-{self.port}").start()

    def reset(self) -> None:
        with self._lock:
            self.to_client = self.to_server = 0
            self.accepted.clear()
            self.accepted_wall.clear()

    def blackhole(self) -> None:
        """From now on nothing is forwarded and nothing is closed."""
        self._holes.set()

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self.accepted.append(time.perf_counter())
                self.accepted_wall.append(time.time())
            threading.Thread(target=self._serve, args=(client, self.rtt_ms / 1000.0), daemon=True).start()

    def _serve(self, client: socket.socket, rtt: float) -> None:
        upstream: list[socket.socket] = []
        connected = threading.Event()
        up_q: queue.Queue[tuple[float, bytes | None]] = queue.Queue()
        threading.Thread(target=self._read, args=(client, up_q, rtt / 2, "to_server"), daemon=True).start()
        threading.Thread(target=self._write, args=(up_q, upstream, connected), daemon=True).start()
        time.sleep(self.connect_rtts * rtt)
        try:
            server = socket.create_connection(self.upstream)
        except OSError:
            client.close()
            up_q.put((0.0, None))
            connected.set()
            return
        server.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        upstream.append(server)
        connected.set()
        down_q: queue.Queue[tuple[float, bytes | None]] = queue.Queue()
        threading.Thread(target=self._read, args=(server, down_q, rtt / 2, "to_client"), daemon=True).start()
        ready = threading.Event()
        ready.set()
        self._write(down_q, [client], ready)
        self._done(client, server)

    def _done(self, client: socket.socket, server: socket.socket) -> None:
        """Both sockets closed once the host's side has ended (the client's EOF was
        forwarded or the host closed): what a TCP connection's FINs would do."""
        for s in (client, server):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _read(self, src: socket.socket, q: queue.Queue[tuple[float, bytes | None]], delay: float,
              counter: str) -> None:
        try:
            while True:
                data = src.recv(1 << 16)
                if not data:
                    break
                if self._holes.is_set():
                    continue
                q.put((time.perf_counter() + delay, data))
                with self._lock:
                    setattr(self, counter, getattr(self, counter) + len(data))
        except OSError:
            pass
        if not self._holes.is_set():
            q.put((time.perf_counter() + delay, None))

    def _write(self, q: queue.Queue[tuple[float, bytes | None]], dst: list[socket.socket],
               ready: threading.Event) -> None:
        ready.wait()
        while True:
            due, data = q.get()
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            if not dst:
                return
            try:
                if data is None:
                    dst[0].shutdown(socket.SHUT_WR)
                    return
                dst[0].sendall(data)
            except OSError:
                return

    def close(self) -> None:
        self._stop = True
        self.sock.close()


class CountingProxy(LatencyRelay):
    """The relay with no added latency: bytes on the wire only."""

    def __init__(self, upstream_port: int) -> None:
        super().__init__(upstream_port, rtt_ms=0.0)

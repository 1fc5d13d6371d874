"""An endless tree of small pages on 127.0.0.1, for ``bench_frontier.py``'s memory test.

Every page ``/n/{k}`` is 2-3 KB of HTML linking to 100 pages never linked before,
``/n/{k*100+1}`` ... ``/n/{k*100+100}``; anything else is a 404. HTTP/1.1 keep-alive with
Content-Length, one thread per connection. Prints its port on the first line of stdout,
then serves until killed. Not part of parcrawl: a yardstick only.

Usage: ``python benchmarks/tree_server.py [--port 0]``
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FANOUT = 100
PAGE = re.compile(r"/n/(\d+)")


def page(k: int) -> bytes:
    """The HTML of ``/n/{k}``: a title, a sentence, and ``FANOUT`` links to new pages."""
    first = k * FANOUT + 1
    links = "\n".join(f'<a href="/n/{first + i}">{i + 1}</a>' for i in range(FANOUT))
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Node {k}</title>'
        f"</head>\n<body><h1>Node {k}</h1><p>Children of node {k}:</p>\n{links}\n"
        "</body></html>\n"
    ).encode()


class TreeHandler(BaseHTTPRequestHandler):
    """Answers ``/n/{k}`` with its page, anything else with a short 404."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        match = PAGE.fullmatch(self.path)
        if match is None:
            status, body = 404, b"<!doctype html><title>404</title><p>Not found</p>\n"
        else:
            status, body = 200, page(int(match.group(1)))
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """No access log: it would cost more than the pages."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve an endless tree of pages on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), TreeHandler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

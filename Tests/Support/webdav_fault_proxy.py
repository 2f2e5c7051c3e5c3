#!/usr/bin/env python3
"""A reverse proxy in front of a real WebDAV server that injects the faults the target tests need.

Every request is forwarded to --upstream unchanged (streamed body, Authorization included) and logged as one line
"METHOD PATH STATUS" to --log, in the order the answers were sent. Faults apply to PUTs of payload parts only:
  --fail-puts N   the first N part PUTs are answered 503 with Retry-After: 1 (after their body was read)
  --drop-put K    the K-th part PUT (counting every attempt) is cut off halfway through its body: no answer
  --stall-put K   the K-th part PUT reads its body, then hangs (the test kills the client)
"""
import argparse
import http.client
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

args = None
lock = threading.Lock()
part_puts = 0
failed = 0


def log(line):
    with lock:
        with open(args.log, "a") as out:
            out.write(line + "\n")


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def handle_any(self):
        global part_puts, failed
        length = int(self.headers.get("Content-Length") or 0)
        is_part = self.command == "PUT" and "/payload.part" in self.path
        number = 0
        if is_part:
            with lock:
                part_puts += 1
                number = part_puts
        if is_part and number == args.drop_put:
            self.rfile.read(length // 2)
            log(f"{self.command} {self.path} DROPPED")
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        if is_part and number == args.stall_put:
            log(f"{self.command} {self.path} STALLED")
            time.sleep(3600)
            return
        if is_part:
            with lock:
                fail = failed < args.fail_puts
                if fail:
                    failed += 1
            if fail:
                log(f"{self.command} {self.path} 503")
                self.send_response(503)
                self.send_header("Retry-After", "1")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        upstream = urlsplit(args.upstream)
        connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection", "content-length")}
        headers["Content-Length"] = str(len(body))
        connection.request(self.command, self.path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        log(f"{self.command} {self.path} {response.status}")
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in ("connection", "transfer-encoding", "content-length", "keep-alive"):
                self.send_header(key, value)
        # A HEAD answer has no body but tells the size of the resource.
        length = response.getheader("Content-Length") if self.command == "HEAD" else None
        self.send_header("Content-Length", length if length is not None else str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        connection.close()

    do_GET = do_PUT = do_HEAD = do_DELETE = do_MKCOL = do_PROPFIND = do_OPTIONS = do_MOVE = do_COPY = handle_any


def main():
    global args
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--fail-puts", type=int, default=0)
    parser.add_argument("--drop-put", type=int, default=0)
    parser.add_argument("--stall-put", type=int, default=0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Proxy)
    server.daemon_threads = True
    print("listening", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())

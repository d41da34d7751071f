#!/usr/bin/env python3
"""Bounded HTTP/2 abuse probes against `sse serve --tls-cert`, written with
the `h2` package (PyPI). Each probe opens its own TLS connection (ALPN h2)
to 127.0.0.1:PORT, misbehaves for a bounded number of frames or seconds,
and prints one JSON object saying what the server did.

    probes.py PROBE PORT CAFILE

Probes:
  rapid_reset         open a stream and reset it at once, 20 000 times
  continuation_flood  one HEADERS without END_HEADERS, then CONTINUATION
                      frames without end (up to 64 MiB)
  ping_flood          100 000 PINGs while never reading an answer
  settings_flood      20 000 SETTINGS frames while never reading
  many_streams        200 event streams on one connection
  stalled_stream      two event streams; one never opens its window
  cookie_fields       an event stream whose token is in the second of two
                      `cookie` fields (RFC 9113 §8.2.3); TOKEN follows CAFILE
"""

import json
import socket
import ssl
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings


def connect(port, cafile, settings=None):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.set_alpn_protocols(["h2"])
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock = ctx.wrap_socket(raw, server_hostname="localhost")
    assert sock.selected_alpn_protocol() == "h2", sock.selected_alpn_protocol()
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    if settings:
        conn.update_settings(settings)
    sock.sendall(conn.data_to_send())
    return sock, conn


def headers(port, path):
    return [
        (":method", "GET"),
        (":scheme", "https"),
        (":authority", f"localhost:{port}"),
        (":path", path),
        ("accept", "text/event-stream"),
    ]


def drain(sock, conn, seconds):
    """Reads for up to `seconds`; returns the events seen and whether the
    server closed the connection."""
    sock.settimeout(0.2)
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionError, ssl.SSLError, OSError):
            return seen, True
        if not data:
            return seen, True
        try:
            seen.extend(conn.receive_data(data))
        except h2.exceptions.ProtocolError:
            return seen, True
        out = conn.data_to_send()
        if out:
            try:
                sock.sendall(out)
            except (ConnectionError, ssl.SSLError, OSError):
                return seen, True
    return seen, False


def goaway(events):
    for e in events:
        if isinstance(e, h2.events.ConnectionTerminated):
            return str(e.error_code)
    return None


def send_quietly(sock, data):
    try:
        sock.sendall(data)
        return True
    except (ConnectionError, ssl.SSLError, OSError):
        return False


def rapid_reset(port, cafile):
    sock, conn = connect(port, cafile)
    sent = 0
    closed = False
    start = time.monotonic()
    for _ in range(20000):
        sid = conn.get_next_available_stream_id()
        try:
            conn.send_headers(sid, headers(port, "/events"), end_stream=True)
            conn.reset_stream(sid)
        except h2.exceptions.ProtocolError:
            closed = True
            break
        if not send_quietly(sock, conn.data_to_send()):
            closed = True
            break
        sent += 1
        if sent % 500 == 0:
            events, closed = drain(sock, conn, 0.01)
            if closed or goaway(events):
                closed = True
                break
    events, gone = drain(sock, conn, 2)
    return {"sent": sent, "closed": closed or gone or goaway(events) is not None,
            "goaway": goaway(events), "seconds": round(time.monotonic() - start, 2)}


def continuation_flood(port, cafile):
    sock, conn = connect(port, cafile)
    drain(sock, conn, 0.3)
    # A HEADERS frame without END_HEADERS (flags 0x1: END_STREAM only),
    # then CONTINUATION frames (type 0x9) that never end the block, each
    # carrying a literal header of 16 KiB minus the frame head.
    block = bytes([0x40, 0x01, ord("x"), 0x7F]) + b"\xff\x7f" + b"a" * 100

    def frame(kind, flags, stream, payload):
        return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload

    sent = 0
    ok = send_quietly(sock, frame(0x1, 0x1, 1, block))
    chunk = frame(0x9, 0x0, 1, b"b" * 16000)
    start = time.monotonic()
    while ok and sent < 64 * 1024 * 1024 and time.monotonic() - start < 20:
        ok = send_quietly(sock, chunk)
        if ok:
            sent += len(chunk)
    events, gone = drain(sock, conn, 2)
    return {"sent_bytes": sent, "closed": (not ok) or gone or goaway(events) is not None,
            "goaway": goaway(events), "seconds": round(time.monotonic() - start, 2)}


def flood(port, cafile, count, frame):
    """Sends `count` small frames (`frame(conn, n)` queues the n-th), 100
    at a time, for at most 20 s, never reading an answer."""
    sock, conn = connect(port, cafile)
    start = time.monotonic()
    sent = 0
    ok = True
    sock.settimeout(5)
    while ok and sent < count and time.monotonic() - start < 20:
        for _ in range(100):
            frame(conn, sent)
            sent += 1
        ok = send_quietly(sock, conn.data_to_send())
    events, gone = drain(sock, conn, 2)
    return {"sent": sent, "closed": (not ok) or gone, "goaway": goaway(events),
            "seconds": round(time.monotonic() - start, 2)}


def ping_flood(port, cafile):
    return flood(port, cafile, 100000, lambda conn, n: conn.ping(n.to_bytes(8, "big")))


def settings_flood(port, cafile):
    setting = h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS
    return flood(port, cafile, 20000, lambda conn, n: conn.update_settings({setting: 100 + n % 7}))


def many_streams(port, cafile):
    sock, conn = connect(port, cafile)
    events, _ = drain(sock, conn, 0.5)
    limit = conn.remote_settings.max_concurrent_streams
    opened = 0
    refused = 0
    # Open 200 regardless of the advertised limit, as a hostile client
    # would: make the library believe the server allows 1000.
    conn.remote_settings[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS] = 1000
    conn.remote_settings.acknowledge()
    for _ in range(200):
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, headers(port, "/events"), end_stream=True)
        opened += 1
    send_quietly(sock, conn.data_to_send())
    events, gone = drain(sock, conn, 2)
    answered = sum(1 for e in events if isinstance(e, h2.events.ResponseReceived))
    refused = sum(1 for e in events if isinstance(e, h2.events.StreamReset))
    return {"advertised": limit, "opened": opened, "answered": answered, "refused": refused, "closed": gone}


def stalled_stream(port, cafile):
    # A 1 KiB initial window for every stream; the connection's window is
    # large. Stream 1 never gets WINDOW_UPDATE; stream 3 is acknowledged.
    sock, conn = connect(port, cafile, {h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1024})
    conn.increment_flow_control_window(16 * 1024 * 1024)
    stalled = conn.get_next_available_stream_id()
    conn.send_headers(stalled, headers(port, "/events?topic=load"), end_stream=True)
    healthy = conn.get_next_available_stream_id()
    conn.send_headers(healthy, headers(port, "/events?topic=load"), end_stream=True)
    sock.sendall(conn.data_to_send())
    print(json.dumps({"ready": True}), flush=True)
    sock.settimeout(0.2)
    got = {stalled: 0, healthy: 0}
    reset_at = None
    start = time.monotonic()
    closed = False
    while time.monotonic() - start < float(sys.argv[4] if len(sys.argv) > 4 else 20):
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionError, ssl.SSLError, OSError):
            closed = True
            break
        if not data:
            closed = True
            break
        for e in conn.receive_data(data):
            if isinstance(e, h2.events.DataReceived):
                got[e.stream_id] = got.get(e.stream_id, 0) + len(e.data)
                if e.stream_id == healthy:
                    conn.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
            if isinstance(e, h2.events.StreamReset) and e.stream_id == stalled and reset_at is None:
                reset_at = round(time.monotonic() - start, 2)
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
    return {"stalled_bytes": got[stalled], "healthy_bytes": got[healthy], "stalled_reset_after": reset_at,
            "connection_closed": closed, "healthy_open": healthy in conn.streams and not closed}


def cookie_fields(port, cafile):
    token = sys.argv[4]
    sock, conn = connect(port, cafile)
    sid = conn.get_next_available_stream_id()
    fields = headers(port, "/events?topic=orders/*") + [("cookie", "theme=dark"), ("cookie", f"sse_auth={token}")]
    conn.send_headers(sid, fields, end_stream=True)
    sock.sendall(conn.data_to_send())
    print(json.dumps({"ready": True}), flush=True)
    status, body = None, b""
    sock.settimeout(0.2)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and b"data: for" not in body:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        if not data:
            break
        for e in conn.receive_data(data):
            if isinstance(e, h2.events.ResponseReceived):
                status = dict(e.headers).get(":status")
            if isinstance(e, h2.events.DataReceived):
                body += e.data
                conn.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
    return {"status": status, "body": body.decode("utf-8", "replace")}


PROBES = {f.__name__: f for f in [rapid_reset, continuation_flood, ping_flood, settings_flood, many_streams,
                                  stalled_stream, cookie_fields]}

if __name__ == "__main__":
    name, port, cafile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    print(json.dumps(PROBES[name](port, cafile)), flush=True)

"""Delay from an event being recorded to its reaching a subscriber on another API process.

POSTs jobs of about a tenth of a second (50 recorded iterations each, so that the subscriber waits while the job runs)
to one base URL, one at a time, and reads each job's event stream from the other.

Completed event: the wall time at which it arrives, minus the job's FinishedAt (written in the same step as the
completed event; same machine, same clock).

Every iteration event (only with a Redis port, i.e. on the shared store): the events carry no time of their own, and
the service's API stays as it is. So this script also watches the job's Redis stream (autograd:events:{id}) itself,
with a blocking XREAD on a connection of its own: Redis hands a blocked reader a new entry as it is appended, so the
moment this watcher sees an entry is the moment the iteration was recorded in the store (within the watcher's own
wake-up, well under a millisecond here). The delay of an iteration is then its arrival on the other API process's
event stream minus the moment the watcher saw it, both read from one monotonic clock in this process. Counted are only
entries appended after both the watcher and the event stream were open (entries already there when the watcher
started are skipped, and the stream is opened before the watcher starts). What this leaves out is the worker's own
append (a fire-and-forget XADD) and the worker-to-Redis hop; what it includes is everything a subscriber on another
replica waits for: the pub/sub wake-up (at most one per 20 ms per job), the periodic re-read, XRANGE, the SSE write.

Prints p50, p99 and max in milliseconds for the completed events, then (with a Redis port) for every iteration event.
Usage: delay.py POST_BASE STREAM_BASE JOBS [REDIS_PORT]
"""
import datetime
import json
import re
import socket
import sys
import threading
import time
import urllib.request

post_base, stream_base, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
redis_port = int(sys.argv[4]) if len(sys.argv) > 4 else None
body = json.dumps({"expression": "(a - x[1])^2 + b*(x[2] - x[1]^2)^2", "parameters": {"x": [-1, 1]},
                   "constants": {"a": 1, "b": 5}, "optimizer": {"type": "sgd", "learningRate": 0.01},
                   "maxIterations": 50000, "recordEvery": 1000}).encode()
COMPLETED_ENTRY = "0-9223372036854775807"


class Resp:
    """The least of a Redis client: send a command, read one reply (RESP2)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.file = self.sock.makefile("rb")

    def call(self, *args):
        parts = [f"*{len(args)}\r\n".encode()]
        for arg in args:
            data = str(arg).encode()
            parts.append(f"${len(data)}\r\n".encode() + data + b"\r\n")
        self.sock.sendall(b"".join(parts))
        return self.read()

    def read(self):
        line = self.file.readline()
        kind, rest = line[:1], line[1:-2]
        if kind in (b"+", b":"):
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.file.read(n + 2)[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError(f"unexpected reply {line!r}")

    def close(self):
        self.sock.close()


def watch(key, seen, started, stop):
    """Notes the monotonic time at which each new entry of the stream appears; skips those there before it started."""
    redis = Resp(redis_port)
    try:
        reply = redis.call("XREVRANGE", key, "+", "-", "COUNT", 1)
        last = reply[0][0].decode() if reply else "0-0"
        started.set()
        while not stop.is_set():
            reply = redis.call("XREAD", "BLOCK", 200, "STREAMS", key, last)
            now = time.monotonic()
            if not reply:
                continue
            for entry_id, _ in reply[0][1]:
                last = entry_id.decode()
                seen[last] = now
            if last == COMPLETED_ENTRY:
                return
    finally:
        redis.close()


completed_delays, iteration_delays = [], []
for _ in range(count):
    request = urllib.request.Request(post_base + "/minimize", data=body, headers={"Content-Type": "application/json"})
    job = json.load(urllib.request.urlopen(request))
    stream = urllib.request.urlopen(urllib.request.Request(
        f"{stream_base}/minimize/{job['id']}/events", headers={"Accept": "text/event-stream"}))
    seen, arrivals, started, stop = {}, {}, threading.Event(), threading.Event()
    watcher = None
    if redis_port is not None:
        watcher = threading.Thread(target=watch, args=(f"autograd:events:{job['id']}", seen, started, stop))
        watcher.start()
        if not started.wait(10):
            sys.exit("the Redis watcher did not start")
    arrived, event_id = None, None
    for line in stream:
        if line.startswith(b"id: "):
            event_id = line[4:].strip().decode()
        elif line.startswith(b"event: iteration") and event_id is not None and event_id.isdigit():
            arrivals[f"0-{2 * int(event_id)}"] = time.monotonic()
        elif line.startswith(b"event: completed"):
            arrived = time.time()
            break
    stream.close()
    if watcher is not None:
        watcher.join(5)
        stop.set()
        watcher.join()
        iteration_delays += [(arrivals[entry] - seen[entry]) * 1000 for entry in arrivals if entry in seen]
    record = json.load(urllib.request.urlopen(f"{stream_base}/minimize/{job['id']}"))
    stamp = re.sub(r"(\.\d{6})\d+", r"\1", record["finishedAt"].replace("Z", "+00:00"))
    finished = datetime.datetime.fromisoformat(stamp).timestamp()
    completed_delays.append((arrived - finished) * 1000)


def summary(delays, what):
    delays = sorted(delays)
    pick = lambda q: delays[min(len(delays) - 1, int(q * len(delays)))]
    return f"p50 {pick(0.5):.1f} ms, p99 {pick(0.99):.1f} ms, max {delays[-1]:.1f} ms over {len(delays)} {what}"


line = "completed: " + summary(completed_delays, "jobs")
if redis_port is not None:
    line += "; every iteration: " + (summary(iteration_delays, "events") if iteration_delays else "no event seen live")
print(line)

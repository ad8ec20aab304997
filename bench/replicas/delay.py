"""Delay from a job's end being recorded to its completed event reaching a subscriber on another API process.

POSTs jobs of about a tenth of a second (so that the subscriber waits when the job ends) to one base URL, one at a time, reads each job's event stream from the other, notes the wall
time at which the completed event arrives, and subtracts the job's FinishedAt (written in the same step as the
completed event; same machine, same clock). Prints p50, p99 and max in milliseconds.
Usage: delay.py POST_BASE STREAM_BASE JOBS
"""
import datetime
import json
import re
import sys
import time
import urllib.request

post_base, stream_base, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
body = json.dumps({"expression": "(a - x[1])^2 + b*(x[2] - x[1]^2)^2", "parameters": {"x": [-1, 1]},
                   "constants": {"a": 1, "b": 5}, "optimizer": {"type": "sgd", "learningRate": 0.01},
                   "maxIterations": 50000, "recordEvery": 1000}).encode()
delays = []
for _ in range(count):
    request = urllib.request.Request(post_base + "/minimize", data=body, headers={"Content-Type": "application/json"})
    job = json.load(urllib.request.urlopen(request))
    stream = urllib.request.urlopen(urllib.request.Request(
        f"{stream_base}/minimize/{job['id']}/events", headers={"Accept": "text/event-stream"}))
    arrived = None
    for line in stream:
        if line.startswith(b"event: completed"):
            arrived = time.time()
            break
    stream.close()
    record = json.load(urllib.request.urlopen(f"{stream_base}/minimize/{job['id']}"))
    stamp = re.sub(r"(\.\d{6})\d+", r"\1", record["finishedAt"].replace("Z", "+00:00"))
    finished = datetime.datetime.fromisoformat(stamp).timestamp()
    delays.append((arrived - finished) * 1000)
delays.sort()
pick = lambda q: delays[min(len(delays) - 1, int(q * len(delays)))]
print(f"p50 {pick(0.5):.1f} ms, p99 {pick(0.99):.1f} ms, max {delays[-1]:.1f} ms over {len(delays)} jobs")

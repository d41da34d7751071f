"""sseclient-py (over Python's `requests`, as most Python SSE code reads
streams) against `sse serve`: events must arrive as they are sent, not
when a block of the body fills.

Prints "open" once the response head is in, then each event's data as it
arrives; exits after COUNT events, or after 10 s with what it got.

usage: python3 sseclient_events.py URL COUNT
"""
import sys
import threading

import requests
import sseclient

url, count = sys.argv[1], int(sys.argv[2])
response = requests.get(url, stream=True, headers={"Accept": "text/event-stream"}, timeout=30)
print("open", flush=True)
done = threading.Event()


def read():
    got = 0
    for event in sseclient.SSEClient(response).events():
        print(event.data, flush=True)
        got += 1
        if got == count:
            break
    done.set()


threading.Thread(target=read, daemon=True).start()
done.wait(10)

"""A third-party Mercure client from PyPI, pymercure, against `sse serve`.

Its Consumer subscribes to a URI template and an exact topic; its
SyncPublisher publishes three updates (one on two topics, one private, one
on a topic nobody selected) with a publisher JWT. Prints one JSON line:
the ids the publisher got back and the (id, data) pairs the consumer
received, once it has two or after 10 s.

usage: python3 pymercure_client.py HUB_URL PUBLISHER_JWT
"""
import json
import sys
import threading

from pymercure.consumer import Consumer
from pymercure.message import Message
from pymercure.publisher.sync import SyncPublisher

hub, jwt = sys.argv[1], sys.argv[2]
received = []
two = threading.Event()


def on_message(message):
    received.append([message.message_id, message.data])
    if len(received) >= 2:
        two.set()


consumer = Consumer(hub, ["https://example.com/books/{id}", "https://example.com/authors/7"], on_message)
consumer.daemon = True
consumer.start_consumption()

publisher = SyncPublisher(hub, jwt)
ids = [
    publisher.publish(Message(["https://example.com/books/1", "https://example.com/authors/7"], "both")),
    publisher.publish(Message(["https://example.com/reviews/1"], "elsewhere")),
    publisher.publish(Message(["https://example.com/authors/7"], "author", event_type="note")),
]
two.wait(10)
print(json.dumps({"ids": ids, "received": received}), flush=True)

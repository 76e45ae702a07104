"""Reads COUNT messages of a Kafka topic from the start with confluent-kafka and prints one JSON
line per message: {"key": its key as text, "value": its value in hex}. For
tests/integration/kafka-compression.test.ts: librdkafka reading what vgmflow's producer compressed.

    consume_topic.py BROKERS TOPIC COUNT

Exits 1 on a consumer error or if COUNT messages do not arrive within 60 s.
"""
import json
import sys
import time
import uuid

from confluent_kafka import Consumer


def main() -> int:
    brokers, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    consumer = Consumer({
        "bootstrap.servers": brokers,
        "group.id": f"vgmflow-compression-test-{uuid.uuid4()}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
    })
    consumer.subscribe([topic])
    seen = 0
    deadline = time.monotonic() + 60
    try:
        while seen < count:
            if time.monotonic() > deadline:
                print(f"only {seen} of {count} messages of {topic} within 60 s", file=sys.stderr)
                return 1
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error() is not None:
                print(f"consumer error: {msg.error()}", file=sys.stderr)
                return 1
            key = msg.key()
            print(json.dumps({"key": None if key is None else key.decode(), "value": msg.value().hex()}))
            seen += 1
    finally:
        consumer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Writes the data rows of a CSV file (header line skipped) to a Kafka topic with confluent-kafka,
one row per message (its text and "\\n"), key = the row's number, with the given compression.type:
a producer as users run it, for tests/integration/kafka-compression.test.ts.

    produce_csv.py BROKERS TOPIC COMPRESSION FILE [ROWS_PER_MESSAGE]

With ROWS_PER_MESSAGE > 1, each message holds that many rows (their text and "\n" each),
key = the number of its first row: the blocks a batching producer in the wild sends.

linger.ms and batch.size make librdkafka put many rows in each record batch, so the batches
are compressed (Kafka compresses whole batches). Prints "produced N rows" and exits 0 once
every row is acknowledged by all in-sync replicas; exits 1 on any delivery error.
"""
import sys

from confluent_kafka import Producer


def main() -> int:
    brokers, topic, compression, path = sys.argv[1:5]
    rows_per_message = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    producer = Producer({
        "bootstrap.servers": brokers,
        "compression.type": compression,
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": 50,
        "batch.size": 1_000_000,
    })
    errors = []

    def delivered(err, _msg):
        if err is not None:
            errors.append(str(err))

    with open(path, "rb") as f:
        lines = f.read().split(b"\n")[1:]
    rows = [line for line in lines if line != b""]
    for n in range(0, len(rows), rows_per_message):
        value = b"".join(row + b"\n" for row in rows[n:n + rows_per_message])
        while True:
            try:
                producer.produce(topic, value=value, key=str(n).encode(), on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    remaining = producer.flush(60)
    if remaining != 0 or errors:
        print(f"{remaining} rows not delivered; errors: {errors[:5]}", file=sys.stderr)
        return 1
    print(f"produced {len(rows)} rows to {topic} with compression.type={compression}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Reads vgmflow's transformed topic in the block format with pyarrow and confluent-kafka only,
no vgmflow code: every message is an Arrow IPC stream of encoded rows (see "The transformed
topic's block format" in the README).

    bash assets/examples/setup-venv.sh            # makes assets/examples/.venv, prints its python
    source .stack/stack.env
    assets/examples/.venv/bin/python assets/examples/read_blocks.py --topic vgm.transformed
    # 1000 rows in 40 blocks from vgm.transformed, model default version fit-1 ...
    assets/examples/.venv/bin/python assets/examples/read_blocks.py --topic vgm.transformed --json
    # one JSON object per row: the row id, per numeric column alpha and mode, per categorical
    # column its one-hot index (and category), the research-layout vector

It reads with isolation.level=read_committed, so only rows of committed transactions, from the
start of every partition to its end (librdkafka's partition-EOF, which counts the commit
markers a transactional topic ends in). As a library: read_blocks(brokers, topic) returns one
pyarrow.Table per block, rows(tables) the rows as dicts.
"""
import argparse
import json
import os
import sys
import time
import uuid

import pyarrow as pa
import pyarrow.ipc
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

METADATA_KEY = b"vgmflow.transformed"
CONTENT_TYPE = "application/vnd.apache.arrow.stream"


def read_blocks(brokers: str, topic: str, timeout: float = 120.0) -> list:
    """Every block of `topic`, in partition order then offset order, as pyarrow Tables."""
    consumer = Consumer({
        "bootstrap.servers": brokers,
        "group.id": f"read-blocks-{uuid.uuid4()}",
        "isolation.level": "read_committed",  # only rows of committed transactions
        "enable.auto.commit": False,
        "enable.partition.eof": True,  # an event when a partition's end is reached
        "fetch.message.max.bytes": 16 * 1024 * 1024,
    })
    try:
        partitions = sorted(consumer.list_topics(topic, timeout=30).topics[topic].partitions)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        pending = set(partitions)
        blocks = {p: [] for p in partitions}
        deadline = time.monotonic() + timeout
        while pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: partitions {sorted(pending)} did not reach their end within {timeout} s")
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            if msg.error() is not None:
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    pending.discard(msg.partition())
                    continue
                raise RuntimeError(msg.error())
            headers = dict(msg.headers() or [])
            content_type = headers.get("content-type", b"").decode()
            if content_type != CONTENT_TYPE:
                raise ValueError(f"{topic}[{msg.partition()}]@{msg.offset()} has content-type {content_type!r}, not a block")
            blocks[msg.partition()].append(pyarrow.ipc.open_stream(msg.value()).read_all())
        return [table for p in partitions for table in blocks[p]]
    finally:
        consumer.close()


def layout(table: pa.Table) -> dict:
    """The block's schema metadata: model name and version, columns and their fields."""
    return json.loads(table.schema.metadata[METADATA_KEY])


def rows(tables: list):
    """The rows of the blocks as dicts: row id, model version, per column its fields, the vector if present."""
    for table in tables:
        meta = layout(table)
        data = table.combine_chunks()
        ids = [data.column(name).to_pylist() for name in ("source_partition", "source_offset", "row_in_message")]
        columns = {}
        for c in meta["columns"]:
            if c["type"] == "categorical":
                column = data.column(c["field"]).chunk(0) if data.num_rows else None
                columns[c["field"]] = column.indices.to_pylist() if column is not None else []
                columns[c["field"] + "_name"] = column.dictionary.take(column.indices).to_pylist() if column is not None else []
            else:
                columns[c["alpha"]] = data.column(c["alpha"]).to_pylist()
                columns[c["mode"]] = data.column(c["mode"]).to_pylist()
        vectors = data.column("vector").to_pylist() if meta["vector"] else None
        for i in range(data.num_rows):
            row = {"source_partition": ids[0][i], "source_offset": ids[1][i], "row_in_message": ids[2][i],
                   "model_version": meta["modelVersion"]}
            for name, values in columns.items():
                row[name] = values[i]
            if vectors is not None:
                row["vector"] = vectors[i]
            yield row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--brokers", default=os.environ.get("KAFKA_BROKERS"), help="bootstrap brokers (default $KAFKA_BROKERS)")
    parser.add_argument("--topic", default="vgm.transformed")
    parser.add_argument("--json", action="store_true", help="print one JSON object per row")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to reach the end of every partition")
    args = parser.parse_args()
    if not args.brokers:
        parser.error("--brokers or $KAFKA_BROKERS is required")
    tables = read_blocks(args.brokers, args.topic, args.timeout)
    if args.json:
        for row in rows(tables):
            # json writes floats shortest round-trip: the exact doubles of the block.
            print(json.dumps(row))
        return 0
    count = sum(t.num_rows for t in tables)
    if not tables:
        print(f"0 rows in 0 blocks from {args.topic}")
        return 0
    meta = layout(tables[0])
    print(f"{count} rows in {len(tables)} blocks from {args.topic}, model {meta['modelName']} version {meta['modelVersion']}")
    print(f"columns: {tables[0].column_names}")
    for row in rows(tables[:1]):
        print(row)
        break
    return 0


if __name__ == "__main__":
    sys.exit(main())

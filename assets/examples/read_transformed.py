"""Reads vgmflow's output from Python: the transformed topic (Avro through the Schema
Registry, with confluent-kafka) and the Arrow files on S3 (with pyarrow).

    pip install "confluent-kafka[avro,schemaregistry]" pyarrow
    source .stack/stack.env
    python assets/examples/read_transformed.py <topic-prefix> [bucket]
"""
import os
import sys

import pyarrow.fs
import pyarrow.ipc
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext


def read_topic(prefix: str) -> list:
    topic = f"{prefix}.transformed"
    deserialize = AvroDeserializer(SchemaRegistryClient({"url": os.environ["SCHEMA_REGISTRY_URL"]}))
    consumer = Consumer({
        "bootstrap.servers": os.environ["KAFKA_BROKERS"],
        "group.id": f"python-reader-{os.getpid()}",
        "isolation.level": "read_committed",  # only rows of committed transactions
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    partitions = consumer.list_topics(topic).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    rows = []
    # Read until the topic is idle: a transactional topic's end offsets count commit
    # markers, which are never delivered, so they cannot tell when the data ends.
    while (msg := consumer.poll(5.0)) is not None:
        if msg.error():
            raise RuntimeError(msg.error())
        rows.append(deserialize(msg.value(), SerializationContext(topic, MessageField.VALUE)))
    consumer.close()
    return rows


def read_s3(bucket: str, model_version: str):
    s3 = pyarrow.fs.S3FileSystem(
        endpoint_override=os.environ["S3_ENDPOINT"], scheme="http",
        access_key=os.environ["S3_ACCESS_KEY"], secret_key=os.environ["S3_SECRET_KEY"],
        region=os.environ.get("S3_REGION", "us-east-1"))
    selector = pyarrow.fs.FileSelector(f"{bucket}/vgmflow/transformed/{model_version}")
    tables = [pyarrow.ipc.open_file(s3.open_input_file(f.path)).read_all() for f in s3.get_file_info(selector)]
    return pyarrow.concat_tables(tables)


if __name__ == "__main__":
    rows = read_topic(sys.argv[1])
    print(f"{len(rows)} records; first: row_id={rows[0]['row_id']} model_version={rows[0]['model_version']} "
          f"vector[:4]={rows[0]['vector'][:4]}")
    if len(sys.argv) > 2:
        table = read_s3(sys.argv[2], rows[0]["model_version"])
        print(f"S3 Arrow files: {table.num_rows} rows, columns {table.column_names[:6]}...")

/**
 * Which partition a keyed record goes to: the one Kafka's default partitioner picks, murmur2 of
 * the key's UTF-8 bytes (org.apache.kafka.common.utils.Utils#murmur2, as the Java client does),
 * so a key lands in the same partition in memory as on Kafka. It is kafkajs's own
 * DefaultPartitioner (the "Java compatible" one the Kafka transport's producers use), not a copy.
 */
import { Partitioners, type PartitionMetadata } from 'kafkajs';

/** Only keyed records reach it, so its round-robin counters (random starts) never come into play. */
const defaultPartitioner = Partitioners.DefaultPartitioner();

/** Metadata of a topic with this many partitions; for a key, the partitioner only counts them. */
const metadataByCount = new Map<number, PartitionMetadata[]>();

function partitionMetadata(partitions: number): PartitionMetadata[] {
  let metadata = metadataByCount.get(partitions);
  if (metadata === undefined) {
    metadata = Array.from({ length: partitions }, (_, partitionId) => ({
      partitionErrorCode: 0,
      partitionId,
      leader: 0,
      replicas: [0],
      isr: [0],
    }));
    metadataByCount.set(partitions, metadata);
  }
  return metadata;
}

/** The partition Kafka's default partitioner (and kafkajs's DefaultPartitioner) gives a key. */
export function partitionForKey(key: string, partitions: number): number {
  return defaultPartitioner({ topic: '', partitionMetadata: partitionMetadata(partitions), message: { key, value: null } });
}

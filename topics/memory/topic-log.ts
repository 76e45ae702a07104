/** One in-memory topic: a log of records per partition, and the readers to wake on appends. */
import type { InRecord, TopicSpec } from '../transport';

/** Something that reads a topic and waits for records. */
export interface TopicReader {
  wake(): void;
}

export class TopicLog {
  readonly partitions: InRecord[][];
  /** Subscriptions reading this topic, notified on every append. */
  readonly readers = new Set<TopicReader>();

  constructor(readonly spec: TopicSpec) {
    this.partitions = Array.from({ length: spec.partitions }, () => []);
  }

  get name(): string {
    return this.spec.name;
  }

  checkPartition(partition: number): void {
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitions.length) {
      throw new RangeError(`topic ${this.name} has no partition ${partition} (it has ${this.partitions.length})`);
    }
  }

  end(partition: number): number {
    return this.partitions[partition].length;
  }
}

/** A record routed to its partition, not yet appended. */
export interface Routed {
  readonly log: TopicLog;
  readonly partition: number;
  readonly key: string | null;
  readonly value: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
}

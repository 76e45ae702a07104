/** What a KafkaTransport can be told: brokers, client id, logging, consumer tuning and compression. */
import type { KafkaConfig, logLevel } from 'kafkajs';
import type { Compression } from './compression';

export interface KafkaConsumerTuning {
  /**
   * A member that sends no heartbeat for this long is removed from its group. Default 10000 (the
   * broker's group.min.session.timeout.ms is 6000 by default). kafkajs heartbeats between batches
   * only: an eachBatch call that runs longer than this gets its member evicted.
   */
  readonly sessionTimeout?: number;
  /** Default 1000: a rebalance is noticed within about heartbeatInterval + maxWaitTimeInMs. */
  readonly heartbeatInterval?: number;
  /** How long a rebalance waits for members to rejoin. Default 20000. */
  readonly rebalanceTimeout?: number;
  /** How long an idle fetch waits on the broker. Default 1000. */
  readonly maxWaitTimeInMs?: number;
  /** kafkajs default 1 MiB. */
  readonly maxBytesPerPartition?: number;
}

export interface KafkaTransportOptions {
  readonly brokers: readonly string[];
  /** Default `vgmflow`. */
  readonly clientId?: string;
  /**
   * kafkajs log level (default WARN). Even at WARN and ERROR, the transport drops kafkajs's
   * routine entries: every protocol error response it logs before retrying (e.g. "The group is
   * rebalancing"), retried sends, and rebalance notices. Errors that matter reach the caller as
   * rejections (or `done`).
   */
  readonly logLevel?: logLevel;
  /** Where kafkajs log lines go (default: stderr). */
  readonly log?: (line: string) => void;
  /** For new topics. Default: min(3, number of brokers). */
  readonly replicationFactor?: number;
  readonly consumer?: KafkaConsumerTuning;
  /** Upper bound on the records of one eachBatch call. Default 500. */
  readonly maxBatchRecords?: number;
  /**
   * What this transport's producers compress record batches with. Default `none`. Reading
   * handles all five whatever this says (./compression).
   */
  readonly compression?: Compression;
  /**
   * How long the transport rides out brokers that do not answer, or answer with errors that pass
   * (a broker restarting, a coordinator loading): requests and sends are retried, consumers
   * rejoin, interrupted transactions are reported as such (TransactionInterruptedError) so that
   * their work is redone. Once such errors have lasted this long, operations fail with
   * BrokerUnavailableError. Each attempt is itself retried by kafkajs for about 10 s, so the
   * give-up comes up to that much later. Default 120000.
   */
  readonly brokerTimeoutMs?: number;
  /** Further kafkajs client settings (ssl, sasl, timeouts, retry). */
  readonly kafka?: Omit<KafkaConfig, 'brokers' | 'clientId' | 'logLevel' | 'logCreator'>;
}

/** Consumer tuning with every default filled in (maxBytesPerPartition keeps kafkajs's own). */
export type ConsumerTuning = Required<Omit<KafkaConsumerTuning, 'maxBytesPerPartition'>> & KafkaConsumerTuning;

export const DEFAULT_BROKER_TIMEOUT_MS = 120_000;

export const DEFAULT_TUNING: Required<Omit<KafkaConsumerTuning, 'maxBytesPerPartition'>> = {
  sessionTimeout: 10_000,
  heartbeatInterval: 1_000,
  rebalanceTimeout: 20_000,
  maxWaitTimeInMs: 1_000,
};

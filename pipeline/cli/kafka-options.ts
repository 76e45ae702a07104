/** The options every Kafka-facing command shares, and the transport they describe. */
import type { ParseArgsConfig } from 'util';
import { DEFAULT_PARTITIONS, topicNames, type TopicNames } from '../../topics/topic-names';
import type { KafkaTransportOptions } from '../../topics/kafka/options';
import { processSecrets } from '../../topics/secrets';
import { integerOption, stringOption, type ParsedArgs } from './args';
import { UsageError } from './command';
import { KAFKA_SECURITY_HELP, KAFKA_SECURITY_OPTIONS, kafkaSecurity, type KafkaSecurity } from './kafka-security';
import { readTextFile } from './option-sources';

export const KAFKA_OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  brokers: { type: 'string' },
  topic: { type: 'string' },
  'topic-prefix': { type: 'string' },
  partitions: { type: 'string' },
  'broker-timeout': { type: 'string' },
  ...KAFKA_SECURITY_OPTIONS,
};

/** Seconds a command rides out a broker that is away before it exits with the reason. */
export const DEFAULT_BROKER_TIMEOUT_SECONDS = 120;

export const KAFKA_HELP = `Kafka options:
  --brokers <list>        comma-separated bootstrap brokers, e.g. localhost:19092 (or $KAFKA_BROKERS)
  --topic <name>          the input topic of CSV rows (default: <prefix>.rows)
  --topic-prefix <p>      prefix of the pipeline's topics (default: vgm): <p>.rows, <p>.batches,
                          <p>.stats, <p>.params, <p>.models, <p>.dlq
  --partitions <n>        partitions of topics this command creates when missing (default: ${DEFAULT_PARTITIONS})
  --broker-timeout <s>    how long Kafka may be unreachable (or keep failing with errors that pass,
                          e.g. a broker restarting) before the command gives up and exits 1 with
                          the reason (default: 120); until then it waits, rejoins and redoes what
                          was not committed

${KAFKA_SECURITY_HELP}`;

export interface KafkaSettings {
  readonly brokers: string[];
  readonly topics: TopicNames;
  readonly partitions: number;
  /** For KafkaTransportOptions.brokerTimeoutMs. */
  readonly brokerTimeoutMs: number;
  /** SASL and TLS (./kafka-security). */
  readonly security: KafkaSecurity;
}

/** The transport options every command's KafkaTransport starts from: brokers, outage bound, SASL and TLS. */
export function kafkaTransportBase(kafka: KafkaSettings): Pick<KafkaTransportOptions, 'brokers' | 'brokerTimeoutMs' | 'kafka'> {
  const { ssl, sasl } = kafka.security;
  return { brokers: kafka.brokers, brokerTimeoutMs: kafka.brokerTimeoutMs, kafka: { ...(ssl === undefined ? {} : { ssl }), ...(sasl === undefined ? {} : { sasl }) } };
}

export function kafkaSettings(args: ParsedArgs, required: boolean): KafkaSettings | null {
  const brokersText = stringOption(args, 'brokers') ?? (required ? process.env.KAFKA_BROKERS : undefined);
  if (brokersText === undefined || brokersText.trim() === '') {
    if (required) throw new UsageError('--brokers is required (or set KAFKA_BROKERS)');
    const security = Object.keys(KAFKA_SECURITY_OPTIONS).find((name) => args.values[name] !== undefined);
    if (security !== undefined) throw new UsageError(`--${security} is for Kafka: it needs --brokers`);
    return null;
  }
  const brokers = brokersText.split(',').map((b) => b.trim()).filter((b) => b !== '');
  const names = topicNames(stringOption(args, 'topic-prefix') ?? 'vgm');
  const rows = stringOption(args, 'topic');
  const partitions = integerOption(args, 'partitions', DEFAULT_PARTITIONS);
  if (partitions < 1) throw new UsageError('--partitions must be at least 1');
  const brokerTimeout = integerOption(args, 'broker-timeout', DEFAULT_BROKER_TIMEOUT_SECONDS);
  if (brokerTimeout < 1) throw new UsageError('--broker-timeout must be at least 1 (seconds)');
  const security = kafkaSecurity(args.values, process.env, readTextFile);
  processSecrets.add(...security.secrets);
  return { brokers, topics: rows === undefined ? names : { ...names, rows }, partitions, brokerTimeoutMs: brokerTimeout * 1000, security };
}

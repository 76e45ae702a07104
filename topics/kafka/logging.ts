/** kafkajs's log lines, minus the routine ones, formatted for the transport's log sink. */
import { logLevel, type LogEntry } from 'kafkajs';
import { redactSecrets } from '../secrets';

const LEVEL_NAMES: Record<number, string> = {
  [logLevel.ERROR]: 'ERROR',
  [logLevel.WARN]: 'WARN',
  [logLevel.INFO]: 'INFO',
  [logLevel.DEBUG]: 'DEBUG',
};

/** Routine kafkajs entries that say nothing the caller does not learn otherwise. */
function isRoutine(entry: LogEntry): boolean {
  const { namespace, log } = entry;
  // Connection logs each error response before the request is retried or the error thrown.
  if (namespace === 'Connection' && log.message.startsWith('Response ')) return entry.level <= logLevel.ERROR;
  if (namespace === 'Runner' && log.message.startsWith('The group is rebalancing')) return true;
  // Retried sends (e.g. CONCURRENT_TRANSACTIONS right after a commit); a final failure is thrown.
  if (namespace === 'Producer' && log.message.startsWith('Failed to send messages: ')) return true;
  // A transaction aborts when a send fails, so limited retries cannot break exactly-once here.
  if (namespace === 'Producer' && log.message.startsWith('Limiting retries for the idempotent producer')) return true;
  // Lost connections and consumer crashes: the transport says once that Kafka is not answering,
  // and rides it out or fails with the reason (./errors, ./consumer-group).
  if (namespace === 'Connection' && log.message.startsWith('Connection error')) return true;
  if (namespace === 'BrokerPool' && log.message.startsWith('Failed to connect to seed broker')) return true;
  // A broker connection that drops while the pool connects or refreshes metadata: retried, or
  // failed as above.
  if (namespace === 'BrokerPool' && (log.message.startsWith('Closed connection') || log.message.startsWith('Failed to connect to broker, reconnecting'))) return true;
  if (namespace === 'Consumer' && log.message.startsWith('Crash: ')) return true;
  // A rejected SASL login is thrown to the caller, which says it once (./errors, accessFailure).
  if (namespace.startsWith('SaslAuthenticator') || (namespace === 'BrokerPool' && /^SASL .* authentication failed/.test(log.message))) return true;
  return false;
}

export function logCreator(sink: (line: string) => void) {
  return () =>
    (entry: LogEntry): void => {
      if (isRoutine(entry)) return;
      const { message, timestamp: _timestamp, logger: _logger, ...extra } = entry.log;
      const details = Object.keys(extra).length > 0 ? ` ${safeJson(extra)}` : '';
      // kafkajs's extra fields may carry anything, a request or a configuration among them.
      sink(redactSecrets(`[kafkajs] ${LEVEL_NAMES[entry.level] ?? entry.level} ${entry.namespace}: ${message}${details}`));
    };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/** How the Kafka transport tells kafkajs errors apart: worth retrying, or a lost group generation. */
import { KafkaJSError, KafkaJSProtocolError } from 'kafkajs';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Retries an admin request on retriable Kafka errors. kafkajs's admin does not retry some of them
 * itself, e.g. fetchOffsets on NOT_COORDINATOR while a fresh broker is still loading
 * __consumer_offsets.
 */
export async function retrying<T>(request: () => Promise<T>, attempts = 10): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await request();
    } catch (error) {
      if (attempt >= attempts || !(error instanceof KafkaJSError) || !error.retriable) throw error;
      await sleep(Math.min(2_000, 100 * 2 ** (attempt - 1)));
    }
  }
}

/** The Kafka error type (e.g. REBALANCE_IN_PROGRESS) behind a kafkajs error and its causes. */
export function protocolErrorType(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 10; depth += 1) {
    if (e instanceof KafkaJSProtocolError) return e.type;
    e = e.cause;
  }
  return undefined;
}

/** Commit failures that only mean "the group is rebalancing: this member's generation is over". */
export const LOST_GENERATION = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']);

/**
 * How the Kafka transport tells kafkajs errors apart — passing (a broker restarting, a coordinator
 * moving: worth waiting out) or not, a lost group generation — and how long it waits a passing
 * error out (the outage bound) before it gives up with BrokerUnavailableError.
 */
import { KafkaJSError, KafkaJSProtocolError } from 'kafkajs';
import { BrokerUnavailableError } from '../transport';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * kafkajs errors that a broker going away causes and its return ends, whatever kafkajs's own
 * `retriable` says: it gives up finding a coordinator or connecting with non-retriable errors.
 */
const PASSING_ERROR_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSStaleTopicMetadataAssignment',
  'KafkaJSLockTimeout',
]);

/** Errors that never pass, however long one waits, even when kafkajs calls them retriable. */
const LASTING_ERROR_NAMES = new Set(['KafkaJSSASLAuthenticationError', 'KafkaJSNotImplemented', 'KafkaJSServerDoesNotSupportApiKey']);

/**
 * Node's codes for a TLS peer it does not trust (kafkajs keeps them as a connection error's
 * `code`): the broker answers, it is the certificate (or the CA the client was given) that is
 * wrong, and no restart changes that. Waiting them out would hide a configuration error for the
 * whole outage bound.
 */
const UNTRUSTED_TLS_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function codeOf(error: Error): unknown {
  return (error as Error & { code?: unknown }).code;
}

/**
 * Whether `error` (or an error it was caused by) is one a broker restart or a leader or coordinator
 * move causes, so that the same request succeeds once the cluster is whole again.
 */
export function isPassing(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 10; depth += 1) {
    if (LASTING_ERROR_NAMES.has(e.name) || UNTRUSTED_TLS_CODES.has(String(codeOf(e)))) return false;
    if (PASSING_ERROR_NAMES.has(e.name)) return true;
    // A broker's error code says it all (e.g. NOT_COORDINATOR yes, TOPIC_AUTHORIZATION_FAILED no).
    if (e instanceof KafkaJSProtocolError) return e.retriable;
    // kafkajs's plain errors are retriable unless it says otherwise (KafkaJSNonRetriableError and
    // its kinds, e.g. KafkaJSNumberOfRetriesExceeded, whose cause then tells).
    if (e instanceof KafkaJSError && e.retriable) return true;
    e = e.cause;
  }
  return false;
}

/**
 * One line for an error that says the client's security settings do not fit the cluster: its
 * SASL credentials were refused, or the broker's certificate is not trusted; undefined for any
 * other error. Names the settings to check, never their values.
 */
export function accessFailure(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 10; depth += 1) {
    if (e.name === 'KafkaJSSASLAuthenticationError') {
      return `Kafka refused the SASL login (${e.message}); check the mechanism, username and password (KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE)`;
    }
    if (UNTRUSTED_TLS_CODES.has(String(codeOf(e)))) {
      const broker = (e as Error & { broker?: unknown }).broker;
      const cause = e.message.replace(/^Connection error: /, '');
      return `the TLS certificate of Kafka${typeof broker === 'string' ? ` ${broker}` : ''} is not trusted (${cause}); check --kafka-tls-ca-file (KAFKA_TLS_CA_FILE): it must hold the CA that signed the broker's certificate`;
    }
    e = e.cause;
  }
  return undefined;
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

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The outage bound of one transport, and its log of outages: one line when the brokers stop
 * answering and one when they answer again, however many requests, consumers and producers
 * notice in between.
 *
 * An outage starts with the first failing attempt of any operation and ends with any success;
 * an operation gives up once its own failures, or the outage, began longer ago than the bound.
 * So an operation that starts when Kafka has been away for a while does not wait a whole bound
 * again, and one that keeps failing while others succeed (a coordinator that does not load)
 * still gives up.
 */
export class Outages {
  /** When the current outage began (the start of its first failing attempt); null: none. */
  private downSince: number | null = null;
  /** Whether the current outage has been reported. */
  private reported = false;

  constructor(
    /** How long a passing error may last before operations give up. */
    readonly boundMs: number,
    private readonly brokers: string,
    /** The transport's log. */
    readonly log: (line: string) => void,
  ) {}

  /**
   * Notes a passing failure of an operation failing since `since` (the start of its first failed
   * attempt); returns the error to give up with once that, or the outage, is longer ago than the
   * bound. Until then, says once that it waits when the outage has lasted a second: a failure
   * that the next try ends (a leader not yet elected for a new topic) is routine.
   */
  failed(since: number, error: unknown): BrokerUnavailableError | null {
    const now = Date.now();
    this.downSince = Math.min(this.downSince ?? since, since);
    if (now - this.downSince >= this.boundMs) {
      return new BrokerUnavailableError(
        `Kafka (${this.brokers}) unreachable or failing for more than ${Math.round(this.boundMs / 1000)} s: ${errorMessage(error)}`,
        { cause: error },
      );
    }
    if (!this.reported && now - this.downSince >= 1_000) {
      this.reported = true;
      this.log(`[vgmflow] Kafka (${this.brokers}) is not answering: ${errorMessage(error)}; waiting up to ${this.boundMs / 1000} s for it`);
    }
    return null;
  }

  /** Notes a success: the outage, if any, is over. */
  answered(): void {
    if (this.downSince === null) return;
    if (this.reported) this.log(`[vgmflow] Kafka (${this.brokers}) answers again after ${((Date.now() - this.downSince) / 1000).toFixed(1)} s`);
    this.downSince = null;
    this.reported = false;
  }

  /** A backoff that grows to 5 s, from the attempt number (0, 1, …). */
  static backoffMs(attempt: number): number {
    return Math.min(5_000, 250 * 2 ** Math.min(attempt, 5));
  }

  /**
   * Runs `request`, retrying passing errors with a backoff until it succeeds or they have lasted
   * past the bound (then BrokerUnavailableError), counted from the start of the first attempt that
   * failed (kafkajs spends seconds retrying within one). Other errors are thrown at once.
   */
  async ride<T>(request: () => Promise<T>): Promise<T> {
    let since: number | null = null;
    for (let attempt = 0; ; attempt += 1) {
      const started = Date.now();
      try {
        const result = await request();
        this.answered();
        return result;
      } catch (error) {
        if (!isPassing(error)) throw error;
        since ??= started;
        const giveUp = this.failed(since, error);
        if (giveUp !== null) throw giveUp;
        await sleep(Outages.backoffMs(attempt));
      }
    }
  }
}

/**
 * Which kafkajs errors the Kafka transport waits out (topics/kafka/errors.ts, isPassing), and how
 * Outages.ride retries them up to the bound. The errors are built as kafkajs builds them: protocol
 * errors from kafkajs's own table of broker error codes.
 */
import {
  KafkaJSConnectionError,
  KafkaJSGroupCoordinatorNotFound,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSRequestTimeoutError,
  KafkaJSSASLAuthenticationError,
} from 'kafkajs';
import { accessFailure, isPassing, Outages } from '../../topics/kafka/errors';
import { BrokerUnavailableError } from '../../topics/transport';

const { createErrorFromCode } = require('kafkajs/src/protocol/error') as { createErrorFromCode(code: number): Error };

/** A broker's error response, as kafkajs raises it. */
const brokerError = (code: number): KafkaJSProtocolError => new KafkaJSProtocolError(createErrorFromCode(code));

/** kafkajs's retrier giving up at once, with the cause it passes and its types leave out. */
const NonRetriable = KafkaJSNonRetriableError as unknown as new (e: Error, metadata: { cause: Error }) => KafkaJSNonRetriableError;
const givenUp = (e: Error): KafkaJSNonRetriableError => new NonRetriable(e, { cause: e });
/** kafkajs's retrier out of retries (its constructor makes `e` the cause). */
const outOfRetries = (e: Error): KafkaJSNumberOfRetriesExceeded => new KafkaJSNumberOfRetriesExceeded(e, { retryCount: 5, retryTime: 9000 });

/** kafkajs errors whose declared constructors take no message, though the classes pass it on. */
const withMessage = (ErrorClass: unknown, message: string): Error => new (ErrorClass as new (message: string) => Error)(message);

const refused = (): KafkaJSConnectionError => new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9');
/** A TLS handshake that Node rejects: kafkajs keeps Node's code on its connection error. */
const untrusted = (): KafkaJSConnectionError =>
  new KafkaJSConnectionError('Connection error: self-signed certificate in certificate chain', { broker: '127.0.0.1:9093', code: 'SELF_SIGNED_CERT_IN_CHAIN' });
const saslRefused = (): Error => withMessage(KafkaJSSASLAuthenticationError, 'SASL SCRAM SHA512 authentication failed: Authentication failed');

describe('isPassing', () => {
  it.each<[string, () => unknown]>([
    ['a refused connection', refused],
    ['a request timeout', () => new KafkaJSRequestTimeoutError('Request Fetch(key: 1, version: 11) timed out')],
    ['kafkajs out of retries on a refused connection', () => outOfRetries(refused())],
    ['kafkajs giving up at once on a refused connection', () => givenUp(refused())],
    ['no group coordinator found (non-retriable in kafkajs)', () => withMessage(KafkaJSGroupCoordinatorNotFound, 'Failed to find group coordinator')],
    ['NOT_COORDINATOR', () => brokerError(16)],
    ['COORDINATOR_LOAD_IN_PROGRESS', () => brokerError(14)],
    ['NOT_LEADER_FOR_PARTITION', () => brokerError(6)],
    ['CONCURRENT_TRANSACTIONS', () => brokerError(51)],
  ])('waits out %s', (_, make) => {
    expect(isPassing(make())).toBe(true);
  });

  it.each<[string, () => unknown]>([
    ['INVALID_PRODUCER_EPOCH (fenced: a newer producer has the id)', () => brokerError(47)],
    ['TOPIC_AUTHORIZATION_FAILED', () => brokerError(29)],
    ['INVALID_TXN_STATE', () => brokerError(48)],
    ['a failed SASL authentication', () => withMessage(KafkaJSSASLAuthenticationError, 'SASL PLAIN authentication failed')],
    ['a plain error', () => new Error('boom')],
    ['a non-error', () => 'ECONNREFUSED'],
    ['kafkajs giving up on a fenced producer', () => givenUp(brokerError(47))],
    ['kafkajs out of retries on a failed authorization', () => outOfRetries(brokerError(29))],
    ['an untrusted broker certificate (a connection error kafkajs calls retriable)', untrusted],
    ['kafkajs out of retries on an untrusted broker certificate', () => outOfRetries(untrusted())],
    ['a broker certificate for another name', () => new KafkaJSConnectionError('Connection error: Hostname/IP does not match', { code: 'ERR_TLS_CERT_ALTNAME_INVALID' })],
  ])('does not wait out %s', (_, make) => {
    expect(isPassing(make())).toBe(false);
  });
});

describe('accessFailure', () => {
  it('says a refused SASL login in one line that names the settings to check', () => {
    const line = accessFailure(givenUp(saslRefused()));
    expect(line).toMatch(/^Kafka refused the SASL login \(SASL SCRAM SHA512 authentication failed: Authentication failed\); check .*KAFKA_SASL_USERNAME/);
    expect(line).not.toContain('\n');
  });

  it('says an untrusted certificate in one line with the broker and the CA setting', () => {
    const line = accessFailure(outOfRetries(untrusted()));
    expect(line).toBe(
      "the TLS certificate of Kafka 127.0.0.1:9093 is not trusted (self-signed certificate in certificate chain); check --kafka-tls-ca-file (KAFKA_TLS_CA_FILE): it must hold the CA that signed the broker's certificate",
    );
  });

  it('leaves other errors to their own message', () => {
    expect(accessFailure(refused())).toBeUndefined();
    expect(accessFailure(brokerError(29))).toBeUndefined();
    expect(accessFailure(new Error('boom'))).toBeUndefined();
  });
});

describe('Outages.ride', () => {
  const quiet = (boundMs = 1_200): { outages: Outages; lines: string[] } => {
    const lines: string[] = [];
    return { outages: new Outages(boundMs, '127.0.0.1:9', (line) => lines.push(line)), lines };
  };

  it('retries passing errors until the request succeeds, and says when Kafka was away and when it is back', async () => {
    const { outages, lines } = quiet(10_000);
    let calls = 0;
    const started = Date.now();
    // Failing for over a second (then it says so), and back well before the bound.
    const result = await outages.ride(async () => {
      calls += 1;
      if (Date.now() - started < 2_000) throw refused();
      return 'answer';
    });
    expect(result).toBe('answer');
    expect(calls).toBeGreaterThan(2);
    expect(lines).toEqual([expect.stringMatching(/^\[vgmflow\] Kafka \(127\.0\.0\.1:9\) is not answering: Connection error/), expect.stringMatching(/answers again after/)]);
  });

  it('gives up with BrokerUnavailableError once passing errors outlast the bound', async () => {
    const { outages } = quiet();
    const started = Date.now();
    const failure = await outages.ride(async () => Promise.reject(refused())).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(BrokerUnavailableError);
    expect((failure as Error).message).toBe('Kafka (127.0.0.1:9) unreachable or failing for more than 1 s: Connection error: connect ECONNREFUSED 127.0.0.1:9');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_200);
  });

  it('throws an error that does not pass at once', async () => {
    const { outages, lines } = quiet();
    let calls = 0;
    const fenced = brokerError(47);
    await expect(
      outages.ride(async () => {
        calls += 1;
        throw fenced;
      }),
    ).rejects.toBe(fenced);
    expect(calls).toBe(1);
    expect(lines).toEqual([]);
  });
});

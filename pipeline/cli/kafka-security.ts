/**
 * Kafka security from the command line and the environment: SASL (PLAIN, SCRAM-SHA-256,
 * SCRAM-SHA-512) and TLS (a CA file, a client certificate and key) as kafkajs's `sasl` and `ssl`
 * settings, for every Kafka-facing command. A pure function of the flags, the environment and a
 * file reader; the secrets it reads (password, client key) are returned for redaction.
 *
 * There is no password flag: a command line is visible to every user of the machine (`ps`), so
 * the password comes from KAFKA_SASL_PASSWORD or a file (a mounted Kubernetes Secret).
 */
import type { ConnectionOptions } from 'tls';
import type { SASLOptions } from 'kafkajs';
import type { CommandOptions } from './command';
import { UsageError } from './command';
import { flagOrEnv, flagOrEnvBoolean, pemCertificates, pemPrivateKey, secretSetting, type Env, type FlagValues, type ReadText } from './option-sources';

export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export const KAFKA_SECURITY_OPTIONS: CommandOptions = {
  'kafka-sasl-mechanism': { type: 'string' },
  'kafka-sasl-username': { type: 'string' },
  'kafka-sasl-password-file': { type: 'string' },
  'kafka-tls': { type: 'boolean' },
  'kafka-tls-ca-file': { type: 'string' },
  'kafka-tls-cert-file': { type: 'string' },
  'kafka-tls-key-file': { type: 'string' },
};

export const KAFKA_SECURITY_HELP = `Kafka security (each flag, or its environment variable when the flag is absent):
  --kafka-sasl-mechanism <plain|scram-sha-256|scram-sha-512>
                          authenticate with SASL ($KAFKA_SASL_MECHANISM); needs a username
                          and a password
  --kafka-sasl-username <name>
                          the SASL user ($KAFKA_SASL_USERNAME)
  --kafka-sasl-password-file <path>
                          a file holding the SASL password, one trailing line break ignored
                          ($KAFKA_SASL_PASSWORD_FILE); or the password itself in
                          $KAFKA_SASL_PASSWORD. There is no password flag: command lines are
                          visible to other users (ps)
  --kafka-tls             connect with TLS, trusting the system's CAs ($KAFKA_TLS=true)
  --kafka-tls-ca-file <pem>
                          connect with TLS, trusting only the CA certificates in this PEM file
                          ($KAFKA_TLS_CA_FILE; e.g. Strimzi's cluster CA, ca.crt)
  --kafka-tls-cert-file <pem>, --kafka-tls-key-file <pem>
                          a client certificate and its private key (PEM) for brokers that ask
                          for one ($KAFKA_TLS_CERT_FILE, $KAFKA_TLS_KEY_FILE); both or neither;
                          imply TLS
  SASL over TLS is SASL_SSL (e.g. Strimzi's scram-sha-512 listener); without TLS the SASL
  exchange goes in clear (PLAIN sends the password itself). Passwords and keys are never
  printed: not in logs, errors or dead letters.
`;

/** kafkajs's `ssl` and `sasl` settings, and the secrets that went into them. */
export interface KafkaSecurity {
  /** Undefined: plaintext. true: TLS with the system's CAs. */
  readonly ssl?: ConnectionOptions | true;
  readonly sasl?: SASLOptions;
  /** Password and private key, for output redaction. */
  readonly secrets: readonly string[];
}

function mechanismOf(values: FlagValues, env: Env): SaslMechanism | undefined {
  const m = flagOrEnv(values, 'kafka-sasl-mechanism', env, 'KAFKA_SASL_MECHANISM');
  if (m === undefined) return undefined;
  const name = m.value.trim().toLowerCase();
  if (!(SASL_MECHANISMS as readonly string[]).includes(name)) {
    throw new UsageError(`${m.source} must be plain, scram-sha-256 or scram-sha-512, not "${m.value}"`);
  }
  return name as SaslMechanism;
}

/**
 * The SASL password: the file of --kafka-sasl-password-file, else KAFKA_SASL_PASSWORD or the file
 * of KAFKA_SASL_PASSWORD_FILE (both set is a mistake: which one was meant?).
 */
function passwordOf(values: FlagValues, env: Env, read: ReadText): string | undefined {
  return secretSetting(values, 'kafka-sasl-password-file', env, 'KAFKA_SASL_PASSWORD', read)?.value;
}

function saslOf(values: FlagValues, env: Env, read: ReadText): { sasl?: SASLOptions; password?: string } {
  const mechanism = mechanismOf(values, env);
  const username = flagOrEnv(values, 'kafka-sasl-username', env, 'KAFKA_SASL_USERNAME');
  const password = passwordOf(values, env, read);
  if (mechanism === undefined) {
    if (username !== undefined) throw new UsageError(`${username.source} needs --kafka-sasl-mechanism (or KAFKA_SASL_MECHANISM): plain, scram-sha-256 or scram-sha-512`);
    if (password !== undefined) throw new UsageError('a SASL password is set but no mechanism: give --kafka-sasl-mechanism (or KAFKA_SASL_MECHANISM)');
    return {};
  }
  if (username === undefined) throw new UsageError(`SASL ${mechanism} needs a username: --kafka-sasl-username (or KAFKA_SASL_USERNAME)`);
  if (password === undefined) {
    throw new UsageError(`SASL ${mechanism} needs a password: KAFKA_SASL_PASSWORD, or a file in --kafka-sasl-password-file (or KAFKA_SASL_PASSWORD_FILE)`);
  }
  return { sasl: { mechanism, username: username.value, password } as SASLOptions, password };
}

function tlsOf(values: FlagValues, env: Env, read: ReadText): { ssl?: ConnectionOptions | true; key?: string } {
  const on = flagOrEnvBoolean(values, 'kafka-tls', env, 'KAFKA_TLS');
  const ca = flagOrEnv(values, 'kafka-tls-ca-file', env, 'KAFKA_TLS_CA_FILE');
  const cert = flagOrEnv(values, 'kafka-tls-cert-file', env, 'KAFKA_TLS_CERT_FILE');
  const key = flagOrEnv(values, 'kafka-tls-key-file', env, 'KAFKA_TLS_KEY_FILE');
  if (cert !== undefined && key === undefined) throw new UsageError(`${cert.source} needs its private key: --kafka-tls-key-file (or KAFKA_TLS_KEY_FILE)`);
  if (key !== undefined && cert === undefined) throw new UsageError(`${key.source} needs its certificate: --kafka-tls-cert-file (or KAFKA_TLS_CERT_FILE)`);
  if (!on && ca === undefined && cert === undefined) return {};
  const options: ConnectionOptions = {};
  if (ca !== undefined) options.ca = [pemCertificates(read(ca.value, ca.source), ca.source, ca.value)];
  let keyText: string | undefined;
  if (cert !== undefined && key !== undefined) {
    options.cert = pemCertificates(read(cert.value, cert.source), cert.source, cert.value);
    keyText = pemPrivateKey(read(key.value, key.source), key.source, key.value);
    options.key = keyText;
  }
  return { ssl: Object.keys(options).length === 0 ? true : options, key: keyText };
}

/** The kafkajs security settings the flags and the environment ask for (none: plaintext). */
export function kafkaSecurity(values: FlagValues, env: Env, read: ReadText): KafkaSecurity {
  const { sasl, password } = saslOf(values, env, read);
  const { ssl, key } = tlsOf(values, env, read);
  const secrets = [password, key].filter((s): s is string => s !== undefined);
  return { ...(ssl === undefined ? {} : { ssl }), ...(sasl === undefined ? {} : { sasl }), secrets };
}

/** How the connection is secured, for a log line (no secret): e.g. "SASL_SSL, scram-sha-512 as vgmflow-ingest". */
export function describeKafkaSecurity(security: KafkaSecurity): string {
  const protocol = security.sasl === undefined ? (security.ssl === undefined ? 'PLAINTEXT' : 'SSL') : security.ssl === undefined ? 'SASL_PLAINTEXT' : 'SASL_SSL';
  const sasl = security.sasl;
  return sasl === undefined || !('username' in sasl) ? protocol : `${protocol}, ${sasl.mechanism} as ${sasl.username}`;
}

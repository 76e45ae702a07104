/**
 * Security settings from flags and environment (pipeline/cli/kafka-security.ts,
 * registry-security.ts), the redaction of secrets (topics/secrets.ts) at the output edge and in
 * dead letters, and the command line's one-line usage errors for wrong settings — all without a
 * broker: tests/integration/kafka-security.test.ts runs them against the local SASL_SSL listener.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { UsageError } from '../../pipeline/cli/command';
import { describeKafkaSecurity, kafkaSecurity } from '../../pipeline/cli/kafka-security';
import { readTextFile, type ReadText } from '../../pipeline/cli/option-sources';
import { registrySecurity } from '../../pipeline/cli/registry-security';
import { deadLetterCodec } from '../../topics/dead-letter';
import { processSecrets, REDACTED, Redactor } from '../../topics/secrets';
import { BIN, ensureCliBuilt } from '../support/build';

const CA = '-----BEGIN CERTIFICATE-----\nMIIBcA==\n-----END CERTIFICATE-----\n';
const CERT = '-----BEGIN CERTIFICATE-----\nMIIBcB==\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAkey==\n-----END PRIVATE KEY-----\n';

/** A file reader over a fixed set of files; an unknown path is unreadable, as readTextFile says it. */
function files(contents: Record<string, string>): ReadText {
  return (path, source) => {
    const text = contents[path];
    if (text === undefined) throw new UsageError(`${source} ${path}: cannot read it (ENOENT)`);
    return text;
  };
}

const FILES = files({ '/ca.pem': CA, '/cert.pem': CERT, '/key.pem': KEY, '/pw': 'file-password-1\n', '/basic': 'reg-user:reg-pass-2\n', '/junk': 'not a certificate\n' });

/** The UsageError message of `run`, or a failure when it does not throw one. */
function usageError(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    if (err instanceof UsageError) return err.message;
    throw err;
  }
  throw new Error('expected a UsageError');
}

describe('kafkaSecurity (flags, else environment)', () => {
  it('is plaintext when nothing is asked for', () => {
    const s = kafkaSecurity({}, {}, FILES);
    expect(s).toEqual({ secrets: [] });
    expect(describeKafkaSecurity(s)).toBe('PLAINTEXT');
  });

  it('makes SCRAM-SHA-512 over TLS with a CA from flags and a password file', () => {
    const s = kafkaSecurity(
      { 'kafka-sasl-mechanism': 'scram-sha-512', 'kafka-sasl-username': 'vgmflow-ingest', 'kafka-sasl-password-file': '/pw', 'kafka-tls-ca-file': '/ca.pem' },
      {},
      FILES,
    );
    // One trailing line break of the file is not part of the password.
    expect(s.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'vgmflow-ingest', password: 'file-password-1' });
    expect(s.ssl).toEqual({ ca: [CA] });
    expect(s.secrets).toEqual(['file-password-1']);
    expect(describeKafkaSecurity(s)).toBe('SASL_SSL, scram-sha-512 as vgmflow-ingest');
  });

  it('takes the same from the environment, as the Kubernetes manifests set it (the mechanism in any case)', () => {
    const s = kafkaSecurity({}, { KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'env-password-3', KAFKA_TLS_CA_FILE: '/ca.pem' }, FILES);
    expect(s.sasl).toEqual({ mechanism: 'scram-sha-256', username: 'u', password: 'env-password-3' });
    expect(s.ssl).toEqual({ ca: [CA] });
  });

  it('lets a flag win over its variable', () => {
    const s = kafkaSecurity({ 'kafka-sasl-mechanism': 'plain', 'kafka-sasl-username': 'flag-user', 'kafka-sasl-password-file': '/pw' }, { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'env-user', KAFKA_SASL_PASSWORD: 'env-password' }, FILES);
    expect(s.sasl).toEqual({ mechanism: 'plain', username: 'flag-user', password: 'file-password-1' });
    expect(s.ssl).toBeUndefined();
    expect(describeKafkaSecurity(s)).toBe('SASL_PLAINTEXT, plain as flag-user');
  });

  it('reads KAFKA_SASL_PASSWORD_FILE', () => {
    expect(kafkaSecurity({}, { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD_FILE: '/pw' }, FILES).sasl).toMatchObject({ password: 'file-password-1' });
  });

  it('turns TLS on by flag or KAFKA_TLS with the system CAs, and adds a client certificate and key', () => {
    expect(kafkaSecurity({ 'kafka-tls': true }, {}, FILES).ssl).toBe(true);
    expect(kafkaSecurity({}, { KAFKA_TLS: 'true' }, FILES).ssl).toBe(true);
    expect(kafkaSecurity({}, { KAFKA_TLS: 'false' }, FILES).ssl).toBeUndefined();
    const s = kafkaSecurity({ 'kafka-tls-cert-file': '/cert.pem', 'kafka-tls-key-file': '/key.pem' }, { KAFKA_TLS_CA_FILE: '/ca.pem' }, FILES);
    expect(s.ssl).toEqual({ ca: [CA], cert: CERT, key: KEY });
    expect(s.secrets).toEqual([KEY]);
    expect(describeKafkaSecurity(s)).toBe('SSL');
  });

  it.each<[string, Record<string, string | boolean>, Record<string, string>, RegExp]>([
    ['an unknown mechanism', { 'kafka-sasl-mechanism': 'gssapi' }, {}, /^--kafka-sasl-mechanism must be plain, scram-sha-256 or scram-sha-512, not "gssapi"$/],
    ['an unknown mechanism by environment', {}, { KAFKA_SASL_MECHANISM: 'oauthbearer' }, /^KAFKA_SASL_MECHANISM must be/],
    ['a mechanism without a username', { 'kafka-sasl-mechanism': 'plain' }, { KAFKA_SASL_PASSWORD: 'p' }, /^SASL plain needs a username: --kafka-sasl-username/],
    ['a mechanism without a password', { 'kafka-sasl-mechanism': 'plain', 'kafka-sasl-username': 'u' }, {}, /^SASL plain needs a password: KAFKA_SASL_PASSWORD, or a file/],
    ['a username without a mechanism', { 'kafka-sasl-username': 'u' }, {}, /^--kafka-sasl-username needs --kafka-sasl-mechanism/],
    ['a password without a mechanism', {}, { KAFKA_SASL_PASSWORD: 'p' }, /^a SASL password is set but no mechanism/],
    ['both password variables', { 'kafka-sasl-mechanism': 'plain', 'kafka-sasl-username': 'u' }, { KAFKA_SASL_PASSWORD: 'p', KAFKA_SASL_PASSWORD_FILE: '/pw' }, /^KAFKA_SASL_PASSWORD and KAFKA_SASL_PASSWORD_FILE are both set: set one$/],
    ['a certificate without a key', { 'kafka-tls-cert-file': '/cert.pem' }, {}, /^--kafka-tls-cert-file needs its private key: --kafka-tls-key-file/],
    ['a key without a certificate', {}, { KAFKA_TLS_KEY_FILE: '/key.pem' }, /^KAFKA_TLS_KEY_FILE needs its certificate: --kafka-tls-cert-file/],
    ['an unreadable CA file', { 'kafka-tls-ca-file': '/missing.pem' }, {}, /^--kafka-tls-ca-file \/missing.pem: cannot read it \(ENOENT\)$/],
    ['a CA file without a certificate', {}, { KAFKA_TLS_CA_FILE: '/junk' }, /^KAFKA_TLS_CA_FILE \/junk: no PEM certificate in it/],
    ['a key file without a key', { 'kafka-tls-cert-file': '/cert.pem', 'kafka-tls-key-file': '/ca.pem' }, {}, /^--kafka-tls-key-file \/ca.pem: no PEM private key in it/],
    ['KAFKA_TLS neither true nor false', {}, { KAFKA_TLS: 'maybe' }, /^KAFKA_TLS must be true or false, not "maybe"$/],
    ['an empty flag', { 'kafka-tls-ca-file': ' ' }, {}, /^--kafka-tls-ca-file must not be empty$/],
  ])('refuses %s with one line', (_, flags, env, message) => {
    const line = usageError(() => kafkaSecurity(flags, env, FILES));
    expect(line).toMatch(message);
    expect(line).not.toContain('\n');
  });

  it('never quotes a password, even a misplaced one', () => {
    const line = usageError(() => kafkaSecurity({}, { KAFKA_SASL_PASSWORD: 'hunter2-secret' }, FILES));
    expect(line).not.toContain('hunter2-secret');
  });

  it('reads real files through readTextFile, naming the source and path of one it cannot read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vgm-sec-'));
    try {
      writeFileSync(join(dir, 'ca.pem'), CA);
      writeFileSync(join(dir, 'empty'), '\n');
      expect(kafkaSecurity({ 'kafka-tls-ca-file': join(dir, 'ca.pem') }, {}, readTextFile).ssl).toEqual({ ca: [CA] });
      expect(usageError(() => readTextFile(join(dir, 'nope'), '--kafka-tls-ca-file'))).toBe(`--kafka-tls-ca-file ${join(dir, 'nope')}: cannot read it (ENOENT)`);
      expect(usageError(() => readTextFile(join(dir, 'empty'), 'KAFKA_SASL_PASSWORD_FILE'))).toBe(`KAFKA_SASL_PASSWORD_FILE ${join(dir, 'empty')}: the file is empty`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('registrySecurity', () => {
  it('is nothing when nothing is asked for', () => {
    expect(registrySecurity({}, {}, FILES)).toEqual({ access: {}, secrets: [] });
  });

  it('takes basic auth from the environment or a file, and a CA; its secrets are the password in every form', () => {
    const fromEnv = registrySecurity({}, { SCHEMA_REGISTRY_BASIC_AUTH: 'reg-user:p:with:colons', SCHEMA_REGISTRY_TLS_CA_FILE: '/ca.pem' }, FILES);
    expect(fromEnv.access).toEqual({ basicAuth: 'reg-user:p:with:colons', ca: CA });
    expect(fromEnv.secrets).toEqual(['p:with:colons', 'reg-user:p:with:colons', Buffer.from('reg-user:p:with:colons').toString('base64')]);
    const fromFile = registrySecurity({ 'registry-basic-auth-file': '/basic', 'registry-tls-ca-file': '/ca.pem' }, {}, FILES);
    expect(fromFile.access).toEqual({ basicAuth: 'reg-user:reg-pass-2', ca: CA });
    expect(registrySecurity({}, { SCHEMA_REGISTRY_BASIC_AUTH_FILE: '/basic' }, FILES).access).toEqual({ basicAuth: 'reg-user:reg-pass-2' });
  });

  it('refuses a pair without a colon without quoting it, and both variables at once', () => {
    const line = usageError(() => registrySecurity({}, { SCHEMA_REGISTRY_BASIC_AUTH: 'just-a-secret-token' }, FILES));
    expect(line).toBe('SCHEMA_REGISTRY_BASIC_AUTH: must be user:password (a user, a colon, a password)');
    expect(usageError(() => registrySecurity({}, { SCHEMA_REGISTRY_BASIC_AUTH: 'a:b', SCHEMA_REGISTRY_BASIC_AUTH_FILE: '/basic' }, FILES))).toMatch(/both set: set one$/);
    expect(usageError(() => registrySecurity({ 'registry-tls-ca-file': '/junk' }, {}, FILES))).toMatch(/^--registry-tls-ca-file \/junk: no PEM certificate/);
  });
});

describe('Redactor', () => {
  it('blanks every occurrence of every secret, the longest first, in text and in bytes', () => {
    const r = new Redactor();
    r.add('pass', 'password-9', undefined, '');
    expect(r.size).toBe(2);
    expect(r.redact('a password-9 and a pass, password-9')).toBe(`a ${REDACTED} and a ${REDACTED}, ${REDACTED}`);
    expect(r.contains('nothing here')).toBe(false);
    const clean = new TextEncoder().encode('nothing here');
    expect(r.redactBytes(clean)).toBe(clean);
    expect(Buffer.from(r.redactBytes(new TextEncoder().encode('x password-9 y'))).toString()).toBe(`x ${REDACTED} y`);
  });

  it('keeps secrets out of a dead letter reason (the raw input stays as it came)', () => {
    processSecrets.add('dl-secret-77');
    const bytes = deadLetterCodec.encode({ raw: 'row text', reason: 'registry said: bad auth dl-secret-77', topic: 't', partition: 0, offset: 1, line: 1 });
    expect(deadLetterCodec.decode(bytes).reason).toBe(`registry said: bad auth ${REDACTED}`);
  });
});

describe('the command line with security settings (no broker needed)', () => {
  let dir = '';
  beforeAll(() => {
    ensureCliBuilt();
    dir = mkdtempSync(join(tmpdir(), 'vgm-sec-cli-'));
    writeFileSync(join(dir, 'rows.csv'), 'a,b\n1,2\n');
    writeFileSync(join(dir, 'cert.pem'), CERT);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // An address nothing listens on: the errors below must come before any connection.
  const run = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...env } });
  const kafka = ['--brokers', '127.0.0.1:9', '--broker-timeout', '1'];

  it.each<[string, string[], Record<string, string>, string]>([
    ['produce: an unknown mechanism', ['produce', 'rows.csv', ...kafka, '--kafka-sasl-mechanism', 'kerberos'], {}, '--kafka-sasl-mechanism must be plain, scram-sha-256 or scram-sha-512, not "kerberos"'],
    ['fit: a certificate without a key', ['fit', ...kafka, '--columns', 'a:continuous', '--kafka-tls-cert-file', 'cert.pem'], {}, '--kafka-tls-cert-file needs its private key'],
    ['transform: an unreadable CA file', ['transform', ...kafka, '--kafka-tls-ca-file', 'no-such-ca.pem'], {}, '--kafka-tls-ca-file no-such-ca.pem: cannot read it (ENOENT)'],
    ['stage: a SASL user without a password', ['stage', 'reduce', ...kafka], { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u' }, 'SASL scram-sha-512 needs a password'],
    ['fit on a file: a Kafka security flag', ['fit', 'rows.csv', '--model', 'm.json', '--kafka-tls'], {}, '--kafka-tls is for Kafka: it needs --brokers'],
    ['inverse: registry credentials without a colon', ['inverse', ...kafka, '--registry-url', 'http://127.0.0.1:9'], { SCHEMA_REGISTRY_BASIC_AUTH: 'tokenonly' }, 'SCHEMA_REGISTRY_BASIC_AUTH: must be user:password'],
  ])('%s is a usage error of one line (exit 2)', (_, args, env, message) => {
    const r = run(args, env);
    const lines = r.stderr.replace(/\n$/, '').split('\n');
    expect({ status: r.status, first: lines[0] }).toEqual({ status: 2, first: expect.stringContaining(message) });
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/--help/);
  });

  it('redacts a secret of the environment from whatever the process prints', () => {
    const secret = 'S3cret-Printed-By-Mistake';
    // The unknown command's name is echoed in the error: here it is the password itself.
    const r = run([secret], { KAFKA_SASL_PASSWORD: secret });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`unknown command "${REDACTED}"`);
    expect(r.stdout + r.stderr).not.toContain(secret);
  });
});

/**
 * Kafka over SASL_SSL on the real local stack (infra/local/stack.sh's SASL_SSL listener: TLS with
 * a CA made by keytool at `up`, SCRAM users formatted into the log dir), run as the command line
 * a user runs: produce → fit (--all-stages) → transform succeed with SCRAM-SHA-512, and the model
 * is the one the embedded fit makes of the same rows (and reaches S3 through the AWS SDK's default
 * credential chain, with no S3 key of ours set); PLAIN and SCRAM-SHA-256 log in too; a wrong
 * password and an untrusted CA each fail fast (far inside the 120 s broker timeout) with exit 1
 * and one clear line; and the password appears nowhere in anything the commands printed.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { serializeModel } from '../../core/normalization/model';
import { loadModelFile } from '../../pipeline/jobs/model-file';
import { topicNames } from '../../topics/topology';
import { fitSlice, writeSlice } from '../support/kafka-stages';
import { ensureCliBuilt, Processes, type Child } from '../support/processes';
import { SAMPLE_COLUMNS, sampleLines } from '../support/sample';
import { s3Client, stackConfig, uniqueName } from '../support/stack';

jest.setTimeout(240_000);

const ROWS = 1200;
/** A failure is "fast" well inside the default broker timeout (120 s) the commands run with. */
const FAST_MS = 40_000;

/** What `stack.sh env` says about the SASL_SSL listener (undefined when the stack has none). */
function secureListener(): { brokers: string; ca: string; untrustedCa: string; user: string; password: string } | undefined {
  const brokers = process.env.KAFKA_SECURE_BROKERS;
  if (brokers === undefined || brokers === '') return undefined;
  const need = (name: string): string => {
    const v = process.env[name];
    if (v === undefined || v === '') throw new Error(`KAFKA_SECURE_BROKERS is set but ${name} is not: is the stack env file from an older stack.sh?`);
    return v;
  };
  return {
    brokers,
    ca: need('KAFKA_TLS_CA_FILE_TEST'),
    untrustedCa: need('KAFKA_TLS_UNTRUSTED_CA_FILE_TEST'),
    user: need('KAFKA_SASL_USERNAME_TEST'),
    password: readFileSync(need('KAFKA_SASL_PASSWORD_FILE_TEST'), 'utf8').trim(),
  };
}

const listener = secureListener();
// infra/local always has the listener (unless STACK_SECURE=0); a stack from elsewhere may not.
const describeSecure = listener !== undefined || stackConfig().provider === 'local' ? describe : describe.skip;
if (listener === undefined && stackConfig().provider !== 'local') {
  process.stdout.write(`[kafka-security] skipped: the ${stackConfig().provider} stack has no SASL_SSL listener (KAFKA_SECURE_BROKERS unset)\n`);
}

describeSecure('Kafka over SASL_SSL (SCRAM and PLAIN, TLS with a CA file)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vgm-security-'));
  const prefix = uniqueName('ksec');
  const lines = sampleLines(ROWS);
  const children: Child[] = [];
  let slice = '';

  const secure = (): NonNullable<typeof listener> => {
    if (listener === undefined) throw new Error('the local stack has no SASL_SSL listener: KAFKA_SECURE_BROKERS is not in its env (started with STACK_SECURE=0?)');
    return listener;
  };

  /**
   * Runs `vgmflow <args>` against the SASL_SSL listener: mechanism and user by flag, the password
   * by environment (as a Kubernetes Secret gives it), the CA by flag unless `ca` says otherwise.
   */
  function run(name: string, args: readonly string[], options: { password?: string; ca?: string; mechanism?: string; topicPrefix?: string; env?: Record<string, string> } = {}): Child {
    const l = secure();
    const env = { ...(options.env ?? {}), KAFKA_SASL_PASSWORD: options.password ?? l.password };
    const child = new Processes({ logDir: join(dir, 'logs'), env }).spawn(name, [
      ...args,
      '--brokers', l.brokers,
      '--topic-prefix', options.topicPrefix ?? prefix,
      '--kafka-sasl-mechanism', options.mechanism ?? 'scram-sha-512',
      '--kafka-sasl-username', l.user,
      '--kafka-tls-ca-file', options.ca ?? l.ca,
    ]);
    children.push(child);
    return child;
  }

  /** Exit code, time taken and every line printed, for one finished child. */
  async function finished(child: Child): Promise<{ code: number | null; ms: number; lines: string[] }> {
    const exit = await child.waitForExit(200_000);
    return { code: exit.code, ms: Date.now() - child.startedAt, lines: `${child.stdout}${child.stderr}`.split('\n').filter((line) => line !== '') };
  }

  beforeAll(() => {
    ensureCliBuilt();
    slice = writeSlice(dir, lines);
  });

  afterAll(async () => {
    for (const child of children) await child.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('produce → fit --all-stages → transform over SASL_SSL with SCRAM-SHA-512; the model is the embedded fit of the same rows', async () => {
    const produce = run('produce', ['produce', slice]);
    await produce.succeeded(120_000);
    expect(produce.stderr).toContain(`produced ${ROWS} rows`);

    const modelPath = join(dir, 'kafka-model.json');
    // S3 without S3_ACCESS_KEY/S3_SECRET_KEY: the SDK's default chain finds the AWS_* variables.
    const { s3 } = stackConfig();
    const awsEnv = { S3_ACCESS_KEY: '', S3_SECRET_KEY: '', AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey, AWS_PROFILE: '', AWS_CONFIG_FILE: join(dir, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none') };
    const bucket = uniqueName('ksec-models');
    const fit = run('fit', ['fit', '--all-stages', '--columns', SAMPLE_COLUMNS, '--model', modelPath, '--job', `job-${prefix}`, '--s3-bucket', bucket], { env: awsEnv });
    await fit.succeeded(200_000);
    expect(fit.stderr).toContain(`model default (version job-${prefix}) published to ${topicNames(prefix).models}`);
    const client = s3Client();
    try {
      const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `vgmflow/models/default/job-${prefix}.json` }));
      expect((await object.Body?.transformToString())?.trim()).toBe(readFileSync(modelPath, 'utf8').trim());
    } finally {
      client.destroy();
    }

    const transform = run('transform', ['transform']);
    await transform.succeeded(200_000);
    expect(transform.stderr).toMatch(new RegExp(`encoded ${ROWS} rows \\(0 dead-lettered\\) from ${topicNames(prefix).batches} to ${topicNames(prefix).transformed}`));

    // The same rows fitted in this process, no Kafka: the same model, byte for byte.
    const embedded = await fitSlice(join(dir), lines);
    expect(serializeModel(await loadModelFile(modelPath))).toBe(serializeModel(embedded));
  });

  it.each(['plain', 'scram-sha-256'])('logs in with %s too', async (mechanism) => {
    const child = run(`produce-${mechanism}`, ['produce', slice], { mechanism, topicPrefix: uniqueName(`ksec-${mechanism}`) });
    const r = await finished(child);
    expect({ code: r.code, lines: r.lines }).toEqual({ code: 0, lines: [expect.stringContaining(`produced ${ROWS} rows`), expect.stringContaining('columns in the file')] });
  });

  it('a wrong password fails fast: exit 1, one line, no retrying for the broker timeout', async () => {
    const wrong = `wrong-${secure().password.slice(0, 6)}-password-${Date.now()}`;
    const r = await finished(run('wrong-password', ['produce', slice], { password: wrong }));
    expect({ code: r.code, lines: r.lines }).toEqual({
      code: 1,
      lines: [expect.stringMatching(/^vgmflow produce: Kafka refused the SASL login \(.*authentication failed.*\); check the mechanism, username and password/)],
    });
    expect(r.ms).toBeLessThan(FAST_MS);
    expect(r.lines.join('\n')).not.toContain(wrong);
  });

  it('a stage with a wrong password stops at once too (exit 1, one line), instead of waiting for the broker', async () => {
    const r = await finished(run('stage-wrong-password', ['stage', 'reduce'], { password: `bad-${Date.now()}` }));
    expect(r.code).toBe(1);
    expect(r.lines).toEqual([expect.stringMatching(/^vgmflow stage: Kafka refused the SASL login/)]);
    expect(r.ms).toBeLessThan(FAST_MS);
  });

  it('a CA that did not sign the broker fails fast: exit 1, one line naming the CA setting', async () => {
    const r = await finished(run('untrusted-ca', ['produce', slice], { ca: secure().untrustedCa }));
    expect({ code: r.code, lines: r.lines }).toEqual({
      code: 1,
      lines: [expect.stringMatching(/^vgmflow produce: the TLS certificate of Kafka \S+ is not trusted \(.+\); check --kafka-tls-ca-file/)],
    });
    expect(r.ms).toBeLessThan(FAST_MS);
  });

  it('the password appears nowhere in what any of these commands printed', () => {
    expect(children.length).toBeGreaterThanOrEqual(7);
    const password = secure().password;
    expect(password.length).toBeGreaterThanOrEqual(16);
    const s3Secret = stackConfig().s3.secretAccessKey;
    for (const child of children) {
      expect(child.running).toBe(false);
      const output = `${child.stdout}${child.stderr}`;
      expect({ name: child.name, leaked: [password, s3Secret].filter((secret) => output.includes(secret)) }).toEqual({ name: child.name, leaked: [] });
    }
  });
});

/**
 * The process's output edge: everything written to stdout and stderr (our lines, progress,
 * kafkajs's log, the launcher's last error line) passes the redaction of the process's secrets
 * (topics/secrets.ts). Installed once by the CLI's main, before any command runs.
 */
import { processSecrets } from '../../topics/secrets';

/** The secrets that reach the process by environment, whichever command runs. */
export const SECRET_ENV_VARS = ['KAFKA_SASL_PASSWORD', 'S3_SECRET_KEY', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'] as const;

/** Adds the secrets of `env` to the process's: the variables above and the password of SCHEMA_REGISTRY_BASIC_AUTH. */
export function registerEnvSecrets(env: Readonly<Record<string, string | undefined>>): void {
  processSecrets.add(...SECRET_ENV_VARS.map((name) => env[name]));
  const basic = env.SCHEMA_REGISTRY_BASIC_AUTH;
  if (basic !== undefined && basic.includes(':')) processSecrets.add(...basicAuthSecrets(basic));
}

/** The secret forms of a `user:password` pair: the password, the pair, and the pair as an HTTP Basic token. */
export function basicAuthSecrets(userInfo: string): string[] {
  const password = userInfo.slice(userInfo.indexOf(':') + 1);
  return password === '' ? [] : [password, userInfo, Buffer.from(userInfo, 'utf8').toString('base64')];
}

let installed = false;

/** Wraps process.stdout.write and process.stderr.write with the redaction (once per process). */
export function redactProcessOutput(): void {
  if (installed) return;
  installed = true;
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    const redacting = (chunk: unknown, ...rest: unknown[]): boolean => {
      if (processSecrets.size === 0) return write(chunk, ...rest);
      if (typeof chunk === 'string') return write(processSecrets.redact(chunk), ...rest);
      if (chunk instanceof Uint8Array) return write(processSecrets.redactBytes(chunk), ...rest);
      return write(chunk, ...rest);
    };
    stream.write = redacting as typeof stream.write;
  }
}

/**
 * Where a setting comes from when a flag or else an environment variable may give it, and the
 * reading of the files such settings name (certificates, keys, password files), as UsageErrors
 * that name the flag or variable and the path, never the file's content.
 */
import { readFileSync } from 'fs';
import { UsageError } from './command';

/** The parsed flags of a command (ParsedArgs.values). */
export type FlagValues = Readonly<Record<string, string | boolean | undefined>>;
/** The environment (process.env, or a test's own). */
export type Env = Readonly<Record<string, string | undefined>>;

/** A setting's value and where it came from: `--flag` or `ENV_VAR`, for error messages. */
export interface Sourced {
  readonly value: string;
  readonly source: string;
}

/** Reads a text file; the argument names the flag or variable that gave the path. */
export type ReadText = (path: string, source: string) => string;

/** The flag's string value, else the variable's when set and not empty. */
export function flagOrEnv(values: FlagValues, flag: string, env: Env, variable: string): Sourced | undefined {
  const f = values[flag];
  if (typeof f === 'string') {
    if (f.trim() === '') throw new UsageError(`--${flag} must not be empty`);
    return { value: f, source: `--${flag}` };
  }
  const e = env[variable];
  return e === undefined || e === '' ? undefined : { value: e, source: variable };
}

/** A boolean flag, else the variable (true/false, 1/0, yes/no). */
export function flagOrEnvBoolean(values: FlagValues, flag: string, env: Env, variable: string): boolean {
  if (values[flag] === true) return true;
  const e = (env[variable] ?? '').trim().toLowerCase();
  if (e === '' || e === 'false' || e === '0' || e === 'no') return false;
  if (e === 'true' || e === '1' || e === 'yes') return true;
  throw new UsageError(`${variable} must be true or false, not "${env[variable]}"`);
}

/** ReadText over the file system: an unreadable or empty file is a UsageError naming its source. */
export const readTextFile: ReadText = (path, source) => {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`${source} ${path}: cannot read it (${code ?? (err instanceof Error ? err.message : String(err))})`);
  }
  if (text.trim() === '') throw new UsageError(`${source} ${path}: the file is empty`);
  return text;
};

/**
 * A secret given as a file by `--fileFlag`, else inline in `variable` or as a file named by
 * `<variable>_FILE` (both set is a mistake: which one was meant?). The source names the flag or
 * variable, and the path for a file, never the secret.
 */
export function secretSetting(values: FlagValues, fileFlag: string, env: Env, variable: string, read: ReadText): Sourced | undefined {
  const fileVariable = `${variable}_FILE`;
  const flagFile = flagOrEnv(values, fileFlag, {}, '');
  if (flagFile !== undefined) return { value: secretOfFile(read(flagFile.value, flagFile.source)), source: `${flagFile.source} ${flagFile.value}` };
  const inline = env[variable] ?? '';
  const envFile = env[fileVariable] ?? '';
  if (inline !== '' && envFile !== '') throw new UsageError(`${variable} and ${fileVariable} are both set: set one`);
  if (inline !== '') return { value: inline, source: variable };
  if (envFile !== '') return { value: secretOfFile(read(envFile, fileVariable)), source: `${fileVariable} ${envFile}` };
  return undefined;
}

/** A secret kept in a file (a mounted Kubernetes Secret, a password file): one trailing line break is not part of it. */
export function secretOfFile(text: string): string {
  return text.replace(/\r?\n$/, '');
}

/** The certificates of a PEM file, checked to be there; `what` says what they are for. */
export function pemCertificates(text: string, source: string, path: string): string {
  if (!/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.test(text)) {
    throw new UsageError(`${source} ${path}: no PEM certificate in it (-----BEGIN CERTIFICATE-----)`);
  }
  return text;
}

/** A PEM private key, checked to be one. */
export function pemPrivateKey(text: string, source: string, path: string): string {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----/.test(text)) {
    throw new UsageError(`${source} ${path}: no PEM private key in it (-----BEGIN ... PRIVATE KEY-----)`);
  }
  return text;
}

/**
 * The secrets this process holds (a SASL password, a private key, the registry's basic-auth
 * password, an S3 secret key), so that the edges where text leaves the process — its stdout
 * and stderr (pipeline/cli/redacted-output.ts), the Kafka transport's log, dead-letter reasons —
 * can blank them out. Our own messages never include a secret; this is the guard for text we do
 * not control (a library's error or log line quoting a configuration, a value echoed back).
 */

export const REDACTED = '[redacted]';

/** A set of secret strings and the redaction of text that may contain them. */
export class Redactor {
  private secrets: string[] = [];

  /** Adds secrets (empty strings are ignored). */
  add(...secrets: readonly (string | undefined)[]): void {
    const next = new Set(this.secrets);
    for (const s of secrets) if (s !== undefined && s !== '') next.add(s);
    // Longest first, so that a secret containing another is blanked whole.
    this.secrets = [...next].sort((a, b) => b.length - a.length);
  }

  get size(): number {
    return this.secrets.length;
  }

  /** Whether `text` contains one of the secrets. */
  contains(text: string): boolean {
    return this.secrets.some((s) => text.includes(s));
  }

  /** `text` with every occurrence of every secret replaced by REDACTED. */
  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
    return out;
  }

  /** Like redact, for bytes (UTF-8): the same bytes when they hold no secret. */
  redactBytes(bytes: Uint8Array): Uint8Array {
    if (this.secrets.length === 0) return bytes;
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (!this.secrets.some((s) => buffer.includes(s))) return bytes;
    return Buffer.from(this.redact(buffer.toString('utf8')), 'utf8');
  }
}

/** The secrets of this process. */
export const processSecrets = new Redactor();

/** `text` without any of this process's secrets. */
export function redactSecrets(text: string): string {
  return processSecrets.redact(text);
}

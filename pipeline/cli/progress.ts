/**
 * Progress of a long file command: on a terminal a one-line bar redrawn in place with
 * rows/s and an ETA; otherwise (logs, CI) a plain line every few seconds. The ETA
 * extrapolates the file's size from the bytes of the rows read so far.
 */
import { statSync } from 'fs';

export interface Progress {
  /** `bytes`: input bytes consumed so far (approximately). */
  update(rows: number, bytes: number): void;
  done(): void;
}

const REDRAW_MS = 200;
const LOG_MS = 5000;

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  return s < 60 ? `${Math.ceil(s)} s` : `${Math.floor(s / 60)} min ${Math.ceil(s % 60)} s`;
}

export function fileProgress(label: string, path: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  let total = 0;
  try {
    total = statSync(path).size;
  } catch {
    total = 0;
  }
  const started = Date.now();
  let last = 0;
  const tty = stream.isTTY === true;
  let drawn = false;
  const line = (rows: number, bytes: number): string => {
    const seconds = (Date.now() - started) / 1000;
    const rate = rows / Math.max(seconds, 1e-3);
    const fraction = total > 0 ? Math.min(1, bytes / total) : 0;
    const eta = fraction > 0 ? (seconds * (1 - fraction)) / fraction : NaN;
    const width = 24;
    const filled = Math.round(fraction * width);
    const bar = tty ? `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ` : '';
    return `${label}: ${bar}${(fraction * 100).toFixed(0)}% ${rows} rows, ${Math.round(rate)} rows/s, ETA ${formatSeconds(eta)}`;
  };
  return {
    update(rows, bytes) {
      const now = Date.now();
      if (now - last < (tty ? REDRAW_MS : LOG_MS)) return;
      last = now;
      if (tty) {
        stream.write(`\r${line(rows, bytes)}\x1b[K`);
        drawn = true;
      } else {
        stream.write(`${line(rows, bytes)}\n`);
      }
    },
    done() {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}

/**
 * Progress of a long command: on a terminal a one-line bar redrawn in place with
 * rows/s and an ETA; otherwise (logs, CI) a plain line every few seconds. The ETA
 * extrapolates from the fraction done: of a file's bytes, or of a topic's offsets.
 */
import { statSync } from 'fs';

export interface Progress {
  /** `bytes`: input bytes consumed so far (approximately). */
  update(rows: number, bytes: number): void;
  /** The work starts again from nothing (a second pass over the input): says why if progress was shown, and counts afresh. */
  restart(why: string): void;
  done(): void;
}

const REDRAW_MS = 200;
const LOG_MS = 5000;

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  return s < 60 ? `${Math.ceil(s)} s` : `${Math.floor(s / 60)} min ${Math.ceil(s % 60)} s`;
}

/** A progress line for `rows` done so far and `fraction` (0..1) of the whole; ETA from the fraction. */
export interface FractionProgress {
  update(rows: number, fraction: number): void;
  restart(why: string): void;
  done(): void;
}

export function fractionProgress(label: string, stream: NodeJS.WriteStream = process.stderr): FractionProgress {
  let started = Date.now();
  let last = 0;
  const tty = stream.isTTY === true;
  let drawn = false;
  /** Whether a progress line was written since the start (or the restart). */
  let shown = false;
  const line = (rows: number, fraction: number): string => {
    const seconds = (Date.now() - started) / 1000;
    const rate = rows / Math.max(seconds, 1e-3);
    const f = Math.min(1, Math.max(0, fraction));
    const eta = f > 0 ? (seconds * (1 - f)) / f : NaN;
    const width = 24;
    const filled = Math.round(f * width);
    const bar = tty ? `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ` : '';
    return `${label}: ${bar}${(f * 100).toFixed(0)}% ${rows} rows, ${Math.round(rate)} rows/s, ETA ${formatSeconds(eta)}`;
  };
  return {
    update(rows, fraction) {
      const now = Date.now();
      if (now - last < (tty ? REDRAW_MS : LOG_MS)) return;
      last = now;
      shown = true;
      if (tty) {
        stream.write(`\r${line(rows, fraction)}\x1b[K`);
        drawn = true;
      } else {
        stream.write(`${line(rows, fraction)}\n`);
      }
    },
    restart(why) {
      // Said only where progress was shown: it explains the count starting over.
      if (shown) {
        if (drawn) stream.write('\r\x1b[K');
        stream.write(`${label}: ${why}\n`);
      }
      drawn = false;
      shown = false;
      started = Date.now();
      last = 0;
    },
    done() {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}

/** Progress through a file: the fraction is the bytes of the rows read so far over the file's size. */
export function fileProgress(label: string, path: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  let total = 0;
  try {
    total = statSync(path).size;
  } catch {
    total = 0;
  }
  const bar = fractionProgress(label, stream);
  return {
    update: (rows, bytes) => bar.update(rows, total > 0 ? bytes / total : 0),
    restart: (why) => bar.restart(why),
    done: () => bar.done(),
  };
}

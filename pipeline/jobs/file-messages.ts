/**
 * A clean file's messages and what a thread makes of each: the types shared by the embedded
 * transform's and inverse's message paths (./clean-file-lines.ts, ./line-coders.ts).
 */

/** One message of a file, laid out as `vgmflow produce` sends it: its index, bytes and record count. */
export interface FileMessage {
  readonly index: number;
  readonly value: Uint8Array;
  readonly records: number;
}

/** A message's output rows as lines, each ending in '\n', as UTF-8 bytes. */
export interface MessageLines {
  readonly text: Uint8Array;
  readonly rows: number;
}

/** Counts per model column that a coder keeps as it goes (values clipped, say), by name. */
export type ColumnCounts = Readonly<Record<string, readonly number[]>>;

/** Turns messages into output lines; null for a message it cannot take row for row (the caller then takes the row path). */
export interface MessageLineCoder {
  lines(m: FileMessage): MessageLines | null;
  counts(): ColumnCounts;
}

/** Counts of several coders (threads) added up, column by column. */
export function sumCounts(all: readonly ColumnCounts[]): ColumnCounts {
  const sum: Record<string, number[]> = {};
  for (const counts of all) {
    for (const [name, values] of Object.entries(counts)) {
      const into = (sum[name] ??= values.map(() => 0));
      values.forEach((v, c) => (into[c] = (into[c] as number) + v));
    }
  }
  return sum;
}

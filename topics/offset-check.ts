/** Rejects an offset no partition can have, before it reaches a topic (Kafka's or memory's). */
export function checkOffset(offset: number, what: string): void {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new RangeError(`${what} must be a non-negative integer (got ${offset})`);
  }
}

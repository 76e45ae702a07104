/**
 * The distinct values of a categorical column, each with a small integer id, looked up either
 * by text or straight from UTF-8 bytes (a hash on the bytes), so that a column of repeated
 * values costs an id per row rather than a string per row.
 */

const EMPTY_SLOT = -1;
const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** FNV-1a over bytes[from, to). */
function hashBytes(bytes: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ (bytes[i] as number), 0x01000193);
  return h >>> 0;
}

export class CategoryDictionary {
  /** The values, by id. */
  readonly values: string[] = [];
  private readonly ids = new Map<string, number>();
  // Open addressing on the bytes' hash: slot → id, with each id's bytes in one arena.
  private slots = new Int32Array(64).fill(EMPTY_SLOT);
  private hashes = new Uint32Array(16);
  private starts = new Int32Array(16);
  private lengths = new Int32Array(16);
  private arena = new Uint8Array(1024);
  private arenaUsed = 0;
  private byteEntries = 0;

  /** The id of `value`, added if new. */
  idOf(value: string): number {
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(value);
      this.ids.set(value, id);
    }
    return id;
  }

  /** The id of the value whose UTF-8 bytes are bytes[from, to) (which must be valid UTF-8), added if new. */
  idOfBytes(bytes: Uint8Array, from: number, to: number): number {
    const hash = hashBytes(bytes, from, to);
    const mask = this.slots.length - 1;
    const length = to - from;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const id = this.slots[slot] as number;
      if (id === EMPTY_SLOT) break;
      if (this.hashes[id] === hash && this.lengths[id] === length && this.sameBytes(id, bytes, from, length)) return id;
    }
    const id = this.idOf(utf8.decode(bytes.subarray(from, to)));
    this.remember(id, hash, bytes, from, length);
    return id;
  }

  private sameBytes(id: number, bytes: Uint8Array, from: number, length: number): boolean {
    const start = this.starts[id] as number;
    for (let k = 0; k < length; k++) if (this.arena[start + k] !== bytes[from + k]) return false;
    return true;
  }

  /** Files the bytes of `id` under `hash` (each id once: bytes and text of valid UTF-8 match one to one). */
  private remember(id: number, hash: number, bytes: Uint8Array, from: number, length: number): void {
    if (id >= this.hashes.length) this.growEntries(id + 1);
    if (this.arenaUsed + length > this.arena.length) {
      const arena = new Uint8Array(Math.max(this.arena.length * 2, this.arenaUsed + length));
      arena.set(this.arena.subarray(0, this.arenaUsed));
      this.arena = arena;
    }
    this.arena.set(bytes.subarray(from, from + length), this.arenaUsed);
    this.hashes[id] = hash;
    this.starts[id] = this.arenaUsed;
    this.lengths[id] = length;
    this.arenaUsed += length;
    if (++this.byteEntries * 2 > this.slots.length) this.rehash();
    this.insert(id, hash);
  }

  private insert(id: number, hash: number): void {
    const mask = this.slots.length - 1;
    let slot = hash & mask;
    while (this.slots[slot] !== EMPTY_SLOT) slot = (slot + 1) & mask;
    this.slots[slot] = id;
  }

  private rehash(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2).fill(EMPTY_SLOT);
    for (const id of old) if (id !== EMPTY_SLOT) this.insert(id, this.hashes[id] as number);
  }

  private growEntries(size: number): void {
    const capacity = Math.max(size, this.hashes.length * 2);
    const grow = <T extends Int32Array | Uint32Array>(a: T, make: (n: number) => T): T => {
      const b = make(capacity);
      b.set(a);
      return b;
    };
    this.hashes = grow(this.hashes, (n) => new Uint32Array(n));
    this.starts = grow(this.starts, (n) => new Int32Array(n));
    this.lengths = grow(this.lengths, (n) => new Int32Array(n));
  }
}

/**
 * Reads a whole topic up to its end offsets at call time (e.g. the dead letters of a
 * run). On Kafka a transactionally written topic's end offsets count commit markers,
 * which are never delivered, so reading also stops after `idleMs` without records.
 */
import type { InRecord, Transport } from '../../topics/transport';

export async function readTopicToEnd(transport: Transport, topic: string, idleMs = 3000): Promise<InRecord[]> {
  const ends = await transport.endOffsets(topic);
  const total = ends.reduce((a, b) => a + b, 0);
  const records: InRecord[] = [];
  if (total === 0) return records;
  const reached = new Array<number>(ends.length).fill(0);
  let resolve: () => void = () => undefined;
  const allRead = new Promise<void>((r) => (resolve = r));
  const sub = await transport.subscribe({
    topic,
    group: null,
    eachBatch: async (batch) => {
      for (const r of batch.records) {
        if (r.offset < ends[r.partition]) records.push(r);
        reached[r.partition] = Math.max(reached[r.partition], r.offset + 1);
      }
      if (reached.every((n, p) => n >= ends[p])) resolve();
    },
  });
  let timer: NodeJS.Timeout | undefined;
  let lastCount = -1;
  const idle = new Promise<void>((r) => {
    timer = setInterval(() => {
      if (records.length === lastCount) r();
      lastCount = records.length;
    }, idleMs);
  });
  await Promise.race([allRead, idle]);
  clearInterval(timer);
  await sub.stop();
  return records;
}

import { trackCatchUp } from '../../pipeline/runners/catch-up';
import { MemoryTransport } from '../../topics/memory';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

async function topicWith(transport: MemoryTransport, counts: readonly number[]): Promise<string> {
  const topic = 'in';
  await transport.ensureTopics([{ name: topic, partitions: counts.length, config: {} }]);
  const producer = await transport.producer();
  await producer.send(counts.flatMap((n, partition) => Array.from({ length: n }, (_, i) => ({ topic, partition, key: null, value: enc(`${partition}-${i}`) }))));
  return topic;
}

describe('trackCatchUp', () => {
  it('is reached when every partition is read up to its end at the start, and counts progress from the committed offsets', async () => {
    const transport = new MemoryTransport();
    const topic = await topicWith(transport, [4, 0, 3]);
    const producer = await transport.producer({ transactionalId: 't' });
    await producer.transaction(async (tx) => tx.sendOffsets('g', [{ topic, partition: 0, offset: 2 }]));

    const catchUp = await trackCatchUp({ transport, topic, group: 'g', pollMs: 60_000 });
    let reached = false;
    void catchUp.reached.then(() => (reached = true));
    // Partition 0 resumes at 2 (committed), partition 2 at 0; partition 1 is empty.
    expect(catchUp.progress()).toEqual({ done: 0, total: 2 + 3 });

    catchUp.onPosition(0, 4);
    catchUp.onPosition(2, 2);
    await Promise.resolve();
    expect(reached).toBe(false);
    expect(catchUp.progress()).toEqual({ done: 4, total: 5 });

    // Records produced after the start do not move the goal.
    const late = await transport.producer();
    await late.send([{ topic, partition: 2, key: null, value: enc('late') }]);
    catchUp.onPosition(2, 3);
    await catchUp.reached;
    expect(catchUp.progress()).toEqual({ done: 5, total: 5 });
    catchUp.close();
    await transport.close();
  });

  it('counts partitions another member has committed to their end', async () => {
    const transport = new MemoryTransport();
    const topic = await topicWith(transport, [2, 2]);
    const catchUp = await trackCatchUp({ transport, topic, group: 'g', pollMs: 10 });
    catchUp.onPosition(0, 2);
    const producer = await transport.producer({ transactionalId: 't' });
    await producer.transaction(async (tx) => tx.sendOffsets('g', [{ topic, partition: 1, offset: 2 }]));
    await catchUp.reached;
    expect(catchUp.progress()).toEqual({ done: 4, total: 4 });
    catchUp.close();
    await transport.close();
  });

  it('is reached at once when there is nothing to read', async () => {
    const transport = new MemoryTransport();
    const topic = await topicWith(transport, [0, 0]);
    const catchUp = await trackCatchUp({ transport, topic, group: 'g', pollMs: 60_000 });
    await catchUp.reached;
    expect(catchUp.progress()).toEqual({ done: 0, total: 0 });
    catchUp.close();
    await transport.close();
  });
});

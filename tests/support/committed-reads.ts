/**
 * Reading what a stage has committed, in tests. A transaction's commit returns once the
 * coordinator has decided; the broker writes the commit markers just after, and until then the
 * end offset a read_committed reader can reach (the last stable offset) stops before the
 * transaction. So "the stage counted N rows committed" and "a reader sees N rows" are a moment
 * apart, longer on a loaded machine: these helpers wait for the moment, and the test then
 * asserts on exactly what it read.
 */
import { readTopicUntilEnd, type ReadTopicOptions, type TopicRead } from '../../pipeline/runners/read-topic';
import type { InRecord, Transport } from '../../topics/transport';
import { sleep } from './processes';

/**
 * Reads `topic` to its end offsets (read_committed), again every 200 ms, until `enough` holds
 * for the records read; throws naming `what` when it does not within `timeoutMs`.
 */
export async function readTopicOnceCommitted(
  transport: Transport,
  topic: string,
  enough: (records: readonly InRecord[]) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<InRecord[]> {
  const read = await pollTopic(transport, topic, { readCommitted: true }, (r) => r.complete && enough(r.records), what, timeoutMs);
  return read.records;
}

/**
 * After a transactional producer's process died: what it committed. At least `atLeast` records
 * (what it reported committed), and the same count in two reads `settleMs` apart, so that a
 * commit it sent just before dying (decided by the coordinator after the kill) counts as well.
 * A read may stop short of the end offsets here (8 s each): what matters is what it got.
 */
export async function readTopicSettled(transport: Transport, topic: string, atLeast: number, what: string, timeoutMs = 30_000, settleMs = 500): Promise<InRecord[]> {
  const options: ReadTopicOptions = { readCommitted: true, timeoutMs: 8_000 };
  const deadline = Date.now() + timeoutMs;
  let previous = (await pollTopic(transport, topic, options, (r) => r.records.length >= atLeast, what, timeoutMs)).records;
  for (;;) {
    await sleep(settleMs);
    const next = (await pollTopic(transport, topic, options, (r) => r.records.length >= atLeast, what, Math.max(1, deadline - Date.now()))).records;
    if (next.length === previous.length) return next;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} on ${topic} to settle (${previous.length}, then ${next.length} records)`);
    previous = next;
  }
}

async function pollTopic(transport: Transport, topic: string, options: ReadTopicOptions, accept: (read: TopicRead) => boolean, what: string, timeoutMs: number): Promise<TopicRead> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const read = await readTopicUntilEnd(transport, topic, options);
    if (accept(read)) return read;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} on ${topic} (${read.records.length} records read${read.complete ? '' : ', not to its end offsets'})`);
    }
    await sleep(200);
  }
}

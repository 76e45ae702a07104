/**
 * Exactly once across a crash, for the inverse stage: `vgmflow stage inverse` as its own process
 * (bin/vgmflow.js, run through tests/support/processes.ts like the transform kill test in
 * kafka-transform.test.ts), fed CSV-layout encoded messages while it runs, SIGKILLed mid-way
 * and restarted with the same --transactional-id. Afterwards, read with read_committed:
 *   - every good encoded row is in `<prefix>.decoded` exactly once, in the partition of its
 *     message, and its CSV line equals what the pure functions (inverseContext/inverseMessage)
 *     give for the same input record — and that decodes back to the sample row it encodes;
 *   - every bad row (wrong width, non-numbers, spread through the input, alone or inside
 *     multi-row messages) is in `<prefix>.dlq` exactly once, equal to the pure dead letter;
 *   - the rows committed before the kill plus the rows the restarted process reports add up
 *     to the input exactly (nothing committed twice, nothing lost).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatNumber } from '../../core/csv/csv';
import { inverseContext, inverseMessage, type DecodedRow } from '../../stages/inverse/inverse-batch';
import { RowEncoder } from '../../core/normalization/encoder';
import type { TransformerModel } from '../../core/normalization/model';
import { deadLetterCodec, type DeadLetterRecord } from '../../topics/dead-letter';
import { readTopicUntilEnd } from '../../pipeline/runners/read-topic';
import { readTopicSettled } from '../support/committed-reads';
import { KafkaTransport } from '../../topics/kafka';
import { stageGroup, topicNames, topicSpecs } from '../../topics/topology';
import type { OutRecord } from '../../topics/transport';
import { fitSlice, publishModel, stageProgress, waitForGroupCommit } from '../support/kafka-stages';
import { ensureCliBuilt, Processes, sleep, waitUntil, type Child } from '../support/processes';
import { cellsOf, expectCellsClose, sampleLines } from '../support/sample';
import { stackConfig, uniqueName } from '../support/stack';

jest.setTimeout(300_000);

/** The model is fitted on the first SAMPLE_ROWS rows of the sample; encoded row i is sample row i mod SAMPLE_ROWS. */
const SAMPLE_ROWS = 1000;
/** Good encoded rows in the input. */
const GOOD = 6000;
const PARTITIONS = 6;
/**
 * Input messages sent before the stage starts (a backlog, so the first process is busy when it
 * is killed), then per send while the stage runs, and the pause between sends.
 */
const BACKLOG_MESSAGES = 1500;
const MESSAGES_PER_ROUND = 40;
const ROUND_PAUSE_MS = 100;
/** The first process is killed once it reports at least this many committed rows. */
const KILL_AFTER_ROWS = 1000;
const JOB = 'inverse-kill-job';

type BadKind = 'too few values' | 'not a number' | 'too many values' | 'NaN' | 'empty value' | 'overflow';
const BAD_KINDS: readonly BadKind[] = ['too few values', 'not a number', 'too many values', 'NaN', 'empty value', 'overflow'];

/** A good encoded row's fields made bad in one way. */
function spoil(fields: readonly string[], kind: BadKind): string[] {
  const f = [...fields];
  switch (kind) {
    case 'too few values':
      return f.slice(0, -1);
    case 'too many values':
      return [...f, '0'];
    case 'not a number':
      f[3] = 'abc';
      return f;
    case 'NaN':
      f[0] = 'NaN';
      return f;
    case 'empty value':
      f[5] = '';
      return f;
    case 'overflow':
      f[0] = '1e999';
      return f;
  }
}

/** One input message: its CSV lines are, in order, the encoded sample rows `rows` names ('bad': a spoiled one). */
interface InputMessage {
  readonly partition: number;
  readonly key: string | null;
  readonly text: string;
  readonly rows: readonly (number | 'bad')[];
}

describe('vgmflow stage inverse, SIGKILLed and restarted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vgm-inverse-kill-'));
  const prefix = uniqueName('kik');
  const topics = topicNames(prefix);
  const encoded = topicNames(prefix).encoded;
  const decoded = topicNames(prefix).decoded;
  const group = stageGroup(topics, 'inverse');
  const lines = sampleLines(SAMPLE_ROWS);
  const procs = new Processes({ logDir: join(dir, 'logs') });
  let transport: KafkaTransport;
  let model: TransformerModel;

  function inputMessages(): InputMessage[] {
    const encoder = new RowEncoder(model);
    const fieldsOf = (i: number): string[] =>
      Array.from(encoder.encode(cellsOf(lines[i % SAMPLE_ROWS] as string), { partition: i % PARTITIONS, offset: i, rowInMessage: 0 }).vector, formatNumber);
    const messages: InputMessage[] = [];
    const push = (key: string | null, rows: readonly (number | 'bad')[], texts: readonly string[]): void => {
      messages.push({ partition: messages.length % PARTITIONS, key, rows, text: `${texts.join('\n')}\n` });
    };
    // Bad rows at evenly spread positions; odd ones inside a three-line message.
    const badAt = BAD_KINDS.map((_, k) => Math.floor((GOOD * (2 * k + 1)) / (2 * BAD_KINDS.length)));
    let nextBad = 0;
    let i = 0;
    while (i < GOOD) {
      if (nextBad < BAD_KINDS.length && i >= (badAt[nextBad] as number)) {
        const kind = BAD_KINDS[nextBad] as BadKind;
        const bad = spoil(fieldsOf(i), kind).join(',');
        if (nextBad % 2 === 0) {
          push(`bad-${nextBad}`, ['bad'], [bad]);
        } else {
          push(null, [i, 'bad', i + 1], [fieldsOf(i).join(','), bad, fieldsOf(i + 1).join(',')]);
          i += 2;
        }
        nextBad++;
        continue;
      }
      if (messages.length % 5 === 4) {
        // Several rows in one message (no key: rows are keyed partition:offset:row).
        const rows: number[] = [];
        for (let r = i; r < Math.min(i + 4, GOOD); r++) rows.push(r);
        push(null, rows, rows.map((r) => fieldsOf(r).join(',')));
        i += rows.length;
      } else {
        push(`r${i}`, [i], [fieldsOf(i).join(',')]);
        i++;
      }
    }
    expect(nextBad).toBe(BAD_KINDS.length);
    return messages;
  }

  const startStage = (): Child =>
    procs.spawn('inverse', ['stage', 'inverse', '--brokers', stackConfig().kafkaBrokers.join(','), '--topic-prefix', prefix, '--output-format', 'csv', '--transactional-id', `${prefix}-tx`]);

  beforeAll(async () => {
    // The CLI as users run it: bin/vgmflow.js over dist/, rebuilt first if a source is newer.
    ensureCliBuilt();
    model = await fitSlice(dir, lines);
    transport = new KafkaTransport({ brokers: stackConfig().kafkaBrokers, clientId: 'kik-test', log: () => undefined });
    await transport.ensureTopics([
      ...topicSpecs(topics, PARTITIONS),
      { name: encoded, partitions: PARTITIONS, config: { 'retention.ms': '-1' } },
      { name: decoded, partitions: PARTITIONS, config: { 'retention.ms': '-1' } },
    ]);
    await publishModel(transport, topics.models, JOB, model);
  });

  afterAll(async () => {
    await procs.killAll();
    await transport?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('decodes every row exactly once and dead-letters every bad row once after a SIGKILL mid-way and a restart', async () => {
    const t0 = Date.now();
    const messages = inputMessages();
    const badRows = messages.reduce((n, m) => n + m.rows.filter((r) => r === 'bad').length, 0);
    expect(badRows).toBe(BAD_KINDS.length);

    const producer = await transport.producer();
    let sent = 0;
    const send = async (from: number, to: number): Promise<void> => {
      const out: OutRecord[] = messages.slice(from, to).map((m) => ({
        topic: encoded,
        partition: m.partition,
        key: m.key,
        value: Buffer.from(m.text, 'utf8'),
        headers: { rows: m.rows.join(',') },
      }));
      await producer.send(out);
      sent += out.length;
    };
    await send(0, BACKLOG_MESSAGES);
    const first = startStage();
    await first.waitFor(/consuming /, { stream: 'stderr', timeoutMs: 120_000 });
    // Feed the rest a little at a time while the stage runs.
    const feeding = (async () => {
      for (let k = BACKLOG_MESSAGES; k < messages.length; k += MESSAGES_PER_ROUND) {
        await send(k, k + MESSAGES_PER_ROUND);
        await sleep(ROUND_PAUSE_MS);
      }
    })();
    feeding.catch(() => undefined);
    await waitUntil(() => stageProgress(first, 'inverse').rows >= KILL_AFTER_ROWS, 'the first process to commit some rows', 120_000, () => first.describe());
    // Whether the kill catches a transaction that has already sent decoded rows is luck; the
    // last log line counts the records of aborted transactions on the decoded topic.
    await first.kill('SIGKILL');
    const sentAtKill = sent;
    const reported = stageProgress(first, 'inverse');

    // What the first process committed, before anyone aborts its open transaction (if any): at
    // least what it reported (its last commit's markers may land a moment after the kill).
    const atKill = await readTopicSettled(transport, decoded, reported.rows, 'the rows the first process committed');
    const deadAtKill = await readTopicSettled(transport, topics.deadLetters, reported.deadLettered, 'the dead letters the first process committed');
    const decodedAtKill = atKill.length;
    console.log(
      `inverse kill test: killed after ${((Date.now() - t0) / 1000).toFixed(1)} s; first process reported ${reported.rows} rows and ${reported.deadLettered} dead letters; ` +
        `read_committed at the kill: ${decodedAtKill} of ${GOOD} decoded rows, ${deadAtKill.length} of ${badRows} dead letters; ` +
        `${sentAtKill} of ${messages.length} input messages sent`,
    );
    expect(decodedAtKill).toBeGreaterThanOrEqual(reported.rows);
    expect(decodedAtKill).toBeGreaterThan(0);
    expect(decodedAtKill).toBeLessThan(GOOD);

    const restartedAt = Date.now();
    const second = startStage();
    await feeding;
    await producer.close();
    expect(sent).toBe(messages.length);
    // Done when the group has committed every input message.
    const ends = await transport.endOffsets(encoded);
    expect(ends.reduce((a, b) => a + b, 0)).toBe(messages.length);
    await waitForGroupCommit(transport, group, encoded, ends, 180_000, () => second.describe());
    const caughtUp = (Date.now() - restartedAt) / 1000;
    expect(await second.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    const resumed = stageProgress(second, 'inverse');

    const [input, out, raw, dlq] = await Promise.all([
      readTopicUntilEnd(transport, encoded, { readCommitted: true, timeoutMs: 60_000 }),
      readTopicUntilEnd(transport, decoded, { readCommitted: true, timeoutMs: 60_000 }),
      readTopicUntilEnd(transport, decoded, { readCommitted: false, timeoutMs: 60_000 }),
      readTopicUntilEnd(transport, topics.deadLetters, { readCommitted: true, timeoutMs: 60_000 }),
    ]);
    expect([input.complete, out.complete, raw.complete, dlq.complete]).toEqual([true, true, true, true]);
    expect(input.records).toHaveLength(messages.length);

    // The expectation: the pure functions applied to each input record as it is on the topic.
    const ctx = inverseContext(model, JOB);
    const expected = new Map<string, { partition: number; row: DecodedRow; sampleRow: number }>();
    const expectedDead = new Map<string, DeadLetterRecord>();
    for (const r of input.records) {
      const plan = (r.headers.rows ?? '').split(',').map((x) => (x === 'bad' ? ('bad' as const) : Number(x)));
      const result = inverseMessage(ctx, { topic: encoded, partition: r.partition, offset: r.offset, key: r.key }, { kind: 'csv', text: Buffer.from(r.value).toString('utf8') });
      // The pure functions decode exactly the rows planned good and dead-letter exactly the bad ones.
      expect(result.rows.map((d) => d.row)).toEqual(plan.flatMap((p, k) => (p === 'bad' ? [] : [k])));
      expect(result.deadLetters.map((d) => d.line)).toEqual(plan.flatMap((p, k) => (p === 'bad' ? [k + 1] : [])));
      for (const row of result.rows) {
        expect(expected.has(row.key)).toBe(false);
        expected.set(row.key, { partition: r.partition, row, sampleRow: (plan[row.row] as number) % SAMPLE_ROWS });
      }
      for (const d of result.deadLetters) expectedDead.set(`${d.partition}:${d.offset}:${d.line}`, d);
    }
    expect(expected.size).toBe(GOOD);
    expect(expectedDead.size).toBe(badRows);
    // And what they decode is the sample row that was encoded (numbers to 1e-9·max(1,|x|)).
    for (const { row, sampleRow } of expected.values()) expectCellsClose(row.values, cellsOf(lines[sampleRow] as string), `row ${row.key}`);

    // Every decoded row exactly once, equal to the pure decoding of the same input row.
    const seen = new Set<string>();
    for (const r of out.records) {
      const key = r.key as string;
      if (seen.has(key)) throw new Error(`decoded row ${key} appears more than once`);
      seen.add(key);
      const want = expected.get(key);
      if (want === undefined) throw new Error(`unexpected decoded key ${key}`);
      expect(r.partition).toBe(want.partition);
      expect(r.headers['model-version']).toBe(JOB);
      expect(Buffer.from(r.value).toString('utf8')).toBe(want.row.csv);
    }
    expect(seen.size).toBe(GOOD);
    expect(out.records).toHaveLength(GOOD);

    // Every bad row exactly once in the dead-letter topic, in the partition of its source.
    const seenDead = new Set<string>();
    for (const r of dlq.records) {
      const d = deadLetterCodec.decode(r.value);
      const id = `${d.partition}:${d.offset}:${d.line}`;
      if (seenDead.has(id)) throw new Error(`dead letter ${id} appears more than once`);
      seenDead.add(id);
      expect(r.partition).toBe(d.partition);
      expect(d).toEqual(expectedDead.get(id));
    }
    expect(dlq.records).toHaveLength(badRows);
    expect([...seenDead].sort()).toEqual([...expectedDead.keys()].sort());

    // What the first process committed plus what the second did is the input, exactly.
    expect(decodedAtKill + resumed.rows).toBe(GOOD);
    expect(deadAtKill.length + resumed.deadLettered).toBe(badRows);
    console.log(
      `inverse kill test: restarted process decoded ${resumed.rows} rows and dead-lettered ${resumed.deadLettered}; ` +
        `${raw.records.length - out.records.length} decoded records of aborted transactions on the topic; caught up ${caughtUp.toFixed(1)} s after the restart; total ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  });
});

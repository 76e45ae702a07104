// The subscription never waits for ever on kafkajs: a consumer that neither joins nor crashes, or
// a disconnect that never settles, fails it with BrokerUnavailableError after the outage bound.
// kafkajs's Consumer is replaced by a stand-in that hangs where it is told to.
import { EventEmitter } from 'node:events';
import type { Consumer } from 'kafkajs';
import { KafkaSubscription } from '../../topics/kafka/consumer-group';
import { Outages } from '../../topics/kafka/errors';
import { BrokerUnavailableError } from '../../topics/transport';

const never = new Promise<void>(() => undefined);

/** A consumer whose run resolves without a join (as kafkajs's does while a JoinGroup is stuck), and whose disconnect may hang too. */
function hangingConsumer(opts: { joins: boolean; disconnectHangs: boolean }): Consumer {
  const emitter = new EventEmitter();
  const events = { GROUP_JOIN: 'group_join', END_BATCH_PROCESS: 'end_batch', CRASH: 'crash' };
  const consumer = {
    events,
    on: (event: string, listener: (e: unknown) => void) => emitter.on(event, listener),
    connect: async () => undefined,
    subscribe: async () => undefined,
    run: async () => {
      if (opts.joins) setImmediate(() => emitter.emit(events.GROUP_JOIN, { payload: { memberAssignment: { t: [0] } } }));
      else await never;
    },
    disconnect: () => (opts.disconnectHangs ? never : Promise.resolve()),
  };
  return consumer as unknown as Consumer;
}

function subscription(consumer: Consumer, lines: string[]): KafkaSubscription {
  return new KafkaSubscription(
    () => consumer,
    'g',
    { topic: 't', group: 'g', eachBatch: async () => undefined },
    500,
    (l) => lines.push(l),
    new Outages(200, 'broker:9092', (l) => lines.push(l)),
    () => undefined,
  );
}

describe('KafkaSubscription bounds', () => {
  it('fails start() with the reason when the consumer never joins (and does not hang on stopping it)', async () => {
    const lines: string[] = [];
    const sub = subscription(hangingConsumer({ joins: false, disconnectHangs: false }), lines);
    const started = Date.now();
    await expect(sub.start()).rejects.toThrow(BrokerUnavailableError);
    await expect(sub.done).rejects.toThrow('the consumer of t (group g) did not join its group within 0 s');
    // The join bound, then the stop bound for the run that never settles.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(lines.some((l) => l.includes('did not join its group'))).toBe(true);
  });

  it('ends stop() and fails the subscription with the reason when disconnecting never settles', async () => {
    const lines: string[] = [];
    const sub = subscription(hangingConsumer({ joins: true, disconnectHangs: true }), lines);
    await sub.start();
    await sub.stop();
    await expect(sub.done).rejects.toThrow('the consumer of t (group g) did not stop within 0 s');
    expect(lines.some((l) => l.includes('did not stop'))).toBe(true);
  });

  it('stops cleanly when the consumer joined and disconnects', async () => {
    const sub = subscription(hangingConsumer({ joins: true, disconnectHangs: false }), []);
    await sub.start();
    await expect(sub.stop()).resolves.toBeUndefined();
  });
});

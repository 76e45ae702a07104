/**
 * Runs a long-lived stage (transform, inverse) as a one-shot job: start it, wait for it to
 * have a model, let it read its input topic up to the end offsets it had at the start, stop
 * it. What the stage commits is committed exactly as when it runs for ever (the same stage,
 * consumer group and transactions), so a later run, or a `vgmflow stage` process, goes on
 * from where this one stopped. It refuses to start while the group has other members (a
 * running stage): they would own some of the partitions it waits for.
 */
import type { Transport } from '../../topics/transport';
import { trackCatchUp, type CatchUpProgress } from './catch-up';
import type { RowStageHandle } from '../../stages/runner/stage-handle';

/** The part of a stage handle a one-shot run needs. */
export interface UntilCaughtUpOptions<H extends RowStageHandle> {
  readonly transport: Transport;
  /** The stage's input topic and consumer group. */
  readonly topic: string;
  readonly group: string;
  /** Starts the stage, passing `onInputPosition` on to it. */
  start(onInputPosition: (partition: number, nextOffset: number) => void): Promise<H>;
  /** How long the stage may take to start (to find its model) before the run fails. */
  readonly startTimeoutMs: number;
  /** The error message when it does not start in time. */
  readonly notStartedMessage: string;
  /** Called every `tickMs` while the stage runs, and once at the end. */
  readonly onTick?: (progress: CatchUpProgress, handle: H) => void;
  readonly tickMs?: number;
  /** Aborting stops the stage (what it committed stays) and rejects with InterruptedError. */
  readonly signal?: AbortSignal;
}

export class InterruptedError extends Error {}

export class NotStartedError extends Error {}

/** The stage's group has other members: they own some partitions, so this run could not finish on its own. */
export class GroupBusyError extends Error {}

function aborted(signal: AbortSignal | undefined): Promise<never> {
  return new Promise<never>((_, reject) => {
    if (signal === undefined) return;
    const fire = (): void => reject(new InterruptedError('interrupted'));
    if (signal.aborted) fire();
    else signal.addEventListener('abort', fire, { once: true });
  });
}

/** Resolves with the (stopped) stage handle once its input is read up to the end at start. */
export async function runUntilCaughtUp<H extends RowStageHandle>(o: UntilCaughtUpOptions<H>): Promise<H> {
  const members = await o.transport.groupMembers(o.group);
  if (members > 0) {
    throw new GroupBusyError(
      `consumer group ${o.group} already has ${members} member(s), e.g. a running \`vgmflow stage\`: they own part of ${o.topic}, ` +
        'so this run would wait on them. Stop them first, or let them do the work.',
    );
  }
  const catchUp = await trackCatchUp({ transport: o.transport, topic: o.topic, group: o.group });
  const interrupted = aborted(o.signal);
  interrupted.catch(() => undefined);
  let handle: H | null = null;
  let ticker: NodeJS.Timeout | undefined;
  try {
    const h = await o.start(catchUp.onPosition);
    handle = h;
    const endedEarly = h.done.then(() => {
      throw new Error('the stage stopped before it had read its input');
    });
    endedEarly.catch(() => undefined);

    let timer: NodeJS.Timeout | undefined;
    const tooLate = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new NotStartedError(o.notStartedMessage)), o.startTimeoutMs);
    });
    try {
      await Promise.race([h.started, tooLate, endedEarly, interrupted]);
    } finally {
      clearTimeout(timer);
    }

    const tick = (): void => o.onTick?.(catchUp.progress(), h);
    ticker = setInterval(tick, o.tickMs ?? 200);
    await Promise.race([catchUp.reached, endedEarly, interrupted]);
    clearInterval(ticker);
    tick();
    return h;
  } finally {
    clearInterval(ticker);
    catchUp.close();
    await handle?.stop();
  }
}

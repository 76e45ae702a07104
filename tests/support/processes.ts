/**
 * Child processes of the `vgmflow` command line for integration tests: spawn `node
 * bin/vgmflow.js …` with stdout and stderr captured (and copied to a log file), wait for
 * output matching a regex, signal them, and make sure none outlives its test.
 *
 *   const procs = new Processes({ cwd: tmp, logDir: tmp });
 *   afterEach(() => procs.killAll());          // or afterAll for long-lived ones
 *   const reduce = procs.spawn('reduce', ['stage', 'reduce', '--brokers', b, '--topic-prefix', p]);
 *   await reduce.waitFor(/running/);
 *   await reduce.kill('SIGKILL');
 *
 * Last resorts, for a test run that is interrupted or crashes before its afterEach/afterAll:
 * every child still running when the test process exits (or gets SIGTERM/SIGHUP) is SIGKILLed,
 * and each child SIGKILLs itself once its parent is gone (a preloaded watchdog polls its
 * parent pid), so no stage process is left running forever after a jest worker dies.
 */
import { spawn, type ChildProcess } from 'child_process';
import { createHash } from 'crypto';
import { createWriteStream, existsSync, mkdirSync, renameSync, writeFileSync, type WriteStream } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { BIN, ROOT } from './build';

// The build the children run; re-exported so that integration tests import one module.
export { BIN, ensureCliBuilt, ROOT } from './build';

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `predicate` until it holds; the error names `what` and adds `detail()` (e.g. logs). */
/**
 * Polls `predicate` until it holds. `running` is the promise of the thing that should make it
 * hold (an in-process stage's `done`): if that ends first, the wait fails at once with its
 * error instead of timing out minutes later with none.
 */
export async function waitUntil(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs: number, detail?: () => string, running?: Promise<unknown>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let ended: string | null = null;
  running?.then(
    () => (ended = 'it ended'),
    (err: unknown) => (ended = `it failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`),
  );
  for (;;) {
    if (await predicate()) return;
    if (ended !== null) throw new Error(`stopped waiting for ${what}: ${ended} first${detail === undefined ? '' : `\n${detail()}`}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail === undefined ? '' : `\n${detail()}`}`);
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------------------
// Last resort: no child outlives the test process.

const live = new Set<ChildProcess>();
let hooksInstalled = false;

function killLive(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killLive);
  for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killLive();
      // Nobody else listens: do what the signal would have done without this listener.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

/** Preloaded into each child (node -r): exits when the parent that spawned it is gone. */
const WATCHDOG = `'use strict';
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL');
}, 500).unref();
`;

/** The watchdog as a file (one per content, shared by runs; written whole, then renamed). */
function watchdog(): string {
  const path = join(tmpdir(), `vgmflow-test-watchdog-${createHash('sha256').update(WATCHDOG).digest('hex').slice(0, 12)}.js`);
  if (!existsSync(path)) {
    const part = `${path}.${process.pid}.tmp`;
    writeFileSync(part, WATCHDOG);
    renameSync(part, path);
  }
  return path;
}

// ---------------------------------------------------------------------------------------

/** A position in a child's output. */
export interface OutputMark {
  readonly out: number;
  readonly err: number;
}

export interface WaitOptions {
  /** Search only the output after this mark (see Child.mark()); default: all of it. */
  readonly since?: OutputMark;
  /** Default 60 s. */
  readonly timeoutMs?: number;
  /** Which output to search; default both (stderr and stdout, each on its own). */
  readonly stream?: 'stdout' | 'stderr' | 'both';
}

/** One running (or finished) child process. */
export class Child {
  private out = '';
  private err = '';
  private exit: Exit | null = null;
  private readonly listeners = new Set<() => void>();
  readonly exited: Promise<Exit>;
  readonly startedAt = Date.now();

  constructor(
    readonly name: string,
    readonly args: readonly string[],
    private readonly proc: ChildProcess,
    private readonly logFile: WriteStream | null,
    readonly logPath: string | null,
  ) {
    live.add(proc);
    proc.stdout?.setEncoding('utf8');
    proc.stderr?.setEncoding('utf8');
    proc.stdout?.on('data', (chunk: string) => this.append('out', chunk));
    proc.stderr?.on('data', (chunk: string) => this.append('err', chunk));
    this.exited = new Promise<Exit>((resolve) => {
      // 'close': the process has exited and its output has been read to the end.
      proc.on('close', (code, signal) => {
        live.delete(proc);
        this.exit = { code, signal };
        this.logFile?.end(`--- exited after ${((Date.now() - this.startedAt) / 1000).toFixed(1)} s: code ${String(code)}, signal ${String(signal)}\n`);
        this.notify();
        resolve(this.exit);
      });
      proc.on('error', (error) => {
        live.delete(proc);
        this.err += `\n[spawn error] ${error.message}\n`;
        this.exit ??= { code: null, signal: null };
        this.logFile?.end();
        this.notify();
        resolve(this.exit);
      });
    });
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get stdout(): string {
    return this.out;
  }

  get stderr(): string {
    return this.err;
  }

  /** Null while running. */
  get exitStatus(): Exit | null {
    return this.exit;
  }

  get running(): boolean {
    return this.exit === null;
  }

  /** The current end of the output: pass as `since` to wait only for what comes next. */
  mark(): OutputMark {
    return { out: this.out.length, err: this.err.length };
  }

  /** Last lines of both outputs, for error messages. */
  describe(lines = 40): string {
    const tail = (text: string): string => text.split('\n').slice(-lines).join('\n');
    const status = this.exit === null ? `running (pid ${String(this.proc.pid)})` : `exited: code ${String(this.exit.code)}, signal ${String(this.exit.signal)}`;
    return (
      `--- ${this.name}: vgmflow ${this.args.join(' ')}\n    ${status}${this.logPath === null ? '' : `; log ${this.logPath}`}\n` +
      (this.out === '' ? '' : `--- ${this.name} stdout (tail)\n${tail(this.out)}\n`) +
      `--- ${this.name} stderr (tail)\n${tail(this.err)}\n`
    );
  }

  /**
   * Resolves with the first match of `re` in the output (from `since`); rejects when the
   * child exits without printing it, or on timeout. `re` should not be global.
   */
  waitFor(re: RegExp, options: WaitOptions = {}): Promise<RegExpExecArray> {
    const since = options.since ?? { out: 0, err: 0 };
    const timeoutMs = options.timeoutMs ?? 60_000;
    const stream = options.stream ?? 'both';
    const search = (): RegExpExecArray | null => {
      if (stream !== 'stdout') {
        const m = re.exec(this.err.slice(since.err));
        if (m !== null) return m;
      }
      return stream === 'stderr' ? null : re.exec(this.out.slice(since.out));
    };
    return new Promise<RegExpExecArray>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const check = (): void => {
        const m = search();
        if (m !== null) finish(() => resolve(m));
        else if (this.exit !== null) finish(() => reject(new Error(`${this.name} exited before printing ${String(re)}\n${this.describe()}`)));
      };
      const finish = (settle: () => void): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
        settle();
      };
      timer = setTimeout(() => finish(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${this.name} to print ${String(re)}\n${this.describe()}`))), timeoutMs);
      this.listeners.add(check);
      check();
    });
  }

  /** Sends `signal` (if still running) and resolves once the process has exited. */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
    if (this.exit === null) this.proc.kill(signal);
    return this.exited;
  }

  /** SIGTERM, then SIGKILL if still running after `graceMs`. */
  async stop(graceMs = 5_000): Promise<Exit> {
    if (this.exit !== null) return this.exit;
    this.proc.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([this.exited, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), graceMs)))]);
    clearTimeout(timer);
    if (exit !== null) return exit;
    return this.kill('SIGKILL');
  }

  /** Waits for the exit; rejects on timeout (the process is left running for the cleanup). */
  async waitForExit(timeoutMs = 60_000): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([this.exited, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs)))]);
    clearTimeout(timer);
    if (exit === null) throw new Error(`timed out after ${timeoutMs} ms waiting for ${this.name} to exit\n${this.describe()}`);
    return exit;
  }

  /** Waits for exit code 0; otherwise throws with the child's output. */
  async succeeded(timeoutMs = 60_000): Promise<void> {
    const exit = await this.waitForExit(timeoutMs);
    if (exit.code !== 0) throw new Error(`${this.name} failed\n${this.describe()}`);
  }

  private append(which: 'out' | 'err', chunk: string): void {
    if (which === 'out') this.out += chunk;
    else this.err += chunk;
    this.logFile?.write(chunk);
    this.notify();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

export interface ProcessesOptions {
  /** Working directory of the children. Default: the repository root. */
  readonly cwd?: string;
  /** When set (created if missing), each child's output is also written to `<logDir>/<name>.log`. */
  readonly logDir?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Preload the parent-death watchdog into each child. Default true. */
  readonly watchdog?: boolean;
}

/** A set of `vgmflow` children that are cleaned up together (killAll in afterEach/afterAll). */
export class Processes {
  private readonly children: Child[] = [];
  private readonly names = new Map<string, number>();

  constructor(private readonly options: ProcessesOptions = {}) {
    installHooks();
    if (options.logDir !== undefined) mkdirSync(options.logDir, { recursive: true });
  }

  /** Starts `node bin/vgmflow.js …args`. Names are made unique for the log files (w1, w1-2…). */
  spawn(name: string, args: readonly string[]): Child {
    const n = (this.names.get(name) ?? 0) + 1;
    this.names.set(name, n);
    const unique = n === 1 ? name : `${name}-${n}`;
    const preload = this.options.watchdog === false ? [] : ['-r', watchdog()];
    const proc = spawn(process.execPath, [...preload, BIN, ...args], {
      cwd: this.options.cwd ?? ROOT,
      env: { ...process.env, ...(this.options.env ?? {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const logPath = this.options.logDir === undefined ? null : join(this.options.logDir, `${unique}.log`);
    const logFile = logPath === null ? null : createWriteStream(logPath);
    logFile?.on('error', () => undefined);
    logFile?.write(`--- vgmflow ${args.join(' ')}\n`);
    const child = new Child(unique, args, proc, logFile, logPath);
    this.children.push(child);
    return child;
  }

  get all(): readonly Child[] {
    return this.children;
  }

  get running(): Child[] {
    return this.children.filter((c) => c.running);
  }

  /** Output of every child, for a failing assertion's message. */
  describe(lines = 40): string {
    return this.children.map((c) => c.describe(lines)).join('');
  }

  /**
   * Stops every child still running: SIGTERM (stages leave their groups cleanly), SIGKILL after
   * `graceMs`. Never throws, so it is safe in afterEach/afterAll after a failed test.
   */
  async killAll(graceMs = 5_000): Promise<void> {
    await Promise.allSettled(this.children.map((c) => c.stop(graceMs)));
  }
}

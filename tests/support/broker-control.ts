/**
 * SIGKILLs and restarts the Kafka broker of the tests' stack, through infra/local/stack.sh
 * (`kill-broker`, `start-broker`; the broker's data is kept) — only when that stack is the
 * infra/local stack this checkout's stack.sh manages: its env file (in $STACK_DIR, default
 * <repo>/.stack) names the same KAFKA_BROKERS the tests use, and stack.sh reports its broker
 * healthy. Any other stack (named by environment, testcontainers, someone else's stack dir) is
 * not ours to kill: the caller skips, with the reason.
 */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const STACK_SCRIPT = path.join(REPO_ROOT, 'infra', 'local', 'stack.sh');

export interface BrokerControl {
  /** SIGKILLs the broker; resolves once it is gone. */
  kill(): Promise<void>;
  /** Starts it again on its data; resolves once it answers. A no-op when it is healthy. */
  start(): Promise<void>;
}

export type BrokerControlOrReason = { readonly control: BrokerControl } | { readonly reason: string };

function stackSh(command: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('bash', [STACK_SCRIPT, command], { cwd: REPO_ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  return { status: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Runs a stack.sh command that changes the stack, without blocking the test's event loop. */
function stackShAsync(command: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [STACK_SCRIPT, command], { cwd: REPO_ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`stack.sh ${command} exited ${String(code)}:\n${output}`))));
  });
}

/** The broker's control when the tests' Kafka is this checkout's infra/local broker; else why not. */
export function localBrokerControl(): BrokerControlOrReason {
  const brokers = (process.env.KAFKA_BROKERS ?? '').trim();
  if (brokers === '') return { reason: 'KAFKA_BROKERS is not set' };
  const stackDir = process.env.STACK_DIR ?? path.join(REPO_ROOT, '.stack');
  const env = stackSh('env');
  const named = /^export KAFKA_BROKERS=(.*)$/m.exec(env.stdout)?.[1]?.trim();
  if (env.status !== 0 || named === undefined) {
    return { reason: `no infra/local stack env file in STACK_DIR=${stackDir}, so the broker at ${brokers} is not one stack.sh can restart` };
  }
  if (named !== brokers) {
    return { reason: `the tests use Kafka at ${brokers}, but the infra/local stack in STACK_DIR=${stackDir} is at ${named}; set STACK_DIR to the tests' stack to run this` };
  }
  const status = stackSh('status');
  if (!/^kafka\s+healthy\b/m.test(status.stdout)) {
    return { reason: `stack.sh status does not report the broker of STACK_DIR=${stackDir} healthy:\n${status.stdout}` };
  }
  return { control: { kill: () => stackShAsync('kill-broker'), start: () => stackShAsync('start-broker') } };
}

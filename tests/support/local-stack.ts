// The infra/local provider: drives infra/local/stack.sh and reads back the env file it writes.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { StackHandle } from './stack-handle';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const STACK_SCRIPT = path.join(REPO_ROOT, 'infra', 'local', 'stack.sh');

function runStack(command: string, stdio: 'inherit' | 'ignore' | 'pipe'): { status: number; stdout: string } {
  const result = spawnSync('bash', [STACK_SCRIPT, command], {
    cwd: REPO_ROOT,
    env: process.env,
    // stdin is closed: CI runs without one, and stack.sh must never wait on it.
    stdio: ['ignore', stdio, stdio === 'pipe' ? 'inherit' : stdio],
    encoding: 'utf8',
  });
  if (result.error) throw result.error;
  return { status: result.status ?? 1, stdout: typeof result.stdout === 'string' ? result.stdout : '' };
}

/** True when stack.sh reports all three services healthy. */
export function localStackRunning(): boolean {
  return runStack('status', 'ignore').status === 0;
}

/** Copies the `export KEY=value` lines of the stack env file into process.env. */
function loadStackEnv(): void {
  const { status, stdout } = runStack('env', 'pipe');
  if (status !== 0) throw new Error('infra/local/stack.sh env: no stack env file; did `stack.sh up` succeed?');
  for (const line of stdout.split('\n')) {
    const match = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) process.env[match[1]] = match[2];
  }
}

/**
 * Uses the infra/local stack, starting it first when `start` is set. The handle stops it in
 * teardown only in that case: a stack somebody else started stays up for them.
 */
export function startLocalStack(start: boolean, log: (message: string) => void): StackHandle {
  if (start) {
    log('no stack named by environment and no Docker daemon; starting infra/local (stack.sh up)');
    const { status } = runStack('up', 'inherit');
    if (status !== 0) {
      throw new Error(
        `infra/local/stack.sh up failed (exit ${status}); its logs are in .stack/logs (or $STACK_LOG_DIR)`,
      );
    }
  }
  loadStackEnv();
  process.env.STACK_KIND = 'local';
  log(
    `using infra/local (${start ? 'started by this run, stopped at its end' : 'already running, left running'}): ` +
      `kafka ${process.env.KAFKA_BROKERS}, registry ${process.env.SCHEMA_REGISTRY_URL}, s3 ${process.env.S3_ENDPOINT}`,
  );
  return {
    provider: 'local',
    stop: async () => {
      if (!start) return;
      log('stopping infra/local (stack.sh down)');
      const { status } = runStack('down', 'inherit');
      if (status !== 0) throw new Error(`infra/local/stack.sh down failed (exit ${status})`);
    },
  };
}

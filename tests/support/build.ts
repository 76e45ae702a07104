/**
 * The compiled CLI that tests run as users do (`node bin/vgmflow.js …` over dist/), rebuilt
 * first when any source is newer than its output.
 */
import { spawnSync } from 'child_process';
import { existsSync, readdirSync, statSync } from 'fs';
import { join, relative } from 'path';

export const ROOT = join(__dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'vgmflow.js');
/** The compiled entry point bin/vgmflow.js loads. */
export const MAIN = join(ROOT, 'dist', 'pipeline', 'main.js');

/** Sources of the build (tsconfig.build.json) whose compiled output is missing or older. */
export function staleSources(): string[] {
  const stale: string[] = [];
  const walk = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        walk(path);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') && !entry.name.endsWith('.test.ts')) {
        const out = join(ROOT, 'dist', relative(ROOT, path)).replace(/\.ts$/, '.js');
        if (!existsSync(out) || statSync(out).mtimeMs < statSync(path).mtimeMs) stale.push(path);
      }
    }
  };
  for (const dir of ['core', 'pipeline', 'stages', 'topics', 'assets']) walk(join(ROOT, dir));
  return stale;
}

function tsc(...extra: string[]): void {
  const bin = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [bin, '-p', 'tsconfig.build.json', ...extra], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) {
    // tsc still emits on type errors (e.g. a file someone is editing); the CLI is tested as built.
    console.warn(`tsc -p tsconfig.build.json ${extra.join(' ')} exited ${String(r.status)}:\n${r.stdout}${r.stderr}`);
  }
}

/**
 * `npm run build` when dist/ is stale. An incremental build first (a few seconds instead of
 * a full type-check); if that leaves an output older than its source (e.g. a source only
 * touched, or dist/ written by another build), a full build.
 */
export function ensureCliBuilt(): void {
  if (existsSync(MAIN) && staleSources().length === 0) return;
  tsc('--incremental', '--tsBuildInfoFile', join(ROOT, 'dist', '.cli-test.tsbuildinfo'));
  if (existsSync(MAIN) && staleSources().length === 0) return;
  tsc();
  if (!existsSync(MAIN)) throw new Error(`the build did not produce ${MAIN}`);
}

#!/usr/bin/env node
// Thin launcher: the CLI is TypeScript compiled to dist/ by `npm run build`
// (run automatically by `npm ci` / `npm install` through the `prepare` script).
'use strict';
const path = require('path');
const fs = require('fs');
const entry = path.join(__dirname, '..', 'dist', 'pipeline', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('vgmflow: not built yet; run `npm ci` (or `npm run build`) in the checkout first\n');
  process.exit(2);
}
// Node exits when nothing is left to wait on, even with the command's promise pending, and then
// with status 0: a bug of that kind must fail loudly, never look like a finished run.
let settled = false;
process.on('exit', (code) => {
  if (!settled && code === 0) {
    process.stderr.write('vgmflow: internal error: the command stopped before it finished (nothing left to wait on)\n');
    process.exitCode = 1;
  }
});
// The reverse: a command that has ended must not keep its process alive (a client that was not
// stopped, a timer left running), or a failed run would look like one still at work. Normally
// the process ends by itself at once; this timer does not hold it.
const EXIT_GRACE_MS = 10000;
function ended(code) {
  settled = true;
  process.exitCode = code;
  setTimeout(() => {
    process.stderr.write(`vgmflow: internal error: the process was still running ${EXIT_GRACE_MS / 1000} s after the command ended; exiting\n`);
    process.exit(code === 0 ? 1 : code);
  }, EXIT_GRACE_MS).unref();
}
// JavaScript's own errors (a TypeError, a RangeError such as a call stack overflow) are bugs of
// vgmflow, not of the input or the cluster: their stack goes with them, for the bug report.
const BUG_ERRORS = [TypeError, RangeError, ReferenceError, SyntaxError];
require(entry).main(process.argv.slice(2)).then(ended, (err) => {
  if (BUG_ERRORS.some((kind) => err instanceof kind)) {
    process.stderr.write(`vgmflow: internal error: ${err.stack ?? err.message}\n`);
  } else {
    process.stderr.write(`vgmflow: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  ended(1);
});

// `node --require tests/bench/memory-sampler.js bin/vgmflow.js …` prints the process's memory
// every VGMFLOW_MEMORY_SAMPLE_MS (default 10 000) ms to stderr: RSS, the JS heap and the memory
// outside it (buffers), in MB. For telling a plateau from growth over a long run, which a peak
// RSS alone cannot.
'use strict';
const { threadId } = require('worker_threads');
const started = Date.now();
const mb = (bytes) => (bytes / 1048576).toFixed(0);
const every = Number(process.env.VGMFLOW_MEMORY_SAMPLE_MS || 10000);
setInterval(() => {
  const m = process.memoryUsage();
  process.stderr.write(
    `[memory ${((Date.now() - started) / 1000).toFixed(0)} s, thread ${threadId}] rss ${mb(m.rss)} heapTotal ${mb(m.heapTotal)} heapUsed ${mb(m.heapUsed)} external ${mb(m.external)} arrayBuffers ${mb(m.arrayBuffers)}\n`,
  );
}, every).unref();

/**
 * The metrics module (pipeline/metrics): what a stage's calls become in the Prometheus text, the
 * consumer lag read at scrape time, and the HTTP endpoints' codes; and the --metrics-port /
 * $VGMFLOW_METRICS_PORT parsing.
 */
import { MetricsPortError, startMetricsServer, type MetricsServer } from '../../pipeline/metrics/metrics-server';
import { LAG_REFRESH_MS, ProcessMetrics } from '../../pipeline/metrics/process-metrics';
import { METRICS_ENV, metricsPort } from '../../pipeline/cli/metrics-option';
import { UsageError } from '../../pipeline/cli/command';
import { sample } from '../support/prometheus-text';

describe('ProcessMetrics', () => {
  it('turns per-batch and per-transaction calls into counters labelled by stage', async () => {
    const metrics = new ProcessMetrics();
    const transform = metrics.stage('transform');
    const ingest = metrics.stage('ingest');
    const before = await metrics.text();
    // Present at 0 before the first batch.
    expect(sample(before, 'vgmflow_rows_out_total', { stage: 'transform' })).toBe(0);

    transform.batch(3);
    transform.batch(5);
    transform.committed(1000, 7);
    transform.committed(24, 0);
    transform.aborted();
    ingest.committed(50, 1);
    const text = await metrics.text();
    expect(sample(text, 'vgmflow_batches_total', { stage: 'transform' })).toBe(2);
    expect(sample(text, 'vgmflow_input_records_total', { stage: 'transform' })).toBe(8);
    expect(sample(text, 'vgmflow_rows_out_total', { stage: 'transform' })).toBe(1024);
    expect(sample(text, 'vgmflow_dead_letters_total', { stage: 'transform' })).toBe(7);
    expect(sample(text, 'vgmflow_rows_in_total', { stage: 'transform' })).toBe(1031);
    expect(sample(text, 'vgmflow_transactions_committed_total', { stage: 'transform' })).toBe(2);
    expect(sample(text, 'vgmflow_transactions_aborted_total', { stage: 'transform' })).toBe(1);
    expect(sample(text, 'vgmflow_rows_out_total', { stage: 'ingest' })).toBe(50);
    expect(sample(text, 'vgmflow_rows_in_total', { stage: 'ingest' })).toBe(51);
    // prom-client's process metrics, with the same prefix.
    expect(sample(text, 'vgmflow_process_resident_memory_bytes', {})).toBeGreaterThan(0);
    expect(text).toMatch(/^# TYPE vgmflow_rows_out_total counter$/m);
  });

  it('keeps one registry per instance (two processes\' worth in one test do not mix)', async () => {
    const a = new ProcessMetrics();
    const b = new ProcessMetrics();
    a.stage('inverse').committed(10, 0);
    b.stage('inverse').committed(3, 0);
    expect(sample(await a.text(), 'vgmflow_rows_out_total', { stage: 'inverse' })).toBe(10);
    expect(sample(await b.text(), 'vgmflow_rows_out_total', { stage: 'inverse' })).toBe(3);
  });

  it('shows only the model in use, and counts installs', async () => {
    const metrics = new ProcessMetrics();
    const stage = metrics.stage('transform');
    stage.modelInUse('default', 'job-1');
    stage.modelInUse('default', 'job-1');
    stage.modelInUse('default', 'job-2');
    const text = await metrics.text();
    expect(sample(text, 'vgmflow_model_info', { stage: 'transform', model_name: 'default', model_version: 'job-2' })).toBe(1);
    expect(sample(text, 'vgmflow_model_info', { stage: 'transform', model_name: 'default', model_version: 'job-1' })).toBeUndefined();
    expect(sample(text, 'vgmflow_model_installs_total', { stage: 'transform' })).toBe(2);
  });

  it('shows a running fit job\'s round and its unfinished columns, and forgets the job when it ends', async () => {
    const metrics = new ProcessMetrics();
    const reduce = metrics.stage('reduce');
    reduce.fitRound('j1', 4, [
      { column: 'Amount', iteration: 2, lowerBound: -1234.5 },
      { column: 'Tip', iteration: 0, lowerBound: -Infinity },
    ]);
    reduce.fitRound('j1', 5, [{ column: 'Amount', iteration: 3, lowerBound: -1200.25 }]);
    let text = await metrics.text();
    expect(sample(text, 'vgmflow_fit_round', { stage: 'reduce', job: 'j1' })).toBe(5);
    expect(sample(text, 'vgmflow_fit_iteration', { stage: 'reduce', job: 'j1', column: 'Amount' })).toBe(3);
    expect(sample(text, 'vgmflow_fit_lower_bound', { stage: 'reduce', job: 'j1', column: 'Amount' })).toBe(-1200.25);
    // Tip finished: its series ends.
    expect(sample(text, 'vgmflow_fit_iteration', { stage: 'reduce', job: 'j1', column: 'Tip' })).toBeUndefined();
    reduce.fitEnded('j1', 'done');
    text = await metrics.text();
    expect(sample(text, 'vgmflow_fit_round', { stage: 'reduce', job: 'j1' })).toBeUndefined();
    expect(sample(text, 'vgmflow_fit_iteration', { stage: 'reduce', job: 'j1', column: 'Amount' })).toBeUndefined();
    expect(sample(text, 'vgmflow_fit_jobs_total', { stage: 'reduce', status: 'done' })).toBe(1);
  });

  it('reads the consumer lag when scraped, at most every LAG_REFRESH_MS, and drops a failed read', async () => {
    const metrics = new ProcessMetrics();
    let reads = 0;
    metrics.stage('transform').lag('p.batches', async () => {
      reads++;
      return new Map([
        [0, 12],
        [3, 0],
      ]);
    });
    metrics.stage('ingest').lag('p.rows', () => Promise.reject(new Error('brokers away')));
    const text = await metrics.text();
    expect(sample(text, 'vgmflow_consumer_lag', { stage: 'transform', topic: 'p.batches', partition: '0' })).toBe(12);
    expect(sample(text, 'vgmflow_consumer_lag', { stage: 'transform', topic: 'p.batches', partition: '3' })).toBe(0);
    expect(text).not.toMatch(/vgmflow_consumer_lag\{[^}]*stage="ingest"/);
    await metrics.text();
    expect(reads).toBe(1);
    expect(LAG_REFRESH_MS).toBeGreaterThan(0);
  });

  it('is ready only when every stage of the process is, and says which one waits', () => {
    const metrics = new ProcessMetrics();
    expect(metrics.readiness().ready).toBe(false);
    const stats = metrics.stage('stats');
    const reduce = metrics.stage('reduce');
    expect(metrics.readiness()).toEqual({ ready: false, reason: 'stats: starting' });
    stats.ready();
    reduce.notReady('replaying p.stats and p.params');
    expect(metrics.readiness()).toEqual({ ready: false, reason: 'reduce: replaying p.stats and p.params' });
    reduce.ready();
    expect(metrics.readiness().ready).toBe(true);
  });
});

describe('metrics server', () => {
  let server: MetricsServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  it('serves /metrics, /healthz and /readyz (503 with the reason, then 200)', async () => {
    const metrics = new ProcessMetrics();
    const transform = metrics.stage('transform');
    transform.notReady('waiting for a model "default" on p.models');
    server = await startMetricsServer(metrics, 0, '127.0.0.1');
    const url = (path: string): string => `http://127.0.0.1:${server?.port ?? 0}${path}`;

    expect((await fetch(url('/healthz'))).status).toBe(200);
    const notReady = await fetch(url('/readyz'));
    expect(notReady.status).toBe(503);
    expect(await notReady.text()).toBe('transform: waiting for a model "default" on p.models\n');

    transform.ready();
    transform.committed(42, 1);
    const ready = await fetch(url('/readyz'));
    expect(ready.status).toBe(200);
    const scrape = await fetch(url('/metrics'));
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await scrape.text();
    expect(sample(text, 'vgmflow_rows_out_total', { stage: 'transform' })).toBe(42);
    expect(sample(text, 'vgmflow_ready', { stage: 'transform' })).toBe(1);

    expect((await fetch(url('/'))).status).toBe(404);
    expect((await fetch(url('/metrics'), { method: 'POST' })).status).toBe(405);
  });

  it('fails with one line naming the port when it is taken', async () => {
    server = await startMetricsServer(new ProcessMetrics(), 0, '127.0.0.1');
    const taken = server.port;
    await expect(startMetricsServer(new ProcessMetrics(), taken, '127.0.0.1')).rejects.toThrow(new MetricsPortError(`cannot serve metrics on port ${taken}: the port is in use`));
  });
});

describe('--metrics-port', () => {
  const saved = process.env[METRICS_ENV];
  afterEach(() => {
    if (saved === undefined) delete process.env[METRICS_ENV];
    else process.env[METRICS_ENV] = saved;
  });
  const args = (values: Record<string, string>) => ({ values, positionals: [] });

  it('takes the flag, else the environment, else no port', () => {
    delete process.env[METRICS_ENV];
    expect(metricsPort(args({}))).toBeNull();
    process.env[METRICS_ENV] = '9464';
    expect(metricsPort(args({}))).toBe(9464);
    expect(metricsPort(args({ 'metrics-port': '9000' }))).toBe(9000);
  });

  it('refuses what is not a port', () => {
    process.env[METRICS_ENV] = 'x';
    expect(() => metricsPort(args({}))).toThrow(UsageError);
    expect(() => metricsPort(args({ 'metrics-port': '70000' }))).toThrow('at most 65535');
    expect(() => metricsPort(args({ 'metrics-port': '-1' }))).toThrow(UsageError);
  });
});

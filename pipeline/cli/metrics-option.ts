/**
 * `--metrics-port <n>` (or $VGMFLOW_METRICS_PORT): the port on which a long-running command
 * serves its stages' Prometheus metrics and probes (pipeline/metrics). No port, no server, and
 * the stages count nothing.
 */
import { InputError } from '../jobs/input-error';
import type { StageMetrics } from '../../stages/runner/stage-metrics';
import { integerOption, stringOption, type ParsedArgs } from './args';
import { UsageError } from './command';

export const METRICS_OPTION = { 'metrics-port': { type: 'string' } } as const;

export const METRICS_ENV = 'VGMFLOW_METRICS_PORT';

export const METRICS_HELP = `  --metrics-port <n>      serve Prometheus metrics (GET /metrics) and probes (GET /healthz: alive;
                          GET /readyz: joined its group and, for transform and inverse, has a
                          model) on this port, all interfaces (or $${METRICS_ENV}; Kubernetes
                          uses 9464; 0: a free port, printed). Default: no server`;

/** The port asked for by --metrics-port or $VGMFLOW_METRICS_PORT; null when neither is set. */
export function metricsPort(args: ParsedArgs): number | null {
  let port: number;
  if (stringOption(args, 'metrics-port') !== undefined) {
    port = integerOption(args, 'metrics-port', 0);
  } else {
    const env = (process.env[METRICS_ENV] ?? '').trim();
    if (env === '') return null;
    if (!/^\d+$/.test(env)) throw new UsageError(`$${METRICS_ENV} must be a port number, got "${env}"`);
    port = Number(env);
  }
  if (port > 65535) throw new UsageError(`the metrics port must be at most 65535, got ${port}`);
  return port;
}

/** A command's metrics: one registry and server for every stage it runs. */
export interface CommandMetrics {
  /** The metrics of one stage (label `stage`); call once per stage instance. */
  stage(name: string): StageMetrics;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Starts the metrics server when a port is asked for (null otherwise), and says where on `log`.
 * A port that cannot be had is the user's to fix: InputError (one line, exit 1).
 */
export async function startCommandMetrics(args: ParsedArgs, log: (line: string) => void): Promise<CommandMetrics | null> {
  const port = metricsPort(args);
  if (port === null) return null;
  // Loaded only when a port is asked for: prom-client takes a tenth of a second to load, and
  // every command that has this option (an embedded fit among them) would pay it.
  const { MetricsPortError, startMetricsServer } = require('../metrics/metrics-server') as typeof import('../metrics/metrics-server');
  const { ProcessMetrics } = require('../metrics/process-metrics') as typeof import('../metrics/process-metrics');
  const metrics = new ProcessMetrics();
  try {
    const server = await startMetricsServer(metrics, port);
    log(`[metrics] serving /metrics, /healthz and /readyz on port ${server.port}`);
    return { stage: (name) => metrics.stage(name), port: server.port, close: () => server.close() };
  } catch (err) {
    if (err instanceof MetricsPortError) throw new InputError(err.message);
    throw err;
  }
}

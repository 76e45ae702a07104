/**
 * The HTTP side of a process's metrics (ISSUE14-INTERFACE.md): GET /metrics (Prometheus text),
 * GET /healthz (200 while the process is alive) and GET /readyz (200 once every stage in the
 * process is ready; 503 with a one-line reason before). Nothing else: 404, or 405 for a method
 * other than GET and HEAD.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ProcessMetrics } from './process-metrics';

export interface MetricsServer {
  /** The port it listens on (the one asked for, or the one the system chose for 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** The server could not listen (port in use, not allowed): the message says which port and why, in one line. */
export class MetricsPortError extends Error {}

function reply(req: IncomingMessage, res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

async function handle(metrics: ProcessMetrics, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/metrics' && path !== '/healthz' && path !== '/readyz') return reply(req, res, 404, 'not found: try /metrics, /healthz or /readyz\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return reply(req, res, 405, 'method not allowed\n');
  }
  if (path === '/healthz') return reply(req, res, 200, 'ok\n');
  if (path === '/readyz') {
    const r = metrics.readiness();
    return reply(req, res, r.ready ? 200 : 503, `${r.reason}\n`);
  }
  try {
    const text = await metrics.text();
    reply(req, res, 200, text, metrics.contentType);
  } catch (err) {
    reply(req, res, 500, `cannot collect the metrics: ${err instanceof Error ? err.message : String(err)}\n`);
  }
}

/** Listens on `port` (all interfaces unless `host` says otherwise) and serves `metrics`. */
export async function startMetricsServer(metrics: ProcessMetrics, port: number, host?: string): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    handle(metrics, req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  // A scraper that keeps its connection open must not keep a stopping process alive.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException): void => {
      const why = err.code === 'EADDRINUSE' ? 'the port is in use' : err.code === 'EACCES' ? 'not allowed to listen on it' : err.message;
      reject(new MetricsPortError(`cannot serve metrics on port ${port}: ${why}`));
    };
    server.once('error', failed);
    server.listen({ port, host }, () => {
      server.off('error', failed);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  let closing: Promise<void> | null = null;
  return {
    port: address.port,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

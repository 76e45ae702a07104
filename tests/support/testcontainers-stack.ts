// The testcontainers provider: Kafka (KRaft, one node), Apicurio Registry and MinIO containers.
// testcontainers is loaded only once a Docker daemon has answered: loading it costs time, and
// some of its releases cannot be loaded at all on older Node versions.
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import type { StartedTestContainer } from 'testcontainers';
import type { StackHandle } from './stack-handle';

// Images can be swapped without code changes, e.g. to a mirror.
const KAFKA_IMAGE = process.env.TC_KAFKA_IMAGE ?? 'apache/kafka:4.1.0';
const APICURIO_IMAGE = process.env.TC_APICURIO_IMAGE ?? 'apicurio/apicurio-registry:3.1.2';
const MINIO_IMAGE = process.env.TC_MINIO_IMAGE ?? 'minio/minio:RELEASE.2025-04-22T22-12-26Z';
const MINIO_USER = 'vgmflow';
const MINIO_PASSWORD = 'vgmflow-minio-secret';

function ping(options: http.RequestOptions): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ ...options, path: '/_ping', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** Whether a Docker (API-compatible) daemon answers on DOCKER_HOST or a usual socket. */
export async function dockerAnswers(): Promise<boolean> {
  const dockerHost = process.env.DOCKER_HOST ?? '';
  if (dockerHost.startsWith('unix://')) return ping({ socketPath: dockerHost.slice('unix://'.length) });
  if (dockerHost.startsWith('tcp://')) {
    const url = new URL(dockerHost.replace(/^tcp:/, 'http:'));
    return ping({ host: url.hostname, port: Number(url.port || 2375) });
  }
  const uid = os.userInfo().uid;
  const sockets = [
    '/var/run/docker.sock',
    path.join(os.homedir(), '.docker', 'run', 'docker.sock'),
    path.join(os.homedir(), '.docker', 'desktop', 'docker.sock'),
    process.env.XDG_RUNTIME_DIR ? path.join(process.env.XDG_RUNTIME_DIR, 'docker.sock') : '',
    `/run/user/${uid}/docker.sock`,
  ].filter((s) => s !== '' && fs.existsSync(s));
  for (const socketPath of sockets) {
    if (await ping({ socketPath })) return true;
  }
  return false;
}

/** A host port that is free now; Kafka must advertise its host-side port before it starts. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startTestcontainersStack(log: (message: string) => void): Promise<StackHandle> {
  let tc: typeof import('testcontainers');
  try {
    tc = await import('testcontainers');
  } catch (err) {
    // testcontainers 12 (through undici 8) needs Node >= 22.22 and throws while loading on older Node.
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`testcontainers could not be loaded on Node ${process.version}: ${reason}`);
  }
  const runtime = await tc.getContainerRuntimeClient();
  const host = runtime.info.containerRuntime.host;
  const kafkaPort = await freePort();
  log(`Docker daemon answers; starting containers ${KAFKA_IMAGE}, ${APICURIO_IMAGE}, ${MINIO_IMAGE}`);

  const kafka = new tc.GenericContainer(KAFKA_IMAGE)
    .withExposedPorts({ container: 9092, host: kafkaPort })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${host}:${kafkaPort}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_NUM_PARTITIONS: '1',
    })
    .withWaitStrategy(tc.Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(180_000);

  const registry = new tc.GenericContainer(APICURIO_IMAGE)
    .withExposedPorts(8080)
    .withWaitStrategy(tc.Wait.forHttp('/apis/ccompat/v7/subjects', 8080).forStatusCode(200))
    .withStartupTimeout(180_000);

  const minio = new tc.GenericContainer(MINIO_IMAGE)
    .withCommand(['server', '/data'])
    .withEnvironment({ MINIO_ROOT_USER: MINIO_USER, MINIO_ROOT_PASSWORD: MINIO_PASSWORD })
    .withExposedPorts(9000)
    .withWaitStrategy(tc.Wait.forHttp('/minio/health/live', 9000).forStatusCode(200))
    .withStartupTimeout(180_000);

  const started = await Promise.allSettled([kafka.start(), registry.start(), minio.start()]);
  const containers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const stopAll = async (): Promise<void> => {
    await Promise.allSettled(containers.map((c: StartedTestContainer) => c.stop()));
  };
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) {
    await stopAll();
    throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
  }
  const [k, r, m] = containers;

  process.env.STACK_KIND = 'testcontainers';
  process.env.KAFKA_BROKERS = `${k.getHost()}:${k.getMappedPort(9092)}`;
  process.env.SCHEMA_REGISTRY_URL = `http://${r.getHost()}:${r.getMappedPort(8080)}/apis/ccompat/v7`;
  process.env.S3_ENDPOINT = `http://${m.getHost()}:${m.getMappedPort(9000)}`;
  process.env.S3_ACCESS_KEY = MINIO_USER;
  process.env.S3_SECRET_KEY = MINIO_PASSWORD;
  process.env.S3_REGION = 'us-east-1';
  log(
    `using testcontainers: kafka ${process.env.KAFKA_BROKERS}, registry ${process.env.SCHEMA_REGISTRY_URL}, ` +
      `s3 ${process.env.S3_ENDPOINT}`,
  );
  return {
    provider: 'testcontainers',
    stop: async () => {
      log('stopping containers');
      await stopAll();
    },
  };
}

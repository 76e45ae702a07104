/**
 * The Kubernetes manifests (infra/k8s) against the code they deploy, so that neither drifts:
 * the KafkaTopics are the topics the stages create, every container's command line is one
 * the vgmflow CLI accepts, every $(VAR) it uses is defined, the transactional stages get a
 * stable transactional id, and the names that tie the pieces together (Kafka bootstrap
 * service, registry service, ConfigMap keys, governing Services, selectors) resolve; each
 * stage logs in as its own KafkaUser over TLS + SCRAM, whose ACLs name the stage's consumer
 * groups, topics and transactional ids, and serves its probes and metrics on 9464.
 *
 * What this cannot show: that a cluster accepts them. No Kubernetes or Docker runs on the
 * development machines; infra/k8s/validate.sh checks them against Strimzi's and Kubernetes'
 * schemas (in .ci/run), see infra/k8s/README.md.
 */
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { parseAllDocuments } from 'yaml';
import { allCommands } from '../../pipeline/main';
import { OUTPUT_TOPIC_CONFIG, stageGroup, topicNames, topicSpecs, type GroupStage } from '../../topics/topology';

const COMMANDS = allCommands();

const DIR = join(__dirname, '..', '..', 'infra', 'k8s');

interface Resource {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly labels?: Record<string, string> };
  readonly spec?: Record<string, unknown>;
  readonly data?: Record<string, string>;
}

interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: {
    readonly fieldRef?: { readonly fieldPath: string };
    readonly configMapKeyRef?: { readonly name: string; readonly key: string };
    readonly secretKeyRef?: { readonly name: string; readonly key: string };
  };
}

interface HttpProbe {
  readonly httpGet: { readonly path: string; readonly port: string | number };
}

interface Container {
  readonly name: string;
  readonly image: string;
  readonly args?: string[];
  readonly env?: EnvVar[];
  readonly envFrom?: Array<{ readonly configMapRef?: { readonly name: string }; readonly secretRef?: { readonly name: string } }>;
  readonly ports?: Array<{ readonly name?: string; readonly containerPort: number }>;
  readonly livenessProbe?: HttpProbe;
  readonly readinessProbe?: HttpProbe;
  readonly volumeMounts?: Array<{ readonly name: string; readonly mountPath: string }>;
}

interface PodTemplate {
  readonly metadata: { readonly labels: Record<string, string>; readonly annotations?: Record<string, string> };
  readonly spec: {
    readonly containers: Container[];
    readonly volumes?: Array<{ readonly name: string; readonly secret?: { readonly secretName: string; readonly items?: Array<{ readonly key: string; readonly path: string }> } }>;
  };
}

interface Listener {
  readonly name: string;
  readonly port: number;
  readonly tls: boolean;
  readonly authentication?: { readonly type: string };
}

interface Acl {
  readonly resource: { readonly type: string; readonly name: string; readonly patternType: string };
  readonly operations: string[];
}

/** The names of issue 14's interface (ISSUE14-INTERFACE.md): what the pods set and mount. */
const METRICS_PORT = 9464;
const CA_DIR = '/etc/vgmflow/kafka-ca';

function loadAll(): Array<Resource & { file: string }> {
  const out: Array<Resource & { file: string }> = [];
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(DIR, file), 'utf8'))) {
      expect(doc.errors.map((e) => `${file}: ${e.message}`)).toEqual([]);
      const value = doc.toJS() as Resource | null;
      if (value !== null) out.push({ ...value, file });
    }
  }
  return out;
}

const resources = loadAll();
const ofKind = (kind: string): Array<Resource & { file: string }> => resources.filter((r) => r.kind === kind);
const workloads = resources.filter((r) => ['Deployment', 'StatefulSet', 'Job'].includes(r.kind));
const templateOf = (r: Resource): PodTemplate => (r.spec as { template: PodTemplate }).template;
const vgmflowContainers = workloads.flatMap((w) =>
  templateOf(w)
    .spec.containers.filter((c) => c.image.startsWith('vgmflow:'))
    .map((c) => ({ workload: w, container: c })),
);
const configMap = ofKind('ConfigMap').find((c) => c.metadata.name === 'vgmflow');

describe('infra/k8s manifests', () => {
  it('parse, and every resource has apiVersion, kind and a name', () => {
    expect(resources.length).toBeGreaterThan(10);
    for (const r of resources) {
      expect(typeof r.apiVersion).toBe('string');
      expect(typeof r.kind).toBe('string');
      expect(r.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
    }
  });

  it('declare exactly the topics the stages create, with their partitions and configs', () => {
    const names = topicNames('vgm');
    const expected = [
      ...topicSpecs(names, 6),
      { name: topicNames('vgm').transformed, partitions: 6, config: OUTPUT_TOPIC_CONFIG },
      { name: topicNames('vgm').encoded, partitions: 6, config: OUTPUT_TOPIC_CONFIG },
      { name: topicNames('vgm').decoded, partitions: 6, config: OUTPUT_TOPIC_CONFIG },
    ];
    const declared = ofKind('KafkaTopic').map((t) => {
      const spec = t.spec as { topicName: string; partitions: number; config: Record<string, string> };
      return { name: spec.topicName, partitions: spec.partitions, config: spec.config };
    });
    const byName = <T extends { name: string }>(xs: T[]): T[] => [...xs].sort((a, b) => a.name.localeCompare(b.name));
    expect(byName(declared)).toEqual(byName(expected.map((s) => ({ name: s.name, partitions: s.partitions, config: { ...s.config } }))));
  });

  it('put the node pool and topics in the Kafka cluster, and point the stages and the registry at its bootstrap service', () => {
    const kafka = ofKind('Kafka');
    expect(kafka).toHaveLength(1);
    const cluster = (kafka[0] as Resource).metadata.name;
    for (const r of [...ofKind('KafkaNodePool'), ...ofKind('KafkaTopic')]) expect(r.metadata.labels?.['strimzi.io/cluster']).toBe(cluster);
    const spec = (kafka[0] as Resource).spec as { kafka: { listeners: Listener[]; authorization?: { type: string } } };
    // Every listener encrypts and authenticates, and ACLs apply.
    for (const l of spec.kafka.listeners) expect({ listener: l.name, tls: l.tls, authenticated: l.authentication !== undefined }).toEqual({ listener: l.name, tls: true, authenticated: true });
    expect(spec.kafka.authorization?.type).toBe('simple');
    const scram = spec.kafka.listeners.find((l) => l.name === 'tls');
    expect(scram?.authentication?.type).toBe('scram-sha-512');
    expect(configMap?.data?.KAFKA_BROKERS).toBe(`${cluster}-kafka-bootstrap:${scram?.port}`);
    const registryEnv = templateOf(workloads.find((w) => w.metadata.name === 'vgmflow-registry') as Resource).spec.containers[0]?.env ?? [];
    const mtls = spec.kafka.listeners.find((l) => l.authentication?.type === 'tls');
    expect(registryEnv.find((e) => e.name === 'APICURIO_KAFKASQL_BOOTSTRAP_SERVERS')?.value).toBe(`${cluster}-kafka-bootstrap:${mtls?.port}`);
  });

  it('point SCHEMA_REGISTRY_URL at the registry Service and its Confluent-compatible API', () => {
    const service = ofKind('Service').find((s) => s.metadata.name === 'vgmflow-registry');
    const port = (service?.spec as { ports: Array<{ port: number }> }).ports[0]?.port;
    expect(configMap?.data?.SCHEMA_REGISTRY_URL).toBe(`http://vgmflow-registry:${port}/apis/ccompat/v7`);
  });

  it('run only command lines the vgmflow CLI accepts', () => {
    expect(vgmflowContainers.length).toBeGreaterThanOrEqual(6);
    for (const { workload, container } of vgmflowContainers) {
      const args = container.args ?? [];
      const where = `${workload.file} ${workload.metadata.name}`;
      const command = COMMANDS.find((c) => c.name === args[0]);
      expect({ where, command: command?.name }).toEqual({ where, command: args[0] });
      if (command === undefined) continue;
      if (command.name === 'stage') expect(['ingest', 'stats', 'reduce', 'transform', 'inverse']).toContain(args[1]);
      for (let i = 1; i < args.length; i++) {
        const token = args[i] as string;
        if (!token.startsWith('--')) continue;
        const option = command.options[token.slice(2)];
        expect({ where, option: token, known: option !== undefined }).toEqual({ where, option: token, known: true });
        if (option?.type === 'string') {
          expect({ where, option: token, value: args[i + 1]?.startsWith('--') ?? true }).toEqual({ where, option: token, value: false });
          i++;
        }
      }
    }
  });

  it('define every $(VAR) a command line uses in the container env, from fields that exist', () => {
    for (const { workload, container } of vgmflowContainers) {
      const env = new Map((container.env ?? []).map((e) => [e.name, e]));
      for (const token of container.args ?? []) {
        for (const m of token.matchAll(/\$\(([A-Z_][A-Z0-9_]*)\)/g)) {
          const variable = env.get(m[1] as string);
          expect({ where: workload.metadata.name, variable: m[1], defined: variable !== undefined }).toEqual({ where: workload.metadata.name, variable: m[1], defined: true });
          const ref = variable?.valueFrom?.configMapKeyRef;
          if (ref !== undefined) {
            expect(ref.name).toBe('vgmflow');
            expect(Object.keys(configMap?.data ?? {})).toContain(ref.key);
          }
        }
      }
      for (const from of container.envFrom ?? []) if (from.configMapRef !== undefined) expect(from.configMapRef.name).toBe('vgmflow');
    }
  });

  it('give each transactional stage pod its own stable transactional id (a StatefulSet pod name)', () => {
    const transactional = vgmflowContainers.filter(({ container }) => container.args?.[0] === 'stage' && ['ingest', 'transform', 'inverse'].includes(container.args[1] as string));
    expect(transactional.map(({ container }) => container.args?.[1]).sort()).toEqual(['ingest', 'inverse', 'transform']);
    for (const { workload, container } of transactional) {
      expect(workload.kind).toBe('StatefulSet');
      const args = container.args ?? [];
      expect(args[args.indexOf('--transactional-id') + 1]).toBe('$(POD_NAME)');
      expect(container.env?.find((e) => e.name === 'POD_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    }
  });

  it('select their own pods, and each StatefulSet names a headless Service that selects its pods', () => {
    for (const w of workloads.filter((r) => r.kind !== 'Job')) {
      const labels = templateOf(w).metadata.labels;
      const selector = (w.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
      expect(labels).toEqual(expect.objectContaining(selector));
      if (w.kind !== 'StatefulSet') continue;
      const service = ofKind('Service').find((s) => s.metadata.name === (w.spec as { serviceName: string }).serviceName);
      expect((service?.spec as { clusterIP?: string } | undefined)?.clusterIP).toBe('None');
      expect(labels).toEqual(expect.objectContaining((service?.spec as { selector: Record<string, string> }).selector));
    }
  });

  it('log each vgmflow pod in as its own SCRAM KafkaUser over TLS, with the password from the user\'s Secret and the cluster CA mounted', () => {
    const cluster = (ofKind('Kafka')[0] as Resource).metadata.name;
    const users = new Map(ofKind('KafkaUser').map((u) => [u.metadata.name, u]));
    for (const { workload, container } of vgmflowContainers) {
      const where = workload.metadata.name;
      const env = new Map((container.env ?? []).map((e) => [e.name, e]));
      const username = env.get('KAFKA_SASL_USERNAME')?.value ?? '';
      const user = users.get(username);
      expect({ where, username, user: user !== undefined }).toEqual({ where, username, user: true });
      expect((user?.spec as { authentication: { type: string } }).authentication.type).toBe('scram-sha-512');
      expect(user?.metadata.labels?.['strimzi.io/cluster']).toBe(cluster);
      expect({ where, mechanism: env.get('KAFKA_SASL_MECHANISM')?.value }).toEqual({ where, mechanism: 'scram-sha-512' });
      expect({ where, password: env.get('KAFKA_SASL_PASSWORD')?.valueFrom?.secretKeyRef }).toEqual({ where, password: { name: username, key: 'password' } });
      expect({ where, ca: env.get('KAFKA_TLS_CA_FILE')?.value }).toEqual({ where, ca: `${CA_DIR}/ca.crt` });
      const mount = container.volumeMounts?.find((m) => m.mountPath === CA_DIR);
      const volume = templateOf(workload).spec.volumes?.find((v) => v.name === mount?.name);
      expect({ where, secret: volume?.secret?.secretName, items: volume?.secret?.items }).toEqual({ where, secret: `${cluster}-cluster-ca-cert`, items: [{ key: 'ca.crt', path: 'ca.crt' }] });
    }
    // One user per stage: no two workloads share one.
    const perWorkload = vgmflowContainers.map(({ container }) => container.env?.find((e) => e.name === 'KAFKA_SASL_USERNAME')?.value);
    expect(new Set(perWorkload).size).toBe(perWorkload.length);
  });

  it('serve /healthz (liveness), /readyz (readiness) and the scraped /metrics of every stage on port 9464', () => {
    const stages = vgmflowContainers.filter(({ container }) => container.args?.[0] === 'stage');
    expect(stages.map(({ container }) => container.args?.[1]).sort()).toEqual(['ingest', 'inverse', 'reduce', 'stats', 'transform']);
    for (const { workload, container } of stages) {
      const where = workload.metadata.name;
      expect({ where, port: container.env?.find((e) => e.name === 'VGMFLOW_METRICS_PORT')?.value }).toEqual({ where, port: String(METRICS_PORT) });
      const named = container.ports?.find((p) => p.containerPort === METRICS_PORT)?.name;
      const port = (probe: HttpProbe | undefined): number | undefined => {
        const p = probe?.httpGet.port;
        return p === named ? METRICS_PORT : typeof p === 'number' ? p : undefined;
      };
      expect({ where, path: container.livenessProbe?.httpGet.path, port: port(container.livenessProbe) }).toEqual({ where, path: '/healthz', port: METRICS_PORT });
      expect({ where, path: container.readinessProbe?.httpGet.path, port: port(container.readinessProbe) }).toEqual({ where, path: '/readyz', port: METRICS_PORT });
      const annotations = templateOf(workload).metadata.annotations ?? {};
      expect({ where, annotations }).toEqual({ where, annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(METRICS_PORT), 'prometheus.io/path': '/metrics' } });
    }
  });

  it("give each stage's KafkaUser the ACLs of the code's consumer groups, topics and transactional ids, and nothing wider", () => {
    const names = topicNames('vgm');
    const declaredTopics = new Set(ofKind('KafkaTopic').map((t) => (t.spec as { topicName: string }).topicName));
    const aclsOf = (user: string): Acl[] => ((ofKind('KafkaUser').find((u) => u.metadata.name === user)?.spec as { authorization: { acls: Acl[] } } | undefined)?.authorization.acls ?? []);
    const allows = (user: string, type: string, name: string, patternType: string, operation: string): boolean =>
      aclsOf(user).some((a) => a.resource.type === type && a.resource.name === name && a.resource.patternType === patternType && a.operations.includes(operation));
    // Consumer groups: the stages' defaults (topics/topology.ts), the stats workers' shard group,
    // and the broadcast groups `<clientId>-broadcast-<random>` (topics/kafka/consumer-group.ts).
    const groups: Record<GroupStage, string[]> = {
      ingest: [stageGroup(names, 'ingest')],
      stats: [stageGroup(names, 'stats'), `${stageGroup(names, 'stats')}-shards`],
      transform: [stageGroup(names, 'transform')],
      inverse: [stageGroup(names, 'inverse')],
    };
    for (const [stage, ids] of Object.entries(groups)) for (const id of ids) expect({ stage, id, read: allows(`vgmflow-${stage}`, 'group', id, 'literal', 'Read') }).toEqual({ stage, id, read: true });
    for (const stage of ['stats', 'reduce', 'transform', 'inverse']) expect(allows(`vgmflow-${stage}`, 'group', `vgmflow-${stage}-broadcast-`, 'prefix', 'Read')).toBe(true);
    // Reads and writes, topic by topic.
    const reads: Record<string, string[]> = {
      ingest: [names.rows],
      stats: [names.batches, names.summaries, names.params],
      reduce: [names.stats, names.params],
      transform: [names.batches, names.models],
      inverse: [names.encoded, names.models],
    };
    const writes: Record<string, string[]> = {
      ingest: [names.batches, names.deadLetters],
      stats: [names.summaries, names.stats],
      reduce: [names.params, names.models],
      transform: [names.transformed, names.deadLetters],
      inverse: [names.decoded, names.deadLetters],
    };
    for (const [stage, topics] of Object.entries(reads)) for (const t of topics) expect({ stage, t, read: allows(`vgmflow-${stage}`, 'topic', t, 'literal', 'Read') }).toEqual({ stage, t, read: true });
    for (const [stage, topics] of Object.entries(writes)) for (const t of topics) expect({ stage, t, write: allows(`vgmflow-${stage}`, 'topic', t, 'literal', 'Write') }).toEqual({ stage, t, write: true });
    // The transactional stages: their pods' names (the StatefulSet's name and an ordinal).
    for (const { workload, container } of vgmflowContainers.filter(({ container }) => container.args?.includes('--transactional-id'))) {
      const user = container.env?.find((e) => e.name === 'KAFKA_SASL_USERNAME')?.value ?? '';
      expect({ user, write: allows(user, 'transactionalId', `${workload.metadata.name}-`, 'prefix', 'Write') }).toEqual({ user, write: true });
    }
    // Every user may Describe every pipeline topic: each stage first lists them (ensureTopics).
    for (const user of ofKind('KafkaUser').filter((u) => (u.spec as { authentication: { type: string } }).authentication.type === 'scram-sha-512')) {
      for (const spec of topicSpecs(names)) {
        const seen = aclsOf(user.metadata.name).some((a) => a.resource.type === 'topic' && a.resource.name === spec.name && ['Describe', 'Read', 'Write'].some((op) => a.operations.includes(op)));
        expect({ user: user.metadata.name, topic: spec.name, seen }).toEqual({ user: user.metadata.name, topic: spec.name, seen: true });
      }
      // Nothing wider: no All, no cluster ACL, no wildcard, every topic one of topics.yaml.
      for (const a of aclsOf(user.metadata.name)) {
        const where = `${user.metadata.name} ${a.resource.type} ${a.resource.name}`;
        expect({ where, all: a.operations.includes('All'), cluster: a.resource.type === 'cluster', wildcard: a.resource.name === '*' }).toEqual({ where, all: false, cluster: false, wildcard: false });
        if (a.resource.type === 'topic') expect({ where, declared: declaredTopics.has(a.resource.name) && a.resource.patternType === 'literal' }).toEqual({ where, declared: true });
      }
    }
  });
});

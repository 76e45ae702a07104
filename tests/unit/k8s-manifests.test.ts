/**
 * The Kubernetes manifests (infra/k8s) against the code they deploy, so that neither drifts:
 * the KafkaTopics are the topics the stages create, every container's command line is one
 * the vgmflow CLI accepts, every $(VAR) it uses is defined, the transactional stages get a
 * stable transactional id, and the names that tie the pieces together (Kafka bootstrap
 * service, registry service, ConfigMap keys, governing Services, selectors) resolve.
 *
 * What this cannot show: that a cluster accepts them. No Kubernetes or Docker runs on the
 * development machines; see infra/k8s/README.md.
 */
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { parseAllDocuments } from 'yaml';
import { COMMANDS } from '../../pipeline/main';
import { OUTPUT_TOPIC_CONFIG, topicNames, topicSpecs } from '../../topics/topology';

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
  readonly valueFrom?: { readonly fieldRef?: { readonly fieldPath: string }; readonly configMapKeyRef?: { readonly name: string; readonly key: string } };
}

interface Container {
  readonly name: string;
  readonly image: string;
  readonly args?: string[];
  readonly env?: EnvVar[];
  readonly envFrom?: Array<{ readonly configMapRef?: { readonly name: string }; readonly secretRef?: { readonly name: string } }>;
}

interface PodTemplate {
  readonly metadata: { readonly labels: Record<string, string> };
  readonly spec: { readonly containers: Container[] };
}

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
    const listeners = ((kafka[0] as Resource).spec as { kafka: { listeners: Array<{ port: number; tls: boolean }> } }).kafka.listeners;
    const plain = listeners.find((l) => !l.tls);
    expect(configMap?.data?.KAFKA_BROKERS).toBe(`${cluster}-kafka-bootstrap:${plain?.port}`);
    const registryEnv = templateOf(workloads.find((w) => w.metadata.name === 'vgmflow-registry') as Resource).spec.containers[0]?.env ?? [];
    expect(registryEnv.find((e) => e.name === 'APICURIO_KAFKASQL_BOOTSTRAP_SERVERS')?.value).toBe(configMap?.data?.KAFKA_BROKERS);
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
});

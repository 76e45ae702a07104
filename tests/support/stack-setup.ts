// jest globalSetup of the `integration` project: finds or starts Kafka, a Confluent-compatible
// Schema Registry and S3, then publishes their addresses in process.env (test workers are
// started afterwards and inherit it; tests read it through stackConfig() in ./stack).
//
// Which stack, in this order (STACK_PROVIDER=env|testcontainers|local forces one):
//   1. env            KAFKA_BROKERS, SCHEMA_REGISTRY_URL and S3_ENDPOINT already name one
//   2. testcontainers a Docker daemon answers: Kafka, Apicurio Registry and MinIO containers
//   3. local          infra/local/stack.sh (Kafka, Apicurio and S3Proxy from Maven Central);
//                     reused when already running, and stopped at the end only if started here
import { STACK_ENV, type StackProvider } from './stack-env';
import { dockerAnswers, startTestcontainersStack } from './testcontainers-stack';
import { localStackRunning, startLocalStack } from './local-stack';
import { setStackHandle } from './stack-handle';

function log(message: string): void {
  process.stdout.write(`[stack] ${message}\n`);
}

function forcedProvider(): StackProvider | undefined {
  const value = process.env.STACK_PROVIDER;
  if (value === undefined || value === '') return undefined;
  if (value === 'env' || value === 'testcontainers' || value === 'local') return value;
  throw new Error(`STACK_PROVIDER must be env, testcontainers or local (got "${value}")`);
}

function namedByEnv(): boolean {
  const named = [STACK_ENV.kafkaBrokers, STACK_ENV.schemaRegistryUrl, STACK_ENV.s3Endpoint].filter(
    (name) => (process.env[name] ?? '') !== '',
  );
  if (named.length > 0 && named.length < 3) {
    log(
      `only ${named.join(', ')} set; a stack is named by KAFKA_BROKERS, SCHEMA_REGISTRY_URL and S3_ENDPOINT ` +
        'together, so these are ignored',
    );
  }
  return named.length === 3;
}

function useEnvStack(): void {
  for (const name of [STACK_ENV.s3AccessKey, STACK_ENV.s3SecretKey]) {
    if ((process.env[name] ?? '') === '') {
      throw new Error(`the stack named by environment needs ${name} as well`);
    }
  }
  process.env[STACK_ENV.kind] = 'env';
  log(
    `using the stack named by environment: kafka ${process.env[STACK_ENV.kafkaBrokers]}, ` +
      `registry ${process.env[STACK_ENV.schemaRegistryUrl]}, s3 ${process.env[STACK_ENV.s3Endpoint]}`,
  );
  setStackHandle({ provider: 'env', stop: async () => undefined });
}

export default async function globalSetup(): Promise<void> {
  const forced = forcedProvider();
  if (forced === 'env' || (forced === undefined && namedByEnv())) {
    useEnvStack();
    return;
  }

  if (forced === 'testcontainers' || (forced === undefined && (await dockerAnswers()))) {
    try {
      const handle = await startTestcontainersStack(log);
      setStackHandle(handle);
      return;
    } catch (err) {
      if (forced === 'testcontainers') throw err;
      log(`testcontainers failed (${err instanceof Error ? err.message : String(err)}); falling back to infra/local`);
    }
  }

  if (localStackRunning()) {
    const handle = startLocalStack(false, log);
    setStackHandle(handle);
    return;
  }
  setStackHandle(startLocalStack(true, log));
}

/**
 * The Schema Registry client, loaded on first use: the client package takes seconds to load
 * (its dependency tree), and most commands (fit, produce, files, --help) never need it.
 */
import { Agent } from 'https';
import type { Client, ClientConfig } from '@confluentinc/schemaregistry';
import { lazyModule } from './lazy-module';

const registryModule = lazyModule(() => require('@confluentinc/schemaregistry') as typeof import('@confluentinc/schemaregistry'));

/**
 * How long one registry request may take, its retries included. The client sets no timeout of
 * its own, so a request the registry never answers (a half-open connection) would wait for
 * ever. The client retries network errors and 5xx answers (axios-retry, up to 3 times) but
 * counts each retry against the first attempt's timeout, so a request that times out is not
 * retried: it fails after this long, and the stage exits non-zero saying so.
 */
export const REGISTRY_REQUEST_TIMEOUT_MS = 30_000;

/** How to reach a secured registry: HTTP Basic credentials and the CA its TLS certificate chains to. */
export interface RegistryAccess {
  /** `user:password`. */
  readonly basicAuth?: string;
  /** PEM certificates to trust instead of the system's CAs (https URLs). */
  readonly ca?: string;
}

/** A client of the Confluent-compatible registry at `url` (e.g. Apicurio's /apis/ccompat/v7). */
export function registryClient(url: string, access: RegistryAccess = {}): Client {
  const config: ClientConfig = {
    baseURLs: [url.replace(/\/+$/, '')],
    createAxiosDefaults: { timeout: REGISTRY_REQUEST_TIMEOUT_MS, ...(access.ca === undefined ? {} : { httpsAgent: new Agent({ ca: access.ca }) }) },
  };
  if (access.basicAuth !== undefined) config.basicAuthCredentials = { credentialsSource: 'USER_INFO', userInfo: access.basicAuth };
  return new (registryModule().SchemaRegistryClient)(config);
}

/** The registry's answer that a schema id is unknown (404), as opposed to the registry being unreachable. */
export function isUnknownSchemaError(err: unknown): boolean {
  return err instanceof registryModule().RestError && err.status === 404;
}

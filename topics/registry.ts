/**
 * The Schema Registry client, loaded on first use: the client package takes seconds to load
 * (its dependency tree), and most commands (fit, produce, files, --help) never need it.
 */
import type { Client } from '@confluentinc/schemaregistry';
import { lazyModule } from './lazy-module';

const registryModule = lazyModule(() => require('@confluentinc/schemaregistry') as typeof import('@confluentinc/schemaregistry'));

/**
 * How long one registry request may take. The client sets no timeout of its own, so a request
 * the registry never answers (a half-open connection) would wait for ever; a timed-out request
 * is retried by the client like any network error.
 */
export const REGISTRY_REQUEST_TIMEOUT_MS = 30_000;

/** A client of the Confluent-compatible registry at `url` (e.g. Apicurio's /apis/ccompat/v7). */
export function registryClient(url: string): Client {
  return new (registryModule().SchemaRegistryClient)({
    baseURLs: [url.replace(/\/+$/, '')],
    createAxiosDefaults: { timeout: REGISTRY_REQUEST_TIMEOUT_MS },
  });
}

/** The registry's answer that a schema id is unknown (404), as opposed to the registry being unreachable. */
export function isUnknownSchemaError(err: unknown): boolean {
  return err instanceof registryModule().RestError && err.status === 404;
}

/**
 * Schema Registry security from the command line and the environment: HTTP Basic credentials
 * (`user:password`, from SCHEMA_REGISTRY_BASIC_AUTH or a file, never a flag's value) and the CA
 * of its TLS certificate. Pure, like ./kafka-security: flags, environment and a file reader in,
 * the client's settings and the secrets out.
 */
import type { RegistryAccess } from '../../topics/registry';
import { UsageError, type CommandOptions } from './command';
import { basicAuthSecrets } from './redacted-output';
import { flagOrEnv, pemCertificates, secretSetting, type Env, type FlagValues, type ReadText } from './option-sources';

export const REGISTRY_SECURITY_OPTIONS: CommandOptions = {
  'registry-basic-auth-file': { type: 'string' },
  'registry-tls-ca-file': { type: 'string' },
};

export const REGISTRY_SECURITY_HELP = `  --registry-basic-auth-file <path>
                          a file holding the registry's HTTP Basic credentials as user:password
                          ($SCHEMA_REGISTRY_BASIC_AUTH_FILE; or the pair itself in
                          $SCHEMA_REGISTRY_BASIC_AUTH)
  --registry-tls-ca-file <pem>
                          trust only these CA certificates for an https registry URL
                          ($SCHEMA_REGISTRY_TLS_CA_FILE)`;

export interface RegistrySecurity {
  readonly access: RegistryAccess;
  /** The password in its forms (plain, user:password, Basic token), for output redaction. */
  readonly secrets: readonly string[];
}


/** The registry client's security settings the flags and the environment ask for (none: plain HTTP, no auth). */
export function registrySecurity(values: FlagValues, env: Env, read: ReadText): RegistrySecurity {
  const basic = secretSetting(values, 'registry-basic-auth-file', env, 'SCHEMA_REGISTRY_BASIC_AUTH', read);
  // The message names where the pair came from, never the pair.
  if (basic !== undefined && !/^[^:]+:.+$/s.test(basic.value)) throw new UsageError(`${basic.source}: must be user:password (a user, a colon, a password)`);
  const ca = flagOrEnv(values, 'registry-tls-ca-file', env, 'SCHEMA_REGISTRY_TLS_CA_FILE');
  const access: RegistryAccess = {
    ...(basic === undefined ? {} : { basicAuth: basic.value }),
    ...(ca === undefined ? {} : { ca: pemCertificates(read(ca.value, ca.source), ca.source, ca.value) }),
  };
  return { access, secrets: basic === undefined ? [] : basicAuthSecrets(basic.value) };
}

import { badGateway } from '../upstream/errors.js';
import type { ProviderCredentialResolver } from './types.js';

type SecretReader = (secretId: string) => Promise<string>;

/**
 * Resolves `env:NAME` from the environment and `secret:NAME` from Secrets Manager
 * (read once per container and cached). A missing credential is a clear error that
 * names what to set, never the value.
 */
export function createCredentialResolver(env: NodeJS.ProcessEnv, readSecret?: SecretReader): ProviderCredentialResolver {
  const secrets = new Map<string, Promise<string>>();
  return {
    async resolve(ref) {
      if (ref.startsWith('env:')) {
        const name = ref.slice(4);
        const value = env[name];
        if (!value) throw badGateway(`No provider credential configured: set the environment variable ${name}.`, 'upstream_credential_missing');
        return value;
      }
      if (ref.startsWith('secret:')) {
        const id = ref.slice(7);
        if (!readSecret) throw badGateway(`Secret references are not available here (credential ${ref}).`, 'upstream_credential_missing');
        let pending = secrets.get(id);
        if (!pending) {
          pending = readSecret(id);
          secrets.set(id, pending);
          pending.catch(() => secrets.delete(id));
        }
        return pending;
      }
      throw badGateway(`Unknown credential reference scheme in '${ref.split(':')[0]}:…'; use env:NAME or secret:NAME.`, 'upstream_credential_missing');
    },
  };
}

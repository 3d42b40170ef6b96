// The SecretStore of this process: one engine per process reads it, the identity agent and the config fill it.
import { SecretStore } from './secret-store.ts';

let store: SecretStore | null = null;

export function processSecretStore(): SecretStore {
  store ??= new SecretStore();
  return store;
}

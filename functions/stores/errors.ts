/** Thrown by `ControlStore.putKey` when a key with the same id or hash already exists. */
export class DuplicateKeyError extends Error {
  constructor(readonly field: 'id' | 'hash', keyId: string) {
    // Only the public key id goes into the message, never the hash or the key.
    super(`a key with the same ${field} already exists (key id ${keyId})`);
    this.name = 'DuplicateKeyError';
  }
}

/** The control store cannot be read or written (corrupt file, lock timeout, bad configuration). */
export class ControlStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ControlStoreError';
  }
}

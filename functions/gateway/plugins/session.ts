import type { Plugin, RequestState } from '../types.js';

/**
 * session — which conversation this call belongs to. This release resolves the first
 * and last of the five strategies: the client's `X-Sluice-Session-Id`, else a new id
 * (minted by the envelope so even early errors carry one).
 */
export function sessionPlugin(): Plugin {
  return {
    name: 'session',
    before(state: RequestState) {
      const strategy = state.sluiceHeaders.sessionId ? 'header' : 'new';
      state.trace.set({ sessionStrategy: strategy });
    },
  };
}

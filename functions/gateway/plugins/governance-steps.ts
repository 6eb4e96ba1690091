import type { Plugin, RequestState } from '../types.js';

/**
 * policy and intent — in this release no proxy can have a policy or an intent
 * configuration yet, so both record, truthfully, that the check was skipped and why.
 * A check that did not run is never logged as passed.
 */
export function policyPlugin(): Plugin {
  return {
    name: 'policy',
    before(state: RequestState) {
      if (state.route.kind !== 'openai') return;
      state.trace.step('policy', { stage: 'request', mode: 'skipped', reason: 'no policy configured' });
    },
  };
}

export function intentPlugin(): Plugin {
  return {
    name: 'intent',
    before(state: RequestState) {
      if (state.route.kind !== 'openai') return;
      state.trace.step('intent', { mode: 'skipped', reason: 'no intent configured' });
    },
  };
}

/** The OpenAI SDK's side of a failed call, for end-to-end tests that expect a call through the gateway to fail. */
import OpenAI from 'openai';

/** The `OpenAI.APIError` that `p` rejects with; any other rejection is rethrown, and a call that succeeds fails the test. */
export async function apiErrorOf(p: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await p;
  } catch (err) {
    if (err instanceof OpenAI.APIError) return err;
    throw err;
  }
  throw new Error('expected the call to fail with an API error');
}

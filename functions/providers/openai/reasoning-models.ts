/**
 * OpenAI's reasoning models: the o-series (`o1`, `o3-mini`, `o4-mini`, …) and the gpt-5 family
 * (`gpt-5`, `gpt-5-mini`, `gpt-5.1`, …) except the `-chat` snapshots, which are chat models.
 * They refuse `max_tokens` (they take `max_completion_tokens`) and accept only the default
 * `temperature` and `top_p` (1). Known by name, so an OpenRouter-style `openai/o3` or an
 * Azure deployment named after its model is recognised too.
 */
export function isReasoningModel(model: string): boolean {
  const name = model.slice(model.lastIndexOf('/') + 1).toLowerCase();
  return /^(o\d+|gpt-5)(?![0-9])/.test(name) && !name.includes('-chat');
}

import type { Json } from '../chat.js';

/**
 * The model list in Anthropic's shape (`GET /v1/models` from the Anthropic SDK): a page
 * `{data: [{type: "model", id, display_name, created_at}], has_more, first_id, last_id}`
 * holding every model (the gateway does not page). Built from OpenAI's list
 * (`{object: "list", data: [{id, created}]}`) or from a proxy's allow-list.
 */
export interface ListedModel {
  id: string;
  /** Unix seconds, as OpenAI lists them; 0 or absent: unknown. */
  created?: number;
}

export function anthropicModelList(models: readonly ListedModel[]): Json {
  const data = models.map((m) => ({
    type: 'model',
    id: m.id,
    display_name: m.id,
    created_at: new Date((m.created ?? 0) * 1000).toISOString(),
  }));
  return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
}

/** OpenAI's `{object: "list", data}` as Anthropic's page; undefined when it is not such a list. */
export function fromOpenAIModelList(json: unknown): Json | undefined {
  const data = (json as Json | null)?.data;
  if (!Array.isArray(data)) return undefined;
  const models: ListedModel[] = [];
  for (const m of data as Json[]) {
    if (typeof m?.id !== 'string') continue;
    models.push({ id: m.id, ...(typeof m.created === 'number' && Number.isFinite(m.created) ? { created: m.created } : {}) });
  }
  return anthropicModelList(models);
}

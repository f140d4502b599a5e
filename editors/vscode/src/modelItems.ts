// Entries of the "Poe: Select Model" quick pick, built from provider/models.

import type { Model } from './protocol';

/** ModelItem is one quick pick row: a model, or a separator when modelId is undefined. */
export interface ModelItem {
  label: string;
  description?: string;
  detail?: string;
  modelId?: string;
}

/** Reports whether model outputs text, so it fits the chat view. A model that lists no output modalities counts as one. */
export function outputsText(model: Model): boolean {
  return model.outputModalities === undefined || model.outputModalities.includes('text');
}

/** Formats a context window as "200K tokens" or "1M tokens". */
export function formatContextWindow(tokens: number): string {
  if (tokens >= 1_000_000) {
    return `${Number((tokens / 1_000_000).toFixed(1))}M tokens`;
  }
  if (tokens >= 1_000) {
    return `${Math.round(tokens / 1_000)}K tokens`;
  }
  return `${tokens} tokens`;
}

/**
 * Returns the quick pick rows for models in Poe's order: first the models that
 * output text, then, after a separator, the others (image, video or audio
 * generators). The description of the row of current marks it as current.
 */
export function modelItems(models: readonly Model[], current: string): ModelItem[] {
  const chat = models.filter(outputsText);
  const other = models.filter((model) => !outputsText(model));

  const items = chat.map((model) => itemFor(model, current));
  if (other.length > 0) {
    items.push({ label: 'Models without text output' });
    items.push(...other.map((model) => itemFor(model, current)));
  }
  return items;
}

function itemFor(model: Model, current: string): ModelItem {
  const description = [model.ownedBy, model.id === current ? 'current' : undefined]
    .filter((part): part is string => part !== undefined && part !== '')
    .join(' · ');

  const details: string[] = [];
  if (model.contextWindow !== undefined) {
    details.push(formatContextWindow(model.contextWindow));
  }
  if (model.description !== undefined && model.description !== '') {
    details.push(model.description);
  }

  const item: ModelItem = { label: model.id, modelId: model.id };
  if (description !== '') {
    item.description = description;
  }
  if (details.length > 0) {
    item.detail = details.join(' · ');
  }
  return item;
}

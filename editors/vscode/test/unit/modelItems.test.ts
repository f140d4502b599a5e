import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { formatContextWindow, modelItems } from '../../src/modelItems';
import type { Model } from '../../src/protocol';

const models: Model[] = [
  { id: 'Claude-Sonnet-4.6', ownedBy: 'Anthropic', contextWindow: 200000, description: 'Fast and capable.', outputModalities: ['text'] },
  { id: 'FLUX-pro-1.1', ownedBy: 'Black Forest Labs', outputModalities: ['image'] },
  { id: 'GPT-5.4', ownedBy: 'OpenAI', contextWindow: 400000, outputModalities: ['text'] },
  { id: 'Mystery' },
];

describe('modelItems', () => {
  it('lists text models first, then the others after a separator', () => {
    const got = modelItems(models, 'GPT-5.4').map((item) => item.modelId ?? `-- ${item.label}`);
    assert.deepEqual(got, ['Claude-Sonnet-4.6', 'GPT-5.4', 'Mystery', '-- Models without text output', 'FLUX-pro-1.1']);
  });

  it('marks the current model', () => {
    const got = modelItems(models, 'GPT-5.4').find((item) => item.modelId === 'GPT-5.4');
    assert.equal(got?.description, 'OpenAI · current');
  });

  it('describes maker, context window and description', () => {
    const got = modelItems(models, 'GPT-5.4')[0];
    assert.deepEqual(got, {
      label: 'Claude-Sonnet-4.6',
      modelId: 'Claude-Sonnet-4.6',
      description: 'Anthropic',
      detail: '200K tokens · Fast and capable.',
    });
  });

  it('leaves out empty fields', () => {
    const got = modelItems([{ id: 'Mystery' }], 'other');
    assert.deepEqual(got, [{ label: 'Mystery', modelId: 'Mystery' }]);
  });

  it('adds no separator without other models', () => {
    assert.equal(modelItems([models[0]!], 'x').length, 1);
  });
});

describe('formatContextWindow', () => {
  const cases: Array<[number, string]> = [
    [512, '512 tokens'],
    [8192, '8K tokens'],
    [200000, '200K tokens'],
    [1048576, '1M tokens'],
    [1500000, '1.5M tokens'],
  ];
  for (const [tokens, want] of cases) {
    it(`formats ${tokens}`, () => {
      assert.equal(formatContextWindow(tokens), want);
    });
  }
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ConversationStore, MAX_CONVERSATIONS, titleFrom, type StoreClock } from '../../src/conversations';

function testClock(): StoreClock & { advance(ms: number): void } {
  let time = 1_000;
  let id = 0;
  return {
    now: () => time,
    newId: () => `id-${++id}`,
    advance(ms: number) {
      time += ms;
    },
  };
}

describe('ConversationStore', () => {
  it('streams an answer and builds the history', () => {
    const store = new ConversationStore(testClock());
    const conversation = store.startConversation();
    store.addUserMessage(conversation, 'Hello');
    const answer = store.startAnswer(conversation, 'GPT-5.4');

    assert.deepEqual(store.history(conversation), [{ role: 'user', content: 'Hello' }]);
    assert.equal(store.isStreaming(conversation), true);

    assert.equal(store.appendDelta(conversation, answer.id, 'Hi'), true);
    assert.equal(store.appendDelta(conversation, answer.id, ' there'), true);
    assert.equal(store.endAnswer(conversation, answer.id, { status: 'done' }), true);

    assert.equal(answer.text, 'Hi there');
    assert.equal(store.isStreaming(conversation), false);
    assert.deepEqual(store.history(conversation), [
      { role: 'user', content: 'Hello' },
      { role: 'assistant', content: 'Hi there' },
    ]);
  });

  it('ends an answer only once', () => {
    const store = new ConversationStore(testClock());
    const conversation = store.startConversation();
    const answer = store.startAnswer(conversation, 'm');
    assert.equal(store.endAnswer(conversation, answer.id, { status: 'cancelled' }), true);
    assert.equal(store.endAnswer(conversation, answer.id, { status: 'done', text: 'late' }), false);
    assert.equal(answer.status, 'cancelled');
    assert.equal(answer.text, '');
  });

  it('drops deltas after the end', () => {
    const store = new ConversationStore(testClock());
    const conversation = store.startConversation();
    const answer = store.startAnswer(conversation, 'm');
    store.endAnswer(conversation, answer.id, { status: 'done' });
    assert.equal(store.appendDelta(conversation, answer.id, 'late'), false);
  });

  it('replaces streamed text with the final text', () => {
    const store = new ConversationStore(testClock());
    const conversation = store.startConversation();
    const answer = store.startAnswer(conversation, 'm');
    store.appendDelta(conversation, answer.id, 'Hel');
    store.endAnswer(conversation, answer.id, { status: 'done', text: 'Hello' });
    assert.equal(answer.text, 'Hello');
  });

  it('leaves failed answers out of the history', () => {
    const store = new ConversationStore(testClock());
    const conversation = store.startConversation();
    store.addUserMessage(conversation, 'one');
    const failed = store.startAnswer(conversation, 'm');
    store.endAnswer(conversation, failed.id, { status: 'error', error: 'Poe failed.', signIn: true });
    store.addUserMessage(conversation, 'two');
    const stopped = store.startAnswer(conversation, 'm');
    store.appendDelta(conversation, stopped.id, 'partial');
    store.endAnswer(conversation, stopped.id, { status: 'cancelled' });

    assert.equal(failed.error, 'Poe failed.');
    assert.equal(failed.signIn, true);
    assert.deepEqual(store.history(conversation), [
      { role: 'user', content: 'one' },
      { role: 'user', content: 'two' },
      { role: 'assistant', content: 'partial' },
    ]);
  });

  it('names a conversation after its first message', () => {
    const store = new ConversationStore(testClock());
    const conversation = store.startConversation();
    assert.equal(conversation.title, 'New chat');
    store.addUserMessage(conversation, 'How do I sort a slice?\nin Go');
    store.addUserMessage(conversation, 'Another question');
    assert.equal(conversation.title, 'How do I sort a slice?');
  });

  it('reuses an empty active conversation', () => {
    const store = new ConversationStore(testClock());
    const first = store.startConversation();
    assert.equal(store.startConversation(), first);
    store.addUserMessage(first, 'hi');
    assert.notEqual(store.startConversation(), first);
  });

  it('lists the most recently updated first', () => {
    const clock = testClock();
    const store = new ConversationStore(clock);
    const a = store.startConversation();
    store.addUserMessage(a, 'a');
    clock.advance(10);
    const b = store.startConversation();
    store.addUserMessage(b, 'b');
    clock.advance(10);
    store.addUserMessage(a, 'a again');
    assert.deepEqual(store.summaries().map((s) => s.title), ['a', 'b']);
  });

  it('selects and deletes', () => {
    const clock = testClock();
    const store = new ConversationStore(clock);
    const a = store.startConversation();
    store.addUserMessage(a, 'a');
    clock.advance(10);
    const b = store.startConversation();
    store.addUserMessage(b, 'b');

    assert.equal(store.select('missing'), false);
    assert.equal(store.select(a.id), true);
    assert.equal(store.active, a);

    store.delete(a.id);
    assert.equal(store.active, b);
    store.delete(b.id);
    assert.equal(store.active, undefined);
  });

  it('keeps at most MAX_CONVERSATIONS', () => {
    const clock = testClock();
    const store = new ConversationStore(clock);
    for (let i = 0; i < MAX_CONVERSATIONS + 5; i++) {
      clock.advance(1);
      store.addUserMessage(store.startConversation(), `question ${i}`);
    }
    const titles = store.summaries().map((s) => s.title);
    assert.equal(titles.length, MAX_CONVERSATIONS);
    assert.equal(titles[0], `question ${MAX_CONVERSATIONS + 4}`);
    assert.ok(!titles.includes('question 0'));
  });

  it('restores what it saved', () => {
    const clock = testClock();
    const store = new ConversationStore(clock);
    const conversation = store.startConversation();
    store.addUserMessage(conversation, 'Hello');
    const answer = store.startAnswer(conversation, 'm');
    store.appendDelta(conversation, answer.id, 'Hi');

    const saved = JSON.parse(JSON.stringify(store.save()));
    const restored = new ConversationStore(clock);
    restored.restore(saved);

    assert.equal(restored.active?.id, conversation.id);
    assert.deepEqual(restored.active?.messages.map((m) => [m.role, m.text, m.status]), [
      ['user', 'Hello', 'done'],
      ['assistant', 'Hi', 'cancelled'],
    ]);
  });

  it('ignores saved data of another shape', () => {
    const store = new ConversationStore(testClock());
    for (const saved of [undefined, null, 'text', [], { version: 2, conversations: [] }, { version: 1, conversations: 'x' }]) {
      store.restore(saved);
      assert.deepEqual(store.summaries(), []);
    }
  });

  it('skips invalid saved entries', () => {
    const store = new ConversationStore(testClock());
    store.restore({
      version: 1,
      activeId: 'gone',
      conversations: [
        { id: 'c1', title: 'ok', createdAt: 1, updatedAt: 2, messages: [{ id: 'm1', role: 'user', text: 'hi', status: 'done', createdAt: 1 }, { id: 'm2', role: 'robot' }] },
        { id: 'c2', title: 5 },
      ],
    });
    assert.deepEqual(store.summaries().map((s) => s.id), ['c1']);
    assert.equal(store.active?.id, 'c1');
    assert.equal(store.active?.messages.length, 1);
  });
});

describe('titleFrom', () => {
  it('cuts long lines with an ellipsis', () => {
    const got = titleFrom('x'.repeat(100));
    assert.equal([...got].length, 60);
    assert.ok(got.endsWith('…'));
  });

  it('keeps whole characters', () => {
    const got = titleFrom('😀'.repeat(70));
    assert.equal(got, `${'😀'.repeat(59)}…`);
  });

  it('drops emphasis and code marks', () => {
    assert.equal(titleFrom('Tidy this **Go** code with `rune`'), 'Tidy this Go code with rune');
  });

  it('names blank text', () => {
    assert.equal(titleFrom('  \n '), 'New chat');
  });
});

import { ChatOllama, OllamaEmbeddings } from '@langchain/ollama';
import { HumanMessage, SystemMessage } from '@langchain/core/messages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson } from '../support/gateway.js';
import { CHAT, EMBED, EMBED_DIMS, echo, expectRecord, startHarness, upstreamEmbed, type ClientHarness } from './client-harness.js';

/** @langchain/ollama (ChatOllama, OllamaEmbeddings) against the gateway in front of the scripted Ollama daemon. */
describe('@langchain/ollama through the gateway', () => {
  let h: ClientHarness;

  beforeAll(async () => {
    h = await startHarness();
  });

  afterAll(async () => {
    await h?.close();
  });

  describe('ChatOllama', () => {
    it('invoke returns the reply as an AIMessage with token usage', async () => {
      const chat = new ChatOllama({ baseUrl: h.url, model: CHAT, temperature: 0 });
      const reply = await chat.invoke([new SystemMessage('you are terse'), new HumanMessage('hello there')]);
      expect(reply.content).toBe(echo('hello there'));
      expect(reply.usage_metadata).toMatchObject({ output_tokens: 4 });
      await expectRecord(h.url, '/api/chat', CHAT);
    });

    it('stream yields the reply in pieces that join to the whole text', async () => {
      const chat = new ChatOllama({ baseUrl: h.url, model: CHAT });
      const pieces: string[] = [];
      for await (const chunk of await chat.stream('stream me please')) pieces.push(String(chunk.content));
      expect(pieces.filter((p) => p !== '').length).toBeGreaterThan(1);
      expect(pieces.join('')).toBe(echo('stream me please'));
    });
  });

  describe('OllamaEmbeddings', () => {
    it('embedQuery returns one full-length vector equal to the daemon\'s', async () => {
      const embeddings = new OllamaEmbeddings({ baseUrl: h.url, model: EMBED });
      const vector = await embeddings.embedQuery('what is a gateway');
      expect(vector).toHaveLength(EMBED_DIMS);
      expect(vector).toEqual((await upstreamEmbed(h.upstream, ['what is a gateway']))[0]);
      await expectRecord(h.url, '/api/embed', EMBED);
    });

    it('embedDocuments returns one vector per document, in order', async () => {
      const embeddings = new OllamaEmbeddings({ baseUrl: h.url, model: EMBED });
      const docs = ['doc one', 'doc two', 'doc three', 'doc four'];
      const vectors = await embeddings.embedDocuments(docs);
      expect(vectors).toEqual(await upstreamEmbed(h.upstream, docs));
    });

    it('honours dimensions as the daemon does (first values, re-normalized)', async () => {
      const embeddings = new OllamaEmbeddings({ baseUrl: h.url, model: EMBED, dimensions: 4 });
      const vector = await embeddings.embedQuery('shorter please');
      const direct = await postJson(`${h.upstream.url}/api/embed`, { model: EMBED, input: ['shorter please'], dimensions: 4 });
      expect(vector).toEqual(direct.body.embeddings[0]);
    });
  });
});

/**
 * The hosts bench's traffic: AnythingLLM users, each with its workspace's embedder and a
 * favourite chat model, asking questions with a pause to read each answer. The script is
 * drawn once from a seed, so both runs send the same questions in the same order per user.
 */
import { seededRandom } from '../../test/support/random.js';
import { ask, ollamaClient, Tally, type Question } from './anythingllm-client.js';

export interface ScriptedQuestion extends Question {
  /** Reading the last answer (or arriving, for the first question) before asking. */
  thinkMs: number;
}

export interface TrafficShape {
  clients: number;
  questions: number;
  /** Embedders, the first the most used (3 users in 4). */
  embedders: readonly string[];
  /** Chat models, most popular first: a user's favourite is drawn with weights 4:3:2:1... */
  chats: readonly string[];
  seed: number;
}

/** A user asks its favourite this often; otherwise any chat model. */
const FAVOURITE_SHARE = 0.8;

/** Each user's questions, in order. Texts are unique, so no cache answers a repeated query. */
export function questionScript(shape: TrafficShape): ScriptedQuestion[][] {
  const rand = seededRandom(shape.seed);
  const weights = shape.chats.map((_, i) => shape.chats.length - i);
  const total = weights.reduce((a, b) => a + b, 0);
  const weighted = () => {
    let x = rand() * total;
    return shape.chats[weights.findIndex((w) => (x -= w) < 0)];
  };
  return Array.from({ length: shape.clients }, (_, c) => {
    const embedder = rand() < 0.75 ? shape.embedders[0] : shape.embedders[1 + Math.floor(rand() * (shape.embedders.length - 1))];
    const favourite = weighted();
    return Array.from({ length: shape.questions }, (_, i) => ({
      embedder,
      chat: rand() < FAVOURITE_SHARE ? favourite : shape.chats[Math.floor(rand() * shape.chats.length)],
      text: `user ${c} question ${i}: what does the handbook say about topic ${Math.floor(rand() * 1e6)}?`,
      thinkMs: i === 0 ? rand() * 2000 : 500 + rand() * 2000,
    }));
  });
}

export interface TrafficResult {
  tally: Tally;
  /** Whole-question times of the questions answered in full. */
  latencies: number[];
  asked: number;
  /** Questions not started because the run's time was up. */
  notStarted: number;
}

/** Every user asks its questions in turn through `url`; none starts after `untilMs` (performance.now()). */
export async function drive(url: string, script: ScriptedQuestion[][], untilMs: number, requestLimitMs: number): Promise<TrafficResult> {
  const result: TrafficResult = { tally: new Tally(), latencies: [], asked: 0, notStarted: 0 };
  await Promise.all(script.map(async (questions) => {
    const client = ollamaClient(url, requestLimitMs);
    for (const [i, q] of questions.entries()) {
      await new Promise((resolve) => setTimeout(resolve, q.thinkMs));
      if (performance.now() > untilMs) {
        result.notStarted += questions.length - i;
        return;
      }
      result.asked++;
      const ms = await ask(url, client, q, result.tally, requestLimitMs);
      if (ms !== undefined) result.latencies.push(ms);
    }
  }));
  return result;
}

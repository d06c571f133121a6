import { randomUUID } from 'node:crypto';
import { WarmgateError, type ErrorCode } from '../errors.js';
import type { ToolCall } from './canonical.js';

/**
 * Tool calls between the canonical shape (`arguments` as an object, as Ollama sends them)
 * and OpenAI's (`arguments` as a JSON string, an `id` per call).
 */

/** A canonical tool call in OpenAI's shape; a call without id gets a fresh one. */
export function openaiToolCall(tc: ToolCall): Record<string, unknown> {
  return {
    id: tc.id ?? `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`,
    type: 'function',
    function: { name: tc.name, arguments: JSON.stringify(tc.arguments) },
  };
}

/**
 * OpenAI's `arguments` string as an object; empty means no arguments. Anything but a JSON
 * object throws `code` (BAD_REQUEST for a client's history, UPSTREAM_ERROR for a backend's reply).
 */
export function parseToolArguments(text: string, code: ErrorCode): Record<string, unknown> {
  if (text.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new WarmgateError(code, `tool call arguments must be a JSON object, got ${JSON.stringify(text.slice(0, 100))}`);
}

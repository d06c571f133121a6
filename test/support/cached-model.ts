/**
 * Synthetic GGUF models for the worker's tests and benchmark, written once per spec into
 * the OS temp folder (the file name is a hash of the parsed spec, and the writer is
 * deterministic, so an existing file is the right one). Written under a temporary name and
 * renamed, so a half-written file is never picked up.
 */
import { createHash } from 'node:crypto';
import { rename, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseModelSpec, writeModel, type ModelSpecInput } from '../../src/gguf/index.js';

export interface CachedModel {
  path: string;
  bytes: number;
}

export async function cachedModel(input: ModelSpecInput): Promise<CachedModel> {
  const spec = parseModelSpec(input);
  const key = createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16);
  const path = join(tmpdir(), `warmgate-model-${key}.gguf`);
  const existing = await stat(path).catch(() => undefined);
  if (existing) return { path, bytes: existing.size };
  const partial = `${path}.${process.pid}.part`;
  const { bytes } = await writeModel(partial, spec);
  await rename(partial, path);
  return { path, bytes };
}

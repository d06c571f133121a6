/**
 * Streams a synthetic model to disk. Tensor data is generated chunk by chunk into two
 * alternating buffers, so one chunk is being written while the next is generated and
 * memory stays at a few MB whatever the file size. The file appears under its final name
 * only once complete (write to a temporary sibling, then rename), so a concurrent reader
 * never sees half a model.
 */
import { open, rename, rm } from 'node:fs/promises';
import { GGUF_ALIGNMENT } from './gguf-format.js';
import { planModel, type PlannedTensor } from './layout.js';
import type { ModelSpecInput } from './spec.js';
import { tensorBytes, WeightStream } from './tensor-data.js';

/** Values generated per chunk: whole quantisation blocks (a multiple of 32), 4 MB as F32. */
const CHUNK_ELEMENTS = 1 << 20;
const ZEROS = new Uint8Array(GGUF_ALIGNMENT);

/** Writes the model described by `spec` to `path`; resolves with the file size. */
export async function writeModel(path: string, spec: ModelSpecInput): Promise<{ bytes: number }> {
  const layout = planModel(spec);
  const tmp = `${path}.${process.pid}.${Date.now()}.partial`;
  const file = await open(tmp, 'w');
  try {
    const buffers = [new Uint8Array(CHUNK_ELEMENTS * 4), new Uint8Array(CHUNK_ELEMENTS * 4)];
    let turn = 0;
    let pending: Promise<unknown> = file.write(layout.head);
    let written = layout.head.length;
    const emit = async (bytes: Uint8Array): Promise<void> => {
      await pending; // the other buffer is free again once its write is done
      pending = file.write(bytes);
      written += bytes.length;
    };

    for (const [index, tensor] of layout.tensors.entries()) {
      const stream = new WeightStream(layout.spec.seed, index);
      for (let done = 0; done < tensor.elements; done += CHUNK_ELEMENTS) {
        const buffer = buffers[turn];
        turn ^= 1;
        const count = Math.min(CHUNK_ELEMENTS, tensor.elements - done);
        await emit(buffer.subarray(0, fillChunk(tensor, stream, count, buffer)));
      }
      const padding = (GGUF_ALIGNMENT - (written % GGUF_ALIGNMENT)) % GGUF_ALIGNMENT;
      if (padding) await emit(ZEROS.subarray(0, padding));
    }
    await pending;
    if (written !== layout.totalBytes) throw new Error(`internal: wrote ${written} bytes, planned ${layout.totalBytes}`);
    await file.close();
    await rename(tmp, path);
    return { bytes: written };
  } catch (err) {
    await file.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
}

function fillChunk(tensor: PlannedTensor, stream: WeightStream, count: number, out: Uint8Array): number {
  if (!tensor.ones) return stream.fill(tensor.type, count, out);
  new Float32Array(out.buffer, out.byteOffset, count).fill(1);
  return tensorBytes('f32', count);
}

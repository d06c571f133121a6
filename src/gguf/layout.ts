/**
 * The complete layout of a model file for a spec: metadata, tensor list and offsets. The
 * writer streams exactly this layout, and `modelFileSize` reads its size without writing.
 */
import { alignUp, encodeGgufHead, GgmlType, GGUF_ALIGNMENT, type MetadataValue, type TensorInfo } from './gguf-format.js';
import { modelName, parseModelSpec, type ModelSpec, type ModelSpecInput, type TensorType } from './spec.js';
import { tensorBytes } from './tensor-data.js';
import { BOS_ID, buildVocabulary, EOS_ID, IM_END, IM_START, UNK_ID } from './vocab.js';

/** ChatML, which node-llama-cpp recognises (ChatMLChatWrapper) and llama.cpp renders natively. */
export const CHAT_TEMPLATE =
  `{% for message in messages %}{{ '${IM_START}' + message['role'] + '\\n' + message['content'] + '${IM_END}' + '\\n' }}{% endfor %}` +
  `{% if add_generation_prompt %}{{ '${IM_START}assistant\\n' }}{% endif %}`;

/** llama.cpp `llama_ftype` for a file whose matrices are all `type` (ALL_F32, MOSTLY_F16, MOSTLY_Q8_0, MOSTLY_Q4_0). */
const FILE_TYPE: Record<TensorType, number> = { f32: 0, f16: 1, q8_0: 7, q4_0: 2 };
/** llama.cpp `llama_pooling_type`: MEAN. */
const POOLING_MEAN = 1;

export interface PlannedTensor extends TensorInfo {
  /** Encoding of the data: matrices use the spec's type, norm vectors stay F32. */
  type: TensorType;
  elements: number;
  /** Norm weights are all ones; everything else is random. */
  ones: boolean;
}

export interface ModelLayout {
  spec: ModelSpec;
  /** Everything before the tensor data, already padded to the alignment. */
  head: Buffer;
  tensors: PlannedTensor[];
  /** Exact size of the file, in bytes. */
  totalBytes: number;
}

export function planModel(input: ModelSpecInput): ModelLayout {
  const spec = parseModelSpec(input);
  const { embd, ff, vocab, tensorType } = spec;
  const kvWidth = (embd / spec.heads) * spec.kvHeads;
  const shapes: Array<[name: string, dims: number[]]> = [['token_embd.weight', [embd, vocab]]];
  for (let i = 0; i < spec.layers; i++) {
    const blk = `blk.${i}`;
    shapes.push(
      [`${blk}.attn_norm.weight`, [embd]],
      [`${blk}.attn_q.weight`, [embd, embd]],
      [`${blk}.attn_k.weight`, [embd, kvWidth]],
      [`${blk}.attn_v.weight`, [embd, kvWidth]],
      [`${blk}.attn_output.weight`, [embd, embd]],
      [`${blk}.ffn_norm.weight`, [embd]],
      [`${blk}.ffn_gate.weight`, [embd, ff]],
      [`${blk}.ffn_up.weight`, [embd, ff]],
      [`${blk}.ffn_down.weight`, [ff, embd]],
    );
  }
  shapes.push(['output_norm.weight', [embd]]);
  // Embedding models pool hidden states and never compute logits, so they carry no output head.
  if (!spec.embedding) shapes.push(['output.weight', [embd, vocab]]);

  let offset = 0;
  const tensors = shapes.map(([name, dims]): PlannedTensor => {
    const ones = dims.length === 1;
    const type = ones ? 'f32' : tensorType;
    const elements = dims.reduce((a, b) => a * b, 1);
    const tensor = { name, dims, type, ggmlType: GgmlType[type], elements, ones, offset };
    offset = alignUp(offset + tensorBytes(type, elements));
    return tensor;
  });
  const head = encodeGgufHead(metadataFor(spec), tensors);
  return { spec, head, tensors, totalBytes: head.length + offset };
}

/** Exact size in bytes of the file `writeModel` would write for `spec`. */
export function modelFileSize(spec: ModelSpecInput): number {
  return planModel(spec).totalBytes;
}

type Entry = readonly [key: string, value: MetadataValue];

function metadataFor(spec: ModelSpec): Entry[] {
  const vocab = buildVocabulary(spec.vocab);
  const u32 = (value: number): MetadataValue => ({ type: 'u32', value });
  const f32 = (value: number): MetadataValue => ({ type: 'f32', value });
  const str = (value: string): MetadataValue => ({ type: 'string', value });
  const bool = (value: boolean): MetadataValue => ({ type: 'bool', value });
  const embeddingOnly = (entry: Entry): Entry[] => (spec.embedding ? [entry] : []);
  return [
    ['general.architecture', str('llama')],
    ['general.type', str('model')],
    ['general.name', str(modelName(spec))],
    ...embeddingOnly(['general.tags', { type: 'array', of: 'string', value: ['embedding', 'sentence-similarity'] }]),
    ['general.file_type', u32(FILE_TYPE[spec.tensorType])],
    ['general.quantization_version', u32(2)],
    ['general.alignment', u32(GGUF_ALIGNMENT)],
    ['llama.vocab_size', u32(spec.vocab)],
    ['llama.context_length', u32(spec.ctx)],
    ['llama.embedding_length', u32(spec.embd)],
    ['llama.block_count', u32(spec.layers)],
    ['llama.feed_forward_length', u32(spec.ff)],
    ['llama.attention.head_count', u32(spec.heads)],
    ['llama.attention.head_count_kv', u32(spec.kvHeads)],
    ['llama.rope.dimension_count', u32(spec.embd / spec.heads)],
    ['llama.rope.freq_base', f32(10000)],
    ['llama.attention.layer_norm_rms_epsilon', f32(1e-5)],
    ...embeddingOnly(['llama.pooling_type', u32(POOLING_MEAN)]),
    ['tokenizer.ggml.model', str('llama')],
    ['tokenizer.ggml.tokens', { type: 'array', of: 'string', value: vocab.tokens }],
    ['tokenizer.ggml.scores', { type: 'array', of: 'f32', value: vocab.scores }],
    ['tokenizer.ggml.token_type', { type: 'array', of: 'i32', value: vocab.types }],
    ['tokenizer.ggml.unknown_token_id', u32(UNK_ID)],
    ['tokenizer.ggml.bos_token_id', u32(BOS_ID)],
    ['tokenizer.ggml.eos_token_id', u32(EOS_ID)],
    ['tokenizer.ggml.eot_token_id', u32(vocab.eotId)],
    ['tokenizer.ggml.padding_token_id', u32(UNK_ID)],
    ['tokenizer.ggml.add_bos_token', bool(true)],
    ['tokenizer.ggml.add_eos_token', bool(false)],
    ['tokenizer.chat_template', str(CHAT_TEMPLATE)],
  ];
}

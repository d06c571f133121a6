/** Synthetic GGUF models for tests, demos and benchmarks. */
export { writeModel } from './writer.js';
export { modelFileSize, CHAT_TEMPLATE } from './layout.js';
export { specForSize, SIZE_TOLERANCE, type SizeOptions } from './size.js';
export {
  defaultChatSpec,
  defaultEmbeddingSpec,
  parseModelSpec,
  ModelSpecSchema,
  TENSOR_TYPES,
  type ModelSpec,
  type ModelSpecInput,
  type TensorType,
} from './spec.js';

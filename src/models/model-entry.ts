import type { ModelConfig } from '../config/schema.js';
import type { Backend } from '../backends/backend.js';

/** A model the gateway serves: its public name, where it lives and its resolved policy. */
export interface ModelEntry {
  /** Public name clients use (Ollama style, e.g. `llama3.2:latest`). */
  name: string;
  /** Name at the backend (Ollama tag); equals `name` unless configured. */
  upstream: string;
  backend: Backend;
  /** The model's config with its slot count resolved (the backend's default where unset). */
  config: ModelConfig & { parallel: number };
  /** `chat` or `embedding` when known (config, GGUF metadata or the backend's capabilities). */
  type?: 'chat' | 'embedding';
  /** Discovered from the backend rather than declared in config. */
  discovered: boolean;
}

import type { Backend, BackendModel } from '../backends/backend.js';

/** A model the gateway serves: its public name, where it lives and its resolved policy. */
export interface ModelEntry extends BackendModel {
  backend: Backend;
  /** Discovered from the backend rather than declared in config. */
  discovered: boolean;
}

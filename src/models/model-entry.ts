import type { Backend, BackendModel } from '../backends/backend.js';

/** A model the gateway serves: its public name, where it lives and its resolved policy. */
export interface ModelEntry extends BackendModel {
  backend: Backend;
  /** Discovered from the backend rather than declared in config. */
  discovered: boolean;
  /**
   * Served by several backends: one entry per backend (its copy there); each request is
   * placed on one of them. `backend` is the first's (what the model is asked about).
   */
  hosts?: readonly ModelEntry[];
  /** On a host entry: the name of the model it is a copy of (the same as its own name). */
  copyOf?: string;
}

/** The entries a model's requests may run on: its hosts, or itself. */
export function hostsOf(entry: ModelEntry): readonly ModelEntry[] {
  return entry.hosts ?? [entry];
}

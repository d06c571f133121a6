import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { apiKeyEntry, configSchema, type Config } from './schema.js';

/** Start-up refuses an invalid config with this error; its message names key, value and what is allowed. */
export class ConfigError extends Error {
  readonly code = 'WG_BAD_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface ServeFlags {
  config?: string;
  ollama?: string;
  port?: string;
  host?: string;
}

export function parseServeFlags(argv: string[]): ServeFlags {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      ollama: { type: 'string' },
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
    },
    strict: true,
  });
  return values;
}

/**
 * Resolves the effective config: the YAML file (`--config` or WARMGATE_CONFIG), then the
 * quick-start flags and env (`--ollama`, `--port`, `--host`, and their WARMGATE_* twins),
 * flags winning over env and env over the file. `WARMGATE_ORIGINS` (comma separated) and
 * `WARMGATE_API_KEY` (an admin key) add to the file's `server.origins` and `server.api_keys`.
 */
export function loadConfig(flags: ServeFlags, env: NodeJS.ProcessEnv = process.env): Config {
  const file = flags.config ?? env.WARMGATE_CONFIG;
  const raw = file ? readYaml(file) : {};
  const ollama = flags.ollama ?? env.WARMGATE_OLLAMA_URL;
  const port = flags.port ?? env.WARMGATE_PORT;
  const host = flags.host ?? env.WARMGATE_HOST;
  if (ollama) {
    raw.backends = { ...(raw.backends as object), ollama: { kind: 'ollama', url: ollama, discover: true } };
  }
  const origins = (env.WARMGATE_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean);
  // Compose files pass `WARMGATE_API_KEY: ${WARMGATE_API_KEY:-}`: empty means no key.
  const apiKey = env.WARMGATE_API_KEY?.trim() || undefined;
  if (port !== undefined || host !== undefined || origins.length || apiKey) {
    const server = { ...(raw.server as object) } as Record<string, unknown>;
    if (port !== undefined) server.port = parsePort(port);
    if (host !== undefined) server.host = host;
    if (origins.length) server.origins = [...listOrEmpty(server.origins), ...origins];
    if (apiKey) {
      // Checked here so that the message names the variable, not a position in a list.
      const problem = apiKeyProblem(apiKey);
      if (problem) throw new ConfigError(`invalid config (environment):\n  - WARMGATE_API_KEY: ${problem}; got a ${apiKey.length}-character key`);
      server.api_keys = [...listOrEmpty(server.api_keys), apiKey];
    }
    raw.server = server;
  }
  return validateConfig(raw, file ?? 'flags');
}

export function validateConfig(raw: unknown, source: string): Config {
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(formatIssues(result.error, raw, source));
  checkReferences(result.data, source);
  return result.data;
}

function readYaml(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  try {
    const doc = parseYaml(text) ?? {};
    if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error('the top level must be a mapping of keys');
    return doc as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`${file} is not valid YAML: ${(err as Error).message}`);
  }
}

/** A list from the file, or none; anything else is left for the schema to refuse (so the env adds nothing to it). */
function listOrEmpty(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function apiKeyProblem(key: string): string | undefined {
  return apiKeyEntry.safeParse(key).error?.issues[0]?.message;
}

function parsePort(value: string): number | string {
  return /^\d+$/.test(value) ? Number(value) : value;
}

function formatIssues(error: z.ZodError, raw: unknown, source: string): string {
  const lines = error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => `  - ${[...issue.path, k].map(String).join('.')}: unknown key (check its spelling against config/warmgate.example.yaml)`);
    }
    const key = issue.path.map(String).join('.') || '(top level)';
    const value = valueAt(raw, issue.path);
    const got = isApiKeyPath(issue.path) ? describeKey(raw, issue.path) : value === undefined ? 'nothing' : withoutPassword(JSON.stringify(value));
    return [`  - ${key}: ${issue.message}; got ${got}`];
  });
  return `invalid config (${source}):\n${lines.join('\n')}`;
}

/** `server.api_keys...`: a key is never echoed, even a rejected one (error output ends up in logs). */
function isApiKeyPath(path: PropertyKey[]): boolean {
  return path[0] === 'server' && path[1] === 'api_keys' && path.length > 2;
}

/** A URL's password (`redis://user:secret@host`) is never echoed either. */
function withoutPassword(text: string): string {
  return text.replace(/(\/\/[^/:@"]*:)[^/@"]*@/g, '$1***@');
}

function describeKey(raw: unknown, path: PropertyKey[]): string {
  const entry = valueAt(raw, path.slice(0, 3));
  if (typeof entry === 'string') return `a ${entry.length}-character key`;
  const field = path.length > 3 ? valueAt(raw, path) : entry;
  if (path[3] === 'key' && typeof field === 'string') return `a ${field.length}-character key`;
  if (path.length === 3 && entry !== null && typeof entry === 'object') return 'an entry (its key not shown)';
  return JSON.stringify(field) ?? 'nothing';
}

function valueAt(raw: unknown, path: PropertyKey[]): unknown {
  let cur = raw;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

/** Cross-key checks zod cannot express per key: a model's backend must exist. */
function checkReferences(config: Config, source: string): void {
  const names = Object.keys(config.backends);
  const problems: string[] = [];
  const allowed = names.map((n) => JSON.stringify(n)).join(', ') || 'none declared (add one under backends)';
  for (const [name, model] of Object.entries(config.models)) {
    if (model.backend && !names.includes(model.backend)) {
      problems.push(`  - models.${name}.backend: no backend named ${JSON.stringify(model.backend)}; allowed: ${allowed}`);
    }
    for (const wanted of model.backends ?? []) {
      if (!names.includes(wanted)) problems.push(`  - models.${name}.backends: no backend named ${JSON.stringify(wanted)}; allowed: ${allowed}`);
    }
    const kinds = new Set((model.backends ?? []).filter((b) => names.includes(b)).map((b) => config.backends[b].kind));
    if (kinds.size > 1) problems.push(`  - models.${name}.backends: all must be of one kind (they are ${[...kinds].join(', ')}): a request may go to any of them`);
  }
  if (problems.length) throw new ConfigError(`invalid config (${source}):\n${problems.join('\n')}`);
}

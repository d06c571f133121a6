import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { configSchema, type Config } from './schema.js';

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
 * flags winning over env and env over the file.
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
  if (port !== undefined || host !== undefined) {
    const server = { ...(raw.server as object) } as Record<string, unknown>;
    if (port !== undefined) server.port = parsePort(port);
    if (host !== undefined) server.host = host;
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
    const got = value === undefined ? 'nothing' : JSON.stringify(value);
    return [`  - ${key}: ${issue.message}; got ${got}`];
  });
  return `invalid config (${source}):\n${lines.join('\n')}`;
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
  for (const [name, model] of Object.entries(config.models)) {
    if (model.backend && !names.includes(model.backend)) {
      problems.push(`  - models.${name}.backend: no backend named ${JSON.stringify(model.backend)}; allowed: ${names.map((n) => JSON.stringify(n)).join(', ') || 'none declared (add one under backends)'}`);
    }
  }
  if (problems.length) throw new ConfigError(`invalid config (${source}):\n${problems.join('\n')}`);
}

/**
 * Which browser origins may call the gateway: Ollama's default list (its `envconfig`
 * AllowedOrigins: `OLLAMA_ORIGINS` first, then localhost, 127.0.0.1 and 0.0.0.0 over http and
 * https on any port, then desktop-app and editor schemes) plus browser extensions, which
 * Ollama's CORS layer lets through too. `server.origins` / `WARMGATE_ORIGINS` extend it.
 * `*` matches any run of characters.
 */

const LOCAL_HOSTS = ['localhost', '127.0.0.1', '0.0.0.0'];

export const DEFAULT_ORIGINS: readonly string[] = [
  ...LOCAL_HOSTS.flatMap((h) => [`http://${h}`, `https://${h}`, `http://${h}:*`, `https://${h}:*`]),
  'app://*',
  'file://*',
  'tauri://*',
  'vscode-webview://*',
  'vscode-file://*',
];

/** gin-contrib/cors AllowBrowserExtensions. */
const EXTENSION_SCHEMES = ['chrome-extension://', 'safari-extension://', 'moz-extension://', 'ms-browser-extension://'];

export class OriginAllowList {
  readonly #exact = new Set<string>();
  readonly #patterns: RegExp[] = [];

  /** `extra` first (as Ollama puts OLLAMA_ORIGINS first), then the defaults. */
  constructor(extra: readonly string[] = []) {
    for (const raw of [...extra, ...DEFAULT_ORIGINS]) {
      const origin = normalise(raw);
      if (origin.includes('*')) this.#patterns.push(new RegExp(`^${origin.split('*').map(escapeRegExp).join('.*')}$`, 's'));
      else this.#exact.add(origin);
    }
  }

  allows(origin: string): boolean {
    const o = normalise(origin);
    if (this.#exact.has(o)) return true;
    if (EXTENSION_SCHEMES.some((s) => o.startsWith(s))) return true;
    return this.#patterns.some((p) => p.test(o));
  }
}

/** Origins are compared case-insensitively, without a trailing slash (browsers send none; people write one). */
function normalise(origin: string): string {
  const o = origin.trim().toLowerCase();
  return o.endsWith('/') && !o.endsWith('://') ? o.slice(0, -1) : o;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

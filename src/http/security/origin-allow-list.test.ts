import { describe, expect, it } from 'vitest';
import { DEFAULT_ORIGINS, OriginAllowList } from './origin-allow-list.js';

describe('origin allow-list', () => {
  const list = new OriginAllowList();

  it('starts from Ollama\'s default list', () => {
    expect(DEFAULT_ORIGINS).toEqual([
      'http://localhost', 'https://localhost', 'http://localhost:*', 'https://localhost:*',
      'http://127.0.0.1', 'https://127.0.0.1', 'http://127.0.0.1:*', 'https://127.0.0.1:*',
      'http://0.0.0.0', 'https://0.0.0.0', 'http://0.0.0.0:*', 'https://0.0.0.0:*',
      'app://*', 'file://*', 'tauri://*', 'vscode-webview://*', 'vscode-file://*',
    ]);
  });

  it('allows local pages on any port, desktop apps and browser extensions', () => {
    for (const o of ['http://localhost', 'http://localhost:3000', 'https://127.0.0.1:8443', 'http://0.0.0.0:8080', 'app://obsidian.md',
      'tauri://localhost', 'vscode-webview://abc123', 'vscode-file://vscode-app', 'file://', 'chrome-extension://abcdefghijklmnop',
      'moz-extension://1234-5678', 'safari-extension://x', 'HTTP://LOCALHOST:3000']) {
      expect(list.allows(o), o).toBe(true);
    }
  });

  it('refuses any other site, including look-alikes', () => {
    for (const o of ['https://evil.example', 'http://localhost.evil.example', 'http://evil.localhost.example:3000', 'null', 'http://127.0.0.2',
      'https://example.com', '']) {
      expect(list.allows(o), o).toBe(false);
    }
  });

  it('is extended by server.origins, with * as a wildcard and a trailing slash forgiven', () => {
    const mine = new OriginAllowList(['https://chat.example.com/', 'https://*.corp.example', 'http://192.168.1.5:*']);
    for (const o of ['https://chat.example.com', 'https://a.corp.example', 'https://a.b.corp.example', 'http://192.168.1.5:3000', 'http://localhost:3000']) {
      expect(mine.allows(o), o).toBe(true);
    }
    for (const o of ['http://chat.example.com', 'https://corp.example', 'https://evil.example']) expect(mine.allows(o), o).toBe(false);
  });
});

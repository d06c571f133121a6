import type { RunningGateway } from '../../src/app/server.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { FakeOllama, type FakeModelSpec } from '../fakes/ollama-upstream.js';
import { testGateway } from './gateway.js';

type OllamaBackendInput = Extract<NonNullable<ConfigInput['backends']>[string], { kind: 'ollama' }>;

export interface OllamaGatewayOptions {
  /** Extra keys for the backend (named `ollama`). */
  backend?: Partial<OllamaBackendInput>;
  models?: ConfigInput['models'];
  /** Start the gateway while the daemon is down (its port known, nothing listening): `daemon.start(port)` brings it back. */
  down?: boolean;
}

/**
 * A scripted Ollama daemon with a gateway in front of it, one pair per test: `start` brings
 * both up, `close` (in afterEach) stops whatever was started.
 */
export class OllamaGateway {
  daemon: FakeOllama | undefined;
  gateway: RunningGateway | undefined;

  async start(models: FakeModelSpec[], opts: OllamaGatewayOptions = {}): Promise<{ daemon: FakeOllama; url: string; port: number }> {
    const daemon = new FakeOllama({ models });
    this.daemon = daemon;
    const port = Number(new URL((await daemon.start()).url).port);
    if (opts.down) await daemon.close();
    this.gateway = await testGateway({
      backends: { ollama: { kind: 'ollama', url: `http://127.0.0.1:${port}`, ...opts.backend } },
      models: opts.models,
    });
    return { daemon, url: this.gateway.url, port };
  }

  async close(): Promise<void> {
    await this.gateway?.close();
    await this.daemon?.close();
    this.gateway = this.daemon = undefined;
  }
}

import { request } from 'undici';

export interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * One request with exactly these headers (`Host` and `Origin` included, which fetch would
 * not let a page set), read whole.
 */
export async function raw(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawReply> {
  const res = await request(url, { method: (init.method ?? 'GET') as 'GET', headers: init.headers, body: init.body });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

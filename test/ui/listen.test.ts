/**
 * The UI's URL (the printed one, `sc.uiWebUrl()`) is one a browser can open: bound to every interface (0.0.0.0, ::),
 * it names the machine, as Spark prints the driver's host name, or loopback when that name does not resolve.
 */
import net from 'node:net';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { UiListener, urlHost } from '../../src/ui/listen.js';

describe('urlHost', () => {
  it('keeps a specific address, bracketing IPv6', async () => {
    expect(await urlHost({ address: '127.0.0.1', family: 'IPv4' })).toBe('127.0.0.1');
    expect(await urlHost({ address: '10.1.2.3', family: 'IPv4' })).toBe('10.1.2.3');
    expect(await urlHost({ address: '::1', family: 'IPv6' })).toBe('[::1]');
  });

  it('names the machine for a wildcard address when its name resolves, else 127.0.0.1', async () => {
    const resolves = async () => ({ address: '192.168.0.7', family: 4 });
    const fails = async () => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }));
    for (const address of ['0.0.0.0', '::']) {
      const family = address === '::' ? 'IPv6' : 'IPv4';
      expect(await urlHost({ address, family }, resolves)).toBe(os.hostname());
      expect(await urlHost({ address, family }, fails)).toBe('127.0.0.1');
    }
  });

  it('falls back to 127.0.0.1 when the name takes too long to resolve', async () => {
    const never = () => new Promise<never>(() => {});
    expect(await urlHost({ address: '0.0.0.0', family: 'IPv4' }, never)).toBe('127.0.0.1');
  });
});

describe('UiListener bound to every interface', () => {
  it('gives a URL with a host one can connect to, not 0.0.0.0', async () => {
    const accepted: net.Socket[] = [];
    const l = new UiListener({ host: '0.0.0.0', port: 0 }, (s) => accepted.push(s));
    try {
      const url = new URL(await l.url);
      expect([os.hostname(), '127.0.0.1']).toContain(url.hostname);
      await new Promise<void>((resolve, reject) => {
        const c = net.connect(Number(url.port), url.hostname, () => {
          c.end();
          resolve();
        });
        c.once('error', reject);
      });
      for (let t0 = Date.now(); accepted.length === 0; await new Promise((r) => setTimeout(r, 10))) {
        if (Date.now() - t0 > 10_000) throw new Error('no connection accepted within 10 s');
      }
    } finally {
      await l.close();
    }
  });
});

import { describe, expect, it } from 'vitest';
import { lazyPort } from '../../lambda/adapters/lazy-port.ts';

interface Greeter {
  greet(name: string): Promise<string>;
  fail(): Promise<void>;
}

describe('lazyPort', () => {
  it('loads the adapter on the first call, once, and forwards calls with their arguments', async () => {
    // Prepare
    let loads = 0;
    const port = lazyPort<Greeter>(async () => {
      loads += 1;
      return {
        prefix: 'hello',
        async greet(this: { prefix: string }, name: string) {
          return `${this.prefix} ${name}`;
        },
        async fail() {
          throw new Error('adapter failed');
        },
      } as unknown as Greeter;
    });

    // Act
    expect(loads).toBe(0);
    const answers = await Promise.all([port.greet('a'), port.greet('b')]);

    // Assess
    expect(answers).toEqual(['hello a', 'hello b']);
    expect(loads).toBe(1);
    await expect(port.fail()).rejects.toThrow('adapter failed');
    // Not a thenable: returning the port from an async function must not try to resolve it.
    expect(await (async () => port)()).toBe(port);
  });

  it('tries the load again after a failed one', async () => {
    // Prepare
    let loads = 0;
    const port = lazyPort<Greeter>(async () => {
      loads += 1;
      if (loads === 1) throw new Error('chunk not readable');
      return { greet: async (name: string) => name, fail: async () => {} };
    });

    // Act / Assess
    await expect(port.greet('x')).rejects.toThrow('chunk not readable');
    await expect(port.greet('y')).resolves.toBe('y');
    expect(loads).toBe(2);
  });
});

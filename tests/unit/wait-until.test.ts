/** The integration tests' waitUntil gives up as soon as what should make its condition true has ended. */
import { waitUntil } from '../support/processes';

describe('waitUntil', () => {
  it('fails at once, with the error, when the running promise rejects first', async () => {
    const started = Date.now();
    const running = new Promise<void>((_, reject) => setTimeout(() => reject(new Error('the stage died: broker gone')), 50));
    await expect(waitUntil(() => false, 'every row', 60_000, undefined, running)).rejects.toThrow(/stopped waiting for every row: it failed: Error: the stage died: broker gone/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('still returns when the condition holds, and times out when nothing ends', async () => {
    let n = 0;
    await waitUntil(() => ++n >= 3, 'three polls', 5_000, undefined, new Promise<void>(() => undefined));
    expect(n).toBe(3);
    await expect(waitUntil(() => false, 'never', 300)).rejects.toThrow(/timed out after 300 ms waiting for never/);
  });
});

// jest globalTeardown of the `integration` project: stops only what stack-setup.ts started.
import { takeStackHandle } from './stack-handle';

export default async function globalTeardown(): Promise<void> {
  const handle = takeStackHandle();
  if (handle !== undefined) await handle.stop();
}

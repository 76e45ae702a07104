// globalSetup and globalTeardown run in jest's parent process, one module registry apart, so
// what setup started is handed to teardown through a global.
import type { StackProvider } from './stack-env';

export interface StackHandle {
  provider: StackProvider;
  /** Stops what setup started; a no-op for a stack that was already there. */
  stop(): Promise<void>;
}

declare global {
  // `var`, not `let`: only a var declaration becomes a property of globalThis.
  var __vgmflowStackHandle: StackHandle | undefined;
}

export function setStackHandle(handle: StackHandle): void {
  globalThis.__vgmflowStackHandle = handle;
}

export function takeStackHandle(): StackHandle | undefined {
  const handle = globalThis.__vgmflowStackHandle;
  globalThis.__vgmflowStackHandle = undefined;
  return handle;
}

/**
 * A package loaded on first use rather than at start: the Schema Registry client and the AWS
 * SDK take seconds to load, and most commands never touch them.
 */
export function lazyModule<M>(load: () => M): () => M {
  let loaded: M | undefined;
  return () => (loaded ??= load());
}

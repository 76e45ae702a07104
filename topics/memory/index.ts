/** The memory transport's public face: the Transport, its batch size, and Kafka's key → partition. */
export { MemoryTransport } from './transport';
export { MAX_BATCH_RECORDS } from './consumer-group';
export { partitionForKey } from './partition-for-key';

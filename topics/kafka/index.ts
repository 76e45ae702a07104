/** The Kafka transport's public face: the Transport, its options, and the request splitting. */
export { KafkaTransport } from './transport';
export type { KafkaConsumerTuning, KafkaTransportOptions } from './options';
export { COMPRESSIONS, type Compression } from './compression';
export { MAX_REQUEST_PAYLOAD_BYTES, chunkRecords } from './request-chunks';

/**
 * `vgmflow transform|inverse --brokers`: the one-shot runs of the transform and inverse stages.
 * Their own module, loaded only with --brokers, so that a file run loads neither the stages
 * nor kafkajs.
 */
import { runInverse } from '../../../stages/inverse/inverse-stage';
import { runTransform } from '../../../stages/transform/transform-stage';
import type { ParsedArgs } from '../args';
import { runOneShotOnKafka } from '../one-shot-kafka';
import { inverseOptionsFromArgs, transformOptionsFromArgs } from '../stage-options';

export function transformOnKafka(args: ParsedArgs): Promise<number> {
  return runOneShotOnKafka('encoded', 'transform', args, (kafka, transport, log) => {
    const options = transformOptionsFromArgs(args, kafka, transport, log);
    return { inputTopic: kafka.topics.batches, outputTopic: options.transformedTopic, options, run: runTransform };
  });
}

export function inverseOnKafka(args: ParsedArgs): Promise<number> {
  return runOneShotOnKafka('decoded', 'inverse', args, (kafka, transport, log) => {
    const options = inverseOptionsFromArgs(args, kafka, transport, log);
    return { inputTopic: options.encodedTopic, outputTopic: options.decodedTopic, options, run: runInverse };
  });
}

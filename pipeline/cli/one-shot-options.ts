/** The option of `vgmflow transform|inverse --brokers` runs (./one-shot-kafka), declared without loading Kafka. */
export const ONE_SHOT_OPTIONS = { 'model-wait': { type: 'string' } } as const;

export const ONE_SHOT_HELP = `  --model-wait <seconds>  how long to wait for a model on <prefix>.models before giving up
                          (default 30)`;

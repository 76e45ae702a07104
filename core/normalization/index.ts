/** CTAB-GAN's data transformer over fitted mixtures: fit, encode, decode. */
export * from './column-spec';
export * from './column-summary';
export * from './batch-decoder';
export * from './batch-encoder';
export * from './decoder';
export * from './encoder';
export * from './fit-transformer';
export * from './layout';
export * from './model';
export * from './model-validate';
export * from './mode-usage';
export * from './row-id';
export * from './model-specs';

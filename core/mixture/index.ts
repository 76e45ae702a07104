/** The variational Gaussian mixture as pure functions over weighted points. */
export * from './component-stats';
export * from './e-step';
export * from './fit';
export * from './fit-machine';
export * from './fit-state';
export * from './kmeans';
export * from './lower-bound';
export * from './m-step';
export * from './moments';
export * from './options';
export * from './params';
export * from './sample';
export * from './special-functions';
export * from './weighted-points';

// The query room: the saved-query language (validation with JSON paths, the one loader, resolution
// into what the exporter runs with its digest) and the start times people write.
export * from './model';
export * from './savedQuery';
export * from './startTime';
export { slug } from './slug';

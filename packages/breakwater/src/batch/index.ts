// breakwater/batch: many items with bounded concurrency, partial success and a failure budget.
export { runBatch, type BatchOptions, type BatchResult, type BatchSuccess, type BatchFailure } from './run-batch.js';

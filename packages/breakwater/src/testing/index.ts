// breakwater/testing: helpers for users' own resilience tests.
export { FakeClock, settle } from './fake-clock.js';
export { chaos, ChaosPolicy, type ChaosOptions } from '../policies/chaos.js';
export { seededRandom } from '../policies/random.js';

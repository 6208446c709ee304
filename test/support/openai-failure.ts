import assert from 'node:assert/strict';
import type OpenAI from 'openai';
import type { Simulator } from '../../packages/gateway/src/simulator/simulator.js';

/** The openai SDK's error from a call that must fail (the test fails if it does not). */
export async function failure(promise: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await promise;
  } catch (error) {
    return error as InstanceType<typeof OpenAI.APIError>;
  }
  assert.fail('expected the call to fail');
}

/** Clears the counters and scripted faults of simulators between cases. */
export function resetSimulators(...simulators: Simulator[]): void {
  for (const simulator of simulators) {
    simulator.resetStats();
    simulator.clearScript();
  }
}

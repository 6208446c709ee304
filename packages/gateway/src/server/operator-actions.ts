import { Errors, runOperation, type Journal } from 'breakwater';
import type { Maintenance } from './request-gate.js';
import type { Upstreams } from './upstreams.js';

/** What an operator can do, on what. */
export const ACTIONS = {
  breaker: ['reset', 'isolate'],
  target: ['drain', 'undrain'],
  route: ['maintenance', 'resume'],
} as const;

export type Subject = keyof typeof ACTIONS;

export interface OperatorAction {
  subject: Subject;
  /** An upstream (`provider:model`) for breakers and targets; a model alias for routes. */
  key: string;
  action: string;
}

export interface ActionDeps {
  journal: Journal<unknown>;
  upstreams: Upstreams;
  maintenance: Maintenance;
  routes: () => Iterable<string>;
}

/**
 * Applies an operator's action and journals it (`operator.action`, with who did it), whether it
 * came from the console or the admin API. Unknown actions and keys are a 404 naming what exists.
 */
export async function applyAction(
  deps: ActionDeps,
  act: OperatorAction,
  { actor, correlationId }: { actor: string; correlationId: string },
): Promise<unknown> {
  const allowed: readonly string[] = ACTIONS[act.subject] ?? [];
  if (!allowed.includes(act.action))
    throw Errors.notFound({
      userMessage: `Actions on a ${act.subject}: ${allowed.join(', ')}.`,
      details: { action: act.action },
    });
  const known = act.subject === 'route' ? [...deps.routes()] : deps.upstreams.keys();
  if (!known.includes(act.key))
    throw Errors.notFound({ userMessage: `No ${act.subject} ${act.key}.`, details: { known } });
  return runOperation(deps.journal, 'operator.action', async () => perform(deps, act, actor), {
    correlationId,
    metadata: { actor, subject: act.subject, key: act.key, action: act.action },
  });
}

function perform({ upstreams, maintenance }: ActionDeps, { subject, key, action }: OperatorAction, actor: string) {
  if (subject === 'route') {
    if (action === 'maintenance') maintenance.begin(key, actor);
    else maintenance.end(key);
    return { route: key, maintenance: maintenance.of(key) ?? null };
  }
  if (subject === 'target') {
    if (action === 'drain') upstreams.drain(key, actor);
    else upstreams.undrain(key);
    return { target: key, drained: upstreams.drained(key) ?? null };
  }
  const { breaker } = upstreams.get(key);
  // reset: closed, counters cleared; isolate: open until reset (e.g. during a provider incident).
  if (action === 'reset') breaker.reset(key);
  else breaker.isolate(key);
  return breaker.snapshot(key);
}

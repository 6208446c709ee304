import { fieldUnsupported } from '../upstream/openai-request.js';
import type { ResolvedTarget } from '../upstream/call-target.js';
import type { Route } from './route.js';

/** What a chat request needs from the target that answers it. */
export interface Needs {
  tools: boolean;
  images: boolean;
}

const NEEDS: readonly Needs[] = [
  { tools: true, images: false },
  { tools: false, images: true },
  { tools: true, images: true },
];

const keyOf = (needs: Needs): string => `${needs.tools ? 'tools' : ''}+${needs.images ? 'images' : ''}`;

export function needsOf(body: Record<string, unknown>): Needs {
  const tools = Array.isArray(body['tools']) && body['tools'].length > 0;
  const messages = Array.isArray(body['messages']) ? (body['messages'] as Array<{ content?: unknown }>) : [];
  const images = messages.some(
    (message) =>
      Array.isArray(message?.content) &&
      message.content.some((part: { type?: unknown } | null) => part?.type === 'image_url'),
  );
  return { tools, images };
}

function fits(target: ResolvedTarget, needs: Needs): boolean {
  return (!needs.tools || target.capabilities.tools) && (!needs.images || target.capabilities.images);
}

/**
 * The route's variants for requests that need tools or images: the same route over only the
 * targets that declare them, built once (the upstreams' breakers and limits are shared), so a
 * request with tools never falls back to a target without them. Undefined where no target fits.
 */
export function capabilityVariants(
  route: Route,
  build: (targets: ResolvedTarget[]) => Route,
): Map<string, Route | undefined> {
  const variants = new Map<string, Route | undefined>();
  for (const needs of NEEDS) {
    const fit = route.targets.filter((target) => fits(target, needs));
    variants.set(keyOf(needs), fit.length === route.targets.length ? route : fit.length > 0 ? build(fit) : undefined);
  }
  return variants;
}

/** The route (or its variant) that can serve this request; a 400 when none of its targets can. */
export function routeForNeeds(route: Route, body: Record<string, unknown>): Route {
  const needs = needsOf(body);
  if (!needs.tools && !needs.images) return route;
  const variant = route.variants.get(keyOf(needs));
  if (variant) return variant;
  const what = needs.tools && !route.targets.some((t) => t.capabilities.tools) ? 'tools' : 'images';
  const message = `no target of the model '${route.alias}' supports ${what}`;
  throw fieldUnsupported({
    message: `${message}.`,
    userMessage: "The model's provider cannot honour every part of this request.",
    details: { issues: [{ path: what === 'tools' ? 'tools' : 'messages', message }] },
  });
}

// Tools an LLM agent calls: failures come back as structured results the model can act on.
import { z } from 'zod';
import { defineTool, runOpenAIToolCalls } from 'breakwater/agent';

const getWeather = defineTool({
  name: 'get_weather',
  description: 'Forecast for a city, up to 7 days.',
  input: z.object({ city: z.string().min(2), days: z.number().int().min(1).max(7) }),
  timeoutMs: 2_000,
  execute: async ({ city, days }) => ({ city, days, forecast: 'sunny' }),
});
const lookupOrder = defineTool({
  name: 'lookup_order',
  input: z.object({ orderId: z.string() }),
  execute: async () => {
    // What a real client throws when its service answers 503 with Retry-After.
    throw Object.assign(new Error('Service Unavailable (upstream api key sk-live-abcdef1234567890)'), {
      status: 503,
      headers: { 'retry-after': '20' },
    });
  },
});
// The full classified error goes to your logs and metrics; the model never sees internals.
lookupOrder.events.on('toolError', ({ tool, error }) =>
  console.log(`[log] ${tool}: ${error.code} (${error.category})`),
);

// The assistant message's tool_calls, as the openai SDK returns them.
const toolCalls = [
  { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo","days":3}' } },
  { id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo","days":30}' } },
  { id: 'call_3', type: 'function', function: { name: 'lookup_order', arguments: '{"orderId":"A-1"}' } },
];
for (const message of await runOpenAIToolCalls([getWeather, lookupOrder], toolCalls)) {
  console.log(`${message.tool_call_id}: ${message.content}`);
}

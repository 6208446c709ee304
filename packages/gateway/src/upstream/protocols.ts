import { anthropicProtocol } from './anthropic.js';
import { bedrockProtocol } from './bedrock.js';
import { geminiProtocol } from './gemini.js';
import { openAIProtocol } from './openai.js';
import type { ChatProtocol, ProviderKind } from './protocol.js';

/** Each provider kind's protocol module. */
export const PROTOCOLS: Readonly<Record<ProviderKind, ChatProtocol>> = {
  openai: openAIProtocol,
  anthropic: anthropicProtocol,
  gemini: geminiProtocol,
  bedrock: bedrockProtocol,
};

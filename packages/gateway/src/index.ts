// @breakwater/gateway: embed the gateway in your own process (the `breakwater` command runs it too).
export { createGateway, type Gateway, type GatewayOptions } from './server/gateway.js';
export { loadConfig, parseConfig, ConfigError } from './config/load.js';
export { ConfigSchema, type GatewayConfig } from './config/schema.js';
export { startSimulator, type Simulator, type SimulatorOptions } from './simulator/simulator.js';

// Configuration: every option with its default, and the resolver the CLI calls.
export { OPTIONS } from './defaults.js';
export type { OptionSpec, VigilConfig } from './defaults.js';
export { resolveConfig } from './resolve-config.js';

// The demo: the whole story of DESIGN.md on this machine (platform, three agents, the corporate app).
export { runStory } from './story.js';
export type { StoryOptions, StoryResult } from './story.js';
export { StoryError } from './timeline.js';

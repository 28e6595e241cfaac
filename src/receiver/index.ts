// The resource-server receiver library for corporate apps: JWT access tokens + CAEP over SSF (push or poll).
// It imports only jose and node, so an app can embed it without the platform.
export { createReceiver, claimsChallenge, ssfMetadataUrl } from './receiver.js';
export type { Receiver, ReceiverOptions, StreamSetup, SetOutcome, SetErrorCode, AccessTokenResult } from './receiver.js';
export { nodeMiddleware, fastifyReceiver } from './middleware.js';
export type { MiddlewareOptions } from './middleware.js';
export { setPayloadErrors, eventErrors, subjectErrors, metadataErrors, streamConfigErrors, CAEP_PREFIX, SSF_PREFIX, RISC_PREFIX } from './validate.js';

/** The OpenAI-compatible server. */
export { buildServer, type ServerOptions, type EdgeServer, type ServerContext } from "./app.js";
export { ApiError, toApiError } from "./openai/errors.js";
export { validateChat, validateCompletion } from "./openai/validate.js";
export { Metrics } from "./metrics.js";
export { installRouter } from "./routing/install.js";
export { ROUTE_HEADER, REASON_HEADER, ESCALATION_HEADER } from "./routing/shapes.js";

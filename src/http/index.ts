// Public entry of the HTTP module.
export { createHttpServer, type HttpServer, type HttpServerOptions } from './server.js';
export { DEFAULT_LISTEN, parseListen, formatUrl, type ListenAddress } from './listen.js';
export { checkBearer, type AuthResult } from './auth.js';

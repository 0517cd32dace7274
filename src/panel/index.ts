// The panel client's public surface.
export { createPanelClient, type ClosablePanelClient, type PanelClientOptions } from './client.js';
export { classifyAnswer, classifyTransport, type Classified, type HttpAnswer, type PanelAction, type TransportFailure } from './classify.js';

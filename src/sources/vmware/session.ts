// The vCenter session: which flavour the server speaks, logging in once and reusing the
// session across passes, one re-login when a call answers 401, logout on close.
// The session id and the password stay inside this file: never logged, never in errors.
import type { Logger } from '../../util/logger.js';
import { vsphereError, type VsphereError } from './errors.js';
import { API_FLAVOR, REST_FLAVOR, flavorByName, type Flavor, type FlavorName } from './flavor.js';
import type { HttpAnswer, HttpRequest, VsphereHttp } from './http.js';
import { describeIssues, sessionIdSchema } from './schema.js';

/**
 * A logout waits at most this long: it runs while the daemon stops, after the in-flight panel calls
 * (panel.timeoutMs + 5 s), and with a source's full timeoutMs (15 s by default) the stop could
 * outlast systemd's TimeoutStopSec (30 s) and end in SIGKILL.
 */
const LOGOUT_TIMEOUT_MS = 3_000;

export interface SessionSettings {
  readonly source: string;
  readonly username: string;
  readonly password: string;
  readonly apiFlavor: 'auto' | FlavorName;
  readonly timeoutMs: number;
}

/** A request without its flavour: built once the flavour is known. */
export type RequestBuilder = (flavor: Flavor) => Omit<HttpRequest, 'signal' | 'headers'>;

/** An answer together with the flavour it was spelled in. */
export interface SessionAnswer extends HttpAnswer {
  readonly flavor: Flavor;
  /** `GET /api/vcenter/vm?…`, for messages. */
  readonly what: string;
}

/** Authenticated calls to one vCenter. */
export class VsphereSession {
  private flavor: Flavor | null = null;
  private sessionId: string | null = null;
  private pendingLogin: Promise<string> | null = null;
  private loginCount = 0;

  constructor(
    private readonly settings: SessionSettings,
    private readonly http: VsphereHttp,
    private readonly logger: Logger,
  ) {}

  /** Logins so far (first login and re-logins), for stats. */
  get logins(): number {
    return this.loginCount;
  }

  /** Sends a call with the session, logging in first if needed and once more if it answers 401. */
  async call(build: RequestBuilder, signal: AbortSignal): Promise<SessionAnswer> {
    const session = await this.currentSession(signal);
    const flavor = this.flavor!;
    const req = build(flavor);
    const what = describe(req);
    const first = await this.sendWith(req, session, signal, what);
    if (first.status !== 401) return { ...first, flavor, what };
    this.logger.info({ call: what }, 'vCenter session no longer valid; logging in again');
    const renewed = await this.renew(session, signal);
    const second = await this.sendWith(req, renewed, signal, what);
    if (second.status === 401) {
      throw vsphereError(this.settings.source, 'auth', what, 'still HTTP 401 right after logging in again: the account may lack the privilege for this call', { status: 401 });
    }
    return { ...second, flavor, what };
  }

  /** Ends the session on vCenter (best effort: a failed logout only logs a warning; vCenter expires it anyway). */
  async logout(): Promise<void> {
    const session = this.sessionId;
    const flavor = this.flavor;
    this.sessionId = null;
    if (session === null || flavor === null) return;
    try {
      const answer = await this.http.send(
        { method: 'DELETE', path: flavor.sessionPath, headers: { 'vmware-api-session-id': session }, signal: AbortSignal.timeout(Math.min(this.settings.timeoutMs, LOGOUT_TIMEOUT_MS)) },
        `DELETE ${flavor.sessionPath}`,
      );
      if (answer.status >= 300 && answer.status !== 401) this.logger.warn({ status: answer.status }, 'vCenter logout answered an error');
      else this.logger.debug('logged out of vCenter');
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'vCenter logout failed');
    }
  }

  private sendWith(req: Omit<HttpRequest, 'signal' | 'headers'>, session: string, signal: AbortSignal, what: string): Promise<HttpAnswer> {
    return this.http.send({ ...req, headers: { 'vmware-api-session-id': session }, signal }, what);
  }

  private currentSession(signal: AbortSignal): Promise<string> {
    return this.sessionId !== null ? Promise.resolve(this.sessionId) : this.renew(null, signal);
  }

  /** Logs in unless someone already replaced `stale`; parallel callers share one login. */
  private renew(stale: string | null, signal: AbortSignal): Promise<string> {
    if (this.sessionId !== null && this.sessionId !== stale) return Promise.resolve(this.sessionId);
    this.sessionId = null;
    if (!this.pendingLogin) {
      this.pendingLogin = this.login(signal).finally(() => {
        this.pendingLogin = null;
      });
    }
    return this.pendingLogin;
  }

  private async login(signal: AbortSignal): Promise<string> {
    if (this.flavor === null && this.settings.apiFlavor !== 'auto') this.flavor = flavorByName(this.settings.apiFlavor);
    if (this.flavor !== null) return this.loginWith(this.flavor, signal);
    // Auto: vCenter before 7.0 U2 has no /api at all and answers 404 there.
    const probe = await this.postSession(API_FLAVOR, signal);
    if (probe.status === 404) {
      this.logger.info('vCenter has no /api (older than 7.0 U2); using /rest');
      return this.loginWith(REST_FLAVOR, signal);
    }
    return this.acceptLogin(API_FLAVOR, probe);
  }

  private async loginWith(flavor: Flavor, signal: AbortSignal): Promise<string> {
    return this.acceptLogin(flavor, await this.postSession(flavor, signal));
  }

  private postSession(flavor: Flavor, signal: AbortSignal): Promise<HttpAnswer> {
    const basic = Buffer.from(`${this.settings.username}:${this.settings.password}`).toString('base64');
    return this.http.send({ method: 'POST', path: flavor.sessionPath, headers: { authorization: `Basic ${basic}` }, signal }, `POST ${flavor.sessionPath}`);
  }

  private acceptLogin(flavor: Flavor, answer: HttpAnswer): string {
    const { source, username } = this.settings;
    const what = `logging in as "${username}" (POST ${flavor.sessionPath})`;
    if (answer.status === 401 || answer.status === 403) {
      throw vsphereError(source, 'auth', what, `refused with HTTP ${answer.status}: check username/password`, { status: answer.status });
    }
    if (answer.status === 404) {
      throw vsphereError(source, 'http', what, `HTTP 404: this vCenter does not serve ${flavor.prefix}; set apiFlavor to ${flavor.name === 'api' ? '"rest" or "auto"' : '"api" or "auto"'}`, { status: 404 });
    }
    if (answer.status < 200 || answer.status >= 300) throw httpStatusError(source, what, answer, flavor);
    const unwrapped = flavor.unwrap(answer.body);
    const parsed = unwrapped.ok ? sessionIdSchema.safeParse(unwrapped.value) : null;
    if (!parsed?.success) {
      const problem = !unwrapped.ok ? unwrapped.problem : parsed ? describeIssues(parsed.error) : 'no session id';
      throw vsphereError(source, 'invalid_response', what, `the answer holds no session id (${problem})`);
    }
    this.flavor = flavor;
    this.sessionId = parsed.data;
    this.loginCount++;
    this.logger.info({ flavor: flavor.name, logins: this.loginCount }, 'logged in to vCenter');
    return parsed.data;
  }
}

/** `HTTP 500 UNABLE_TO_ALLOCATE_RESOURCE: Too many virtual machines…` as a VsphereError. */
export function httpStatusError(source: string, what: string, answer: HttpAnswer, flavor: Flavor): VsphereError {
  const vapi = flavor.errorKind(answer.body);
  const detail = vapi ? `HTTP ${answer.status} ${vapi.kind}${vapi.message ? `: ${vapi.message}` : ''}` : `HTTP ${answer.status}${answer.text ? `: ${answer.text}` : ''}`;
  return vsphereError(source, 'http', what, detail, { status: answer.status, ...(vapi ? { vapiKind: vapi.kind } : {}) });
}

function describe(req: Omit<HttpRequest, 'signal' | 'headers'>): string {
  const params = new URLSearchParams();
  for (const [k, v] of req.query ?? []) params.append(k, v);
  const query = params.size > 0 ? `?${params.toString()}` : '';
  return `${req.method} ${req.path}${query}`;
}

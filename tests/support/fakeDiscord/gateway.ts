/**
 * The fake gateway: HELLO -> IDENTIFY (token and intents checked; 4004 / 4013 /
 * 4014 closes) -> READY -> GUILD_CREATE per guild, heartbeats and acks, and
 * RESUME on `resume_gateway_url` with replay of what was missed. Dispatches
 * respect the session's intents, as Discord's do.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  GatewayCloseCodes,
  GatewayDispatchEvents,
  GatewayIntentBits,
  GatewayOpcodes,
  type GatewayDispatchPayload,
  type GatewayGuildCreateDispatchData,
  type GatewayReadyDispatchData,
  type GatewayReceivePayload,
  type GatewaySendPayload,
} from 'discord-api-types/v10';
import { WebSocketServer, type WebSocket } from 'ws';

export const PRIVILEGED_INTENTS = GatewayIntentBits.GuildMembers | GatewayIntentBits.GuildPresences | GatewayIntentBits.MessageContent;
/** Every intent bit discord-api-types knows; anything else is "invalid intents" (4013). */
const KNOWN_INTENTS = Object.values(GatewayIntentBits)
  .filter((v): v is number => typeof v === 'number')
  .reduce((all, bit) => all | bit, 0);

export type DispatchData<E extends GatewayDispatchEvents> = Extract<GatewayDispatchPayload, { t: E }>['d'];

interface Session {
  id: string;
  intents: number;
  seq: number;
  socket: WebSocket | undefined;
  /** Sent dispatches, for replay on RESUME. */
  sent: { s: number; payload: GatewayDispatchPayload }[];
}

export interface GatewayStats {
  connections: number;
  identifies: { intents: number; at: number }[];
  resumes: { sessionId: string; seq: number; path: string; at: number }[];
  heartbeats: number;
  /** Close codes the fake sent. */
  closes: number[];
}

export interface GatewayOptions {
  token: () => string;
  heartbeatIntervalMs: number;
  /** Privileged intents switched on in the developer portal for this application. */
  enabledPrivilegedIntents: number;
  ready: (sessionId: string) => GatewayReadyDispatchData;
  guildCreates: () => GatewayGuildCreateDispatchData[];
  onChange: () => void;
}

export const GATEWAY_PATH = '/gateway';
export const RESUME_PATH = '/gateway-resume';
const REPLAY_LIMIT = 1000;

export class FakeGateway {
  private readonly options: GatewayOptions;
  readonly stats: GatewayStats = { connections: 0, identifies: [], resumes: [], heartbeats: 0, closes: [] };
  private readonly sessions = new Map<string, Session>();
  private readonly wss = new WebSocketServer({ noServer: true });
  private nextSession = 1;

  constructor(options: GatewayOptions) {
    this.options = options;
  }

  /** For the HTTP server's 'upgrade' event; returns false if the path is not the gateway's. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname.replace(/\/$/, '');
    if (path !== GATEWAY_PATH && path !== RESUME_PATH) return false;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, url, path));
    return true;
  }

  get connectedCount(): number {
    return [...this.sessions.values()].filter((s) => s.socket).length;
  }

  dispatch<E extends GatewayDispatchEvents>(t: E, d: DispatchData<E>, requiredIntent?: number): void {
    for (const session of this.sessions.values()) {
      if (requiredIntent !== undefined && (session.intents & requiredIntent) === 0) continue;
      this.sendDispatch(session, t, d);
    }
  }

  /**
   * Drops every connection. Resumable (default): close 4000, the session stays and
   * what is dispatched meanwhile is replayed on RESUME. Not resumable: the
   * session is forgotten, so the client's RESUME gets INVALID_SESSION and it identifies again.
   */
  disconnect(options: { resumable?: boolean } = {}): void {
    const resumable = options.resumable ?? true;
    for (const session of [...this.sessions.values()]) {
      if (!resumable) this.sessions.delete(session.id);
      const socket = session.socket;
      session.socket = undefined;
      if (socket) this.close(socket, GatewayCloseCodes.UnknownError, 'fake: forced reconnect');
    }
    this.options.onChange();
  }

  async close(): Promise<void>;
  close(socket: WebSocket, code: number, reason: string): void;
  close(socket?: WebSocket, code?: number, reason?: string): void | Promise<void> {
    if (socket) {
      this.stats.closes.push(code!);
      socket.close(code, reason);
      return;
    }
    for (const client of this.wss.clients) client.terminate();
    this.sessions.clear();
    return new Promise((resolve) => this.wss.close(() => resolve()));
  }

  private send(ws: WebSocket, payload: GatewayReceivePayload): void {
    ws.send(JSON.stringify(payload));
  }

  private sendDispatch<E extends GatewayDispatchEvents>(session: Session, t: E, d: DispatchData<E>): void {
    session.seq += 1;
    const payload = { op: GatewayOpcodes.Dispatch, t, d, s: session.seq } as Extract<GatewayDispatchPayload, { t: E }>;
    session.sent.push({ s: session.seq, payload });
    if (session.sent.length > REPLAY_LIMIT) session.sent.shift();
    if (session.socket) this.send(session.socket, payload);
  }

  private onConnection(ws: WebSocket, url: URL, path: string): void {
    this.stats.connections += 1;
    if (url.searchParams.get('v') !== '10') return this.close(ws, GatewayCloseCodes.InvalidAPIVersion, 'Invalid API version');
    if (url.searchParams.get('encoding') !== 'json') return this.close(ws, GatewayCloseCodes.DecodeError, 'Only encoding=json is supported by the fake');
    let session: Session | undefined;
    this.send(ws, { op: GatewayOpcodes.Hello, d: { heartbeat_interval: this.options.heartbeatIntervalMs }, s: null, t: null });

    ws.on('message', (raw) => {
      let payload: GatewaySendPayload;
      try {
        payload = JSON.parse(String(raw)) as GatewaySendPayload;
      } catch {
        return this.close(ws, GatewayCloseCodes.DecodeError, 'Error while decoding payload.');
      }
      switch (payload.op) {
        case GatewayOpcodes.Heartbeat:
          this.stats.heartbeats += 1;
          this.send(ws, { op: GatewayOpcodes.HeartbeatAck, d: undefined, s: null, t: null });
          return;
        case GatewayOpcodes.Identify: {
          if (session) return this.close(ws, GatewayCloseCodes.AlreadyAuthenticated, 'Already authenticated.');
          const { token, intents } = payload.d;
          if (token !== this.options.token()) return this.close(ws, GatewayCloseCodes.AuthenticationFailed, 'Authentication failed.');
          if (!Number.isInteger(intents) || intents < 0 || (intents & ~KNOWN_INTENTS) !== 0) {
            return this.close(ws, GatewayCloseCodes.InvalidIntents, 'Invalid intent(s).');
          }
          if ((intents & PRIVILEGED_INTENTS & ~this.options.enabledPrivilegedIntents) !== 0) {
            return this.close(ws, GatewayCloseCodes.DisallowedIntents, 'Disallowed intent(s).');
          }
          this.stats.identifies.push({ intents, at: Date.now() });
          session = { id: `fake-session-${this.nextSession++}`, intents, seq: 0, socket: ws, sent: [] };
          this.sessions.set(session.id, session);
          this.sendDispatch(session, GatewayDispatchEvents.Ready, this.options.ready(session.id));
          for (const guild of this.options.guildCreates()) this.sendDispatch(session, GatewayDispatchEvents.GuildCreate, guild);
          this.options.onChange();
          return;
        }
        case GatewayOpcodes.Resume: {
          const { token, session_id: sessionId, seq } = payload.d;
          if (token !== this.options.token()) return this.close(ws, GatewayCloseCodes.AuthenticationFailed, 'Authentication failed.');
          const existing = this.sessions.get(sessionId);
          this.stats.resumes.push({ sessionId, seq, path, at: Date.now() });
          if (!existing) {
            this.send(ws, { op: GatewayOpcodes.InvalidSession, d: false, s: null, t: null });
            return;
          }
          if (existing.socket && existing.socket !== ws) existing.socket.terminate();
          session = existing;
          session.socket = ws;
          for (const missed of session.sent.filter((e) => e.s > seq)) this.send(ws, missed.payload);
          this.sendDispatch(session, GatewayDispatchEvents.Resumed, undefined);
          this.options.onChange();
          return;
        }
        default:
          if (!session) return this.close(ws, GatewayCloseCodes.NotAuthenticated, 'Not authenticated.');
          return; // presence updates, member requests...: accepted and ignored
      }
    });

    ws.on('close', (code) => {
      if (!session || session.socket !== ws) return;
      session.socket = undefined;
      // A client closing with 1000/1001 ends its session; other codes (4200: discord.js resuming) keep it.
      if (code === 1000 || code === 1001) this.sessions.delete(session.id);
      this.options.onChange();
    });
  }
}

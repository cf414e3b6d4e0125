/**
 * The private-network guard for links the bot fetches. A host name is
 * resolved inside the socket's own `lookup` hook: every address of the answer
 * is checked (one private address refuses the host), and the socket connects
 * to exactly the addresses just checked — the check and the connection use
 * ONE answer, so a second DNS answer (DNS rebinding) cannot swap the target.
 * IP literals never reach `lookup`; they are checked before the request.
 * Host and TLS SNI stay the URL's name (node:http sets them from the URL).
 */
import { lookup as dnsLookup } from 'node:dns';
import type { LookupAddress, LookupAllOptions, LookupOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { addressAllowed, bareHost, isIpLiteral, isLocalName, type IpRange } from '../../domain/networkAddress.ts';
import { DirectUrlError } from './errors.ts';

/** Resolves a name to all its addresses (dns.lookup with all: true by default; tests inject their own). */
export type ResolveAll = (hostname: string) => Promise<LookupAddress[]>;

export interface AddressPolicy {
  /** The work's own permission (a CLI user's request): any address. */
  allowPrivate: boolean;
  /** Private ranges the admin allows for everyone (SFA_ALLOWED_PRIVATE_ADDRESSES). */
  allowedRanges?: readonly IpRange[] | undefined;
  /** Name resolution (default: the system resolver). */
  resolve?: ResolveAll | undefined;
}

/** The one message for every refused private target: it says nothing about what listens there. */
export const PRIVATE_ADDRESS_MESSAGE = 'Links to local or private-network addresses are not allowed. Use a public link, or attach the file.';

export class PrivateAddressError extends DirectUrlError {
  constructor(detail: string) {
    super('invalid_input', PRIVATE_ADDRESS_MESSAGE, { detail });
  }
}

const systemResolve: ResolveAll = (hostname) =>
  new Promise((resolve, reject) => dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

/** Refuses a URL whose host is a private IP literal or a name for this machine, before any connection. */
export function checkHostLiteral(url: URL, policy: AddressPolicy): void {
  if (policy.allowPrivate) return;
  if (isLocalName(url.hostname)) throw new PrivateAddressError(`local name ${url.hostname}`);
  if (isIpLiteral(url.hostname) && !addressAllowed(url.hostname, { allowPrivate: false, allowedRanges: policy.allowedRanges })) {
    throw new PrivateAddressError(`private address ${url.hostname}`);
  }
}

/** Resolves `hostname` and checks every address; the checked addresses, or a PrivateAddressError. */
export async function resolveChecked(hostname: string, policy: AddressPolicy): Promise<LookupAddress[]> {
  const name = bareHost(hostname);
  if (!policy.allowPrivate && isLocalName(name)) throw new PrivateAddressError(`local name ${hostname}`);
  const addresses = await (policy.resolve ?? systemResolve)(name);
  if (addresses.length === 0) throw Object.assign(new Error(`no address for ${name}`), { code: 'ENOTFOUND' });
  const refused = addresses.filter((a) => !addressAllowed(a.address, { allowPrivate: policy.allowPrivate, allowedRanges: policy.allowedRanges }));
  if (refused.length > 0) throw new PrivateAddressError(`${name} resolves to ${refused.map((a) => a.address).join(', ')}`);
  return addresses;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for net/tls.connect that resolves through the policy and connects only to checked addresses. */
export function guardedLookup(policy: AddressPolicy) {
  return (hostname: string, options: LookupOptions | LookupAllOptions | number, callback: LookupCallback): void => {
    const all = typeof options === 'object' && options.all === true;
    const raw = typeof options === 'number' ? options : options.family;
    const family = raw === 'IPv4' ? 4 : raw === 'IPv6' ? 6 : raw;
    resolveChecked(hostname, policy).then(
      (addresses) => {
        // Every address was checked; a family the socket asks for narrows them, never widens.
        const wanted = family === 4 || family === 6 ? addresses.filter((a) => a.family === family) : addresses;
        const usable = wanted.length > 0 ? wanted : addresses;
        if (all) callback(null, usable);
        else callback(null, usable[0]!.address, usable[0]!.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, all ? [] : ''),
    );
  };
}

/**
 * A fetch for one transfer whose every connection goes through guardedLookup (node:http with our own
 * `lookup`: the socket connects to exactly the addresses that were checked). No connection is kept
 * (agent: false), redirects are not followed (the caller checks each hop), and the answer is a web
 * Response whose body streams with Node's own backpressure.
 */
export function pinnedFetch(policy: AddressPolicy): (input: string | URL, init?: { signal?: AbortSignal; headers?: Record<string, string> }) => Promise<Response> {
  const lookup = guardedLookup(policy);
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(String(input));
      const get = url.protocol === 'https:' ? https.request : http.request;
      const req = get(url, { method: 'GET', headers: init.headers, lookup: lookup as never, agent: false, signal: init.signal }, (res) => {
        try {
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, v);
          }
          const status = res.statusCode ?? 0;
          const bodyless = status === 204 || status === 205 || status === 304;
          if (bodyless) res.resume();
          resolve(new Response(bodyless ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), { status, headers }));
        } catch (error) {
          res.destroy();
          reject(error);
        }
      });
      req.on('error', reject);
      req.end();
    });
}

/** The PrivateAddressError in an error's cause chain (a socket error may wrap what lookup threw). */
export function privateAddressCause(err: unknown): PrivateAddressError | undefined {
  let cur: unknown = err;
  for (let i = 0; i < 6 && cur && typeof cur === 'object'; i++) {
    if (cur instanceof PrivateAddressError) return cur;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

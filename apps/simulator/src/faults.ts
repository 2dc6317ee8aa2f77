/**
 * Fault injection shared by every mode: scripted faults (`inject`) consumed by the next matching
 * requests, and random ones (`faultRates`). The transport-level kinds (5xx, malformed JSON, hang,
 * reset) are answered here; the provider-specific kinds (limits, status-backwards, accept-hang) are answered by
 * the mode, the image kinds by the simulator's file routes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Random } from './internal/random.ts';
import type { StatsCounters } from './stats.ts';
import type { Fault, FaultEndpoint, FaultKind } from './types.ts';

/** A request's endpoint class, as faults see it. */
export type RequestEndpoint = Exclude<FaultEndpoint, 'any'>;

/** Which endpoint classes each kind can affect. */
const APPLIES_TO: Record<FaultKind, readonly RequestEndpoint[]> = {
  '5xx': ['submit', 'status', 'upload', 'image'],
  'malformed-json': ['submit', 'status', 'upload'],
  hang: ['submit', 'status', 'upload', 'image'],
  'accept-hang': ['submit'],
  reset: ['submit', 'status', 'upload', 'image'],
  'rate-limit': ['submit'],
  'concurrency-limit': ['submit'],
  'status-backwards': ['status'],
  'image-404': ['image'],
  'slow-image': ['image'],
};

const DEFAULT_ENDPOINT: Record<FaultKind, FaultEndpoint> = {
  '5xx': 'any',
  'malformed-json': 'any',
  hang: 'any',
  'accept-hang': 'submit',
  reset: 'any',
  'rate-limit': 'submit',
  'concurrency-limit': 'submit',
  'status-backwards': 'status',
  'image-404': 'image',
  'slow-image': 'image',
};

/** Every fault kind, for validation. */
export const FAULT_KINDS = Object.keys(APPLIES_TO) as FaultKind[];

/** Queue of scripted faults plus the random rates. */
export class FaultInjector {
  private queue: { fault: Fault; remaining: number }[] = [];
  private fiveXx = 0;

  constructor(
    private readonly rates: () => Partial<Record<FaultKind, number>>,
    private readonly random: Random,
    private readonly counters: () => StatsCounters,
  ) {}

  /** Queues a fault; throws `TypeError` on an unknown kind or endpoint. */
  inject(fault: Fault): void {
    if (!FAULT_KINDS.includes(fault.kind)) throw new TypeError(`unknown fault kind: ${String(fault.kind)}`);
    const endpoint = fault.endpoint ?? DEFAULT_ENDPOINT[fault.kind];
    if (endpoint !== 'any' && !APPLIES_TO[fault.kind].includes(endpoint)) {
      throw new TypeError(`fault ${fault.kind} cannot apply to endpoint ${endpoint}`);
    }
    const count = fault.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new TypeError('fault count must be a positive integer');
    this.queue.push({ fault: { ...fault, endpoint }, remaining: count });
  }

  /** Scripted faults still queued (each with its remaining count). */
  pending(): Fault[] {
    return this.queue.map((q) => ({ ...q.fault, count: q.remaining }));
  }

  /** Drops every queued fault. */
  clear(): void {
    this.queue = [];
  }

  /**
   * Takes the fault for one request to `endpoint`, if any: the oldest matching scripted one, else a
   * random one by `faultRates`. Counted in `faultsInjected` when taken. `kinds` narrows which kinds
   * this request can honour (e.g. a status query for an unknown task cannot go backwards).
   */
  take(endpoint: RequestEndpoint, kinds?: readonly FaultKind[]): Fault | undefined {
    const fits = (kind: FaultKind) => APPLIES_TO[kind].includes(endpoint) && (!kinds || kinds.includes(kind));
    const index = this.queue.findIndex(
      (q) => fits(q.fault.kind) && (q.fault.endpoint === 'any' || q.fault.endpoint === endpoint),
    );
    let fault: Fault | undefined;
    if (index >= 0) {
      const entry = this.queue[index]!;
      fault = entry.fault;
      if (--entry.remaining === 0) this.queue.splice(index, 1);
    } else {
      for (const [kind, rate] of Object.entries(this.rates()) as [FaultKind, number][]) {
        if (rate > 0 && fits(kind) && this.random.next() < rate) {
          fault = { kind, endpoint };
          break;
        }
      }
    }
    if (fault) {
      const counts = this.counters().faultsInjected;
      counts[fault.kind] = (counts[fault.kind] ?? 0) + 1;
    }
    return fault;
  }

  /**
   * Answers the transport-level kinds (5xx, malformed-json, hang, reset). Returns false for the
   * kinds the caller must answer itself.
   */
  applyTransport(fault: Fault, req: IncomingMessage, res: ServerResponse): boolean {
    switch (fault.kind) {
      case '5xx': {
        const status = [500, 502, 503][this.fiveXx++ % 3]!;
        // Gateways answer 5xx with HTML, not the provider's JSON envelope.
        const body = `<html><body><h1>${status} Server Error</h1><p>genqueue simulator fault</p></body></html>`;
        res.writeHead(status, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(body) });
        res.end(body);
        return true;
      }
      case 'malformed-json': {
        const body = '{"code":0,"msg":"","data":{"generateUuid":"';
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
        return true;
      }
      case 'hang':
        // Never answer; `close()` destroys every socket, this one included.
        req.resume();
        return true;
      case 'reset':
        req.socket.destroy();
        return true;
      default:
        return false;
    }
  }
}

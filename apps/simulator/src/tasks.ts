/**
 * Task lifecycle, shared by every mode. A task's whole life is decided at acceptance (latency,
 * outcome, seeds) and then read off the clock: it is queued, then running, optionally generated
 * and under review, and ends at `endsAt` whether or not anyone polls (002 §2.3 counts it in flight
 * until then).
 */
import type { Random } from './internal/random.ts';
import type { ResolvedSimulatorOptions, SimTask } from './types.ts';

/** How a task ends, decided at acceptance. */
export type TaskOutcome = 'succeeded' | 'failed' | 'timeout' | 'review-blocked';

/** Where a task is at a given time. `generated` and `reviewing` are LiblibAI statuses 3 and 4. */
export type TaskPhase =
  | 'queued'
  | 'running'
  | 'generated'
  | 'reviewing'
  | 'succeeded'
  | 'failed'
  | 'timeout'
  | 'canceled';

/** One output file of a task. */
export interface TaskOutput {
  url: string;
  seed: number;
  /** Video outputs only: a PNG cover image. */
  coverUrl?: string;
}

/** A task with everything the simulator decided about it. */
export interface TaskRecord {
  id: string;
  /** The account that created it: only that account can see it. */
  account: string;
  prompt?: string;
  operation: string;
  kind: 'image' | 'video';
  createdAt: number;
  /** End of the queued phase. */
  startsAt: number;
  endsAt: number;
  endedAt?: number;
  canceledAt?: number;
  outcome: TaskOutcome;
  /** Start of the generated (3) and under-review (4) phases, when this task passes them. */
  reviewPhase?: { generatedAt: number; reviewingAt: number };
  /** Planned outputs; served only once the task succeeded and review let them through. */
  outputs: TaskOutput[];
  /** Why the task failed or timed out, in the provider's words. */
  message: string;
  statusQueries: number;
  firstTerminalQueryAt?: number;
  /** Mode-specific fields (e.g. LiblibAI points). */
  data: Record<string, unknown>;
}

/** What a mode passes to create a task. */
export interface CreateTaskInput {
  operation: string;
  prompt?: string;
  /** Number of outputs. Default 1. */
  outputCount?: number;
  /** Default `image`. */
  kind?: 'image' | 'video';
  data?: Record<string, unknown>;
}

const FAILURE_MESSAGES = [
  '生图失败：模型推理异常 (simulated failure)',
  '生图失败：资源不足，请稍后重试 (simulated failure)',
  '生图失败：参数与模型不匹配 (simulated failure)',
];

/** All tasks of one simulator. */
export class TaskStore {
  private readonly byId = new Map<string, TaskRecord>();
  /** Tasks not yet known to have ended; pruned lazily on every read. */
  private readonly active = new Set<TaskRecord>();

  constructor(
    private readonly options: () => ResolvedSimulatorOptions,
    private readonly random: Random,
    private readonly baseUrl: () => string,
  ) {}

  /** Creates a task at `now` with its whole future decided. */
  create(input: CreateTaskInput, now: number, account = 'default'): TaskRecord {
    const opts = this.options();
    const id = this.random.hex(32);
    const min = Math.max(0, opts.latencyMs.min);
    const max = Math.max(min, opts.latencyMs.max);
    const latency = min + this.random.next() * (max - min);
    const roll = this.random.next();
    let outcome: TaskOutcome = 'succeeded';
    if (roll < opts.failureRate) outcome = 'failed';
    else if (roll < opts.failureRate + opts.timeoutRate) outcome = 'timeout';
    else if (roll < opts.failureRate + opts.timeoutRate + opts.reviewBlockRate) outcome = 'review-blocked';
    const kind = input.kind ?? 'image';
    const count = Math.max(1, input.outputCount ?? 1);
    const base = this.baseUrl();
    const outputs: TaskOutput[] = [];
    for (let n = 0; n < count; n++) {
      const seed = this.random.int(0, 2 ** 31 - 1);
      outputs.push(
        kind === 'video'
          ? { url: `${base}/videos/${id}/${n}.mp4`, seed, coverUrl: `${base}/images/${id}/cover-${n}.png` }
          : { url: `${base}/images/${id}/${n}.png`, seed },
      );
    }
    const passesReview =
      (outcome === 'succeeded' || outcome === 'review-blocked') && this.random.next() < opts.reviewPhaseRate;
    const task: TaskRecord = {
      id,
      account,
      operation: input.operation,
      kind,
      createdAt: now,
      startsAt: now + latency * 0.2,
      endsAt: now + latency,
      outcome,
      outputs,
      message:
        outcome === 'failed'
          ? FAILURE_MESSAGES[this.random.int(0, FAILURE_MESSAGES.length - 1)]!
          : outcome === 'timeout'
            ? '任务超时，积分已退还 (simulated timeout)'
            : outcome === 'review-blocked'
              ? '生图结果未通过审核 (simulated review block)'
              : '',
      statusQueries: 0,
      data: input.data ?? {},
    };
    if (input.prompt !== undefined) task.prompt = input.prompt;
    if (passesReview)
      task.reviewPhase = { generatedAt: now + latency * 0.8, reviewingAt: now + latency * 0.9 };
    this.byId.set(id, task);
    this.active.add(task);
    return task;
  }

  /** A task by id. */
  get(id: string): TaskRecord | undefined {
    return this.byId.get(id);
  }

  /** Every task, oldest first. */
  all(): TaskRecord[] {
    return [...this.byId.values()];
  }

  /** Tasks in progress at `now` (acceptance ≤ now < endsAt, not canceled), of one account or all. */
  inFlight(now: number, account?: string): number {
    let count = 0;
    for (const task of this.active) {
      if (task.endedAt !== undefined || now >= task.endsAt) {
        task.endedAt ??= task.endsAt;
        this.active.delete(task);
      } else if (now >= task.createdAt && (account === undefined || task.account === account)) {
        count++;
      }
    }
    return count;
  }

  /** The task's phase at `now`. */
  phase(task: TaskRecord, now: number): TaskPhase {
    if (task.canceledAt !== undefined) return 'canceled';
    if (now >= task.endsAt) {
      task.endedAt ??= task.endsAt;
      return task.outcome === 'review-blocked' ? 'succeeded' : task.outcome;
    }
    if (now < task.startsAt) return 'queued';
    if (task.reviewPhase && now >= task.reviewPhase.reviewingAt) return 'reviewing';
    if (task.reviewPhase && now >= task.reviewPhase.generatedAt) return 'generated';
    return 'running';
  }

  /** Outputs served at `now`: all of them once succeeded, none when review blocked or not ended. */
  servedOutputs(task: TaskRecord, now: number): TaskOutput[] {
    return this.phase(task, now) === 'succeeded' && task.outcome === 'succeeded' ? task.outputs : [];
  }

  /** Progress in [0, 1] at `now`. */
  progress(task: TaskRecord, now: number): number {
    if (now >= task.endsAt) return 1;
    if (now <= task.startsAt) return 0;
    return Math.round(((now - task.startsAt) / (task.endsAt - task.startsAt)) * 100) / 100;
  }

  /** Cancels a task still in progress; returns false when it had already ended. */
  cancel(task: TaskRecord, now: number): boolean {
    if (task.canceledAt !== undefined) return true;
    if (now >= task.endsAt) return false;
    task.canceledAt = now;
    task.endedAt = now;
    this.active.delete(task);
    return true;
  }

  /** Records a status query; `ended` says whether the answer showed the task ended. */
  recordQuery(task: TaskRecord, now: number, ended: boolean): void {
    task.statusQueries++;
    if (ended) task.firstTerminalQueryAt ??= now;
  }

  /** The public view of a task at `now`. */
  view(task: TaskRecord, now: number): SimTask {
    const phase = this.phase(task, now);
    const state: SimTask['state'] =
      phase === 'generated' || phase === 'reviewing' ? 'running' : phase === 'queued' ? 'queued' : phase;
    const out: SimTask = {
      id: task.id,
      account: task.account,
      operation: task.operation,
      createdAt: task.createdAt,
      endsAt: task.endsAt,
      state,
      images: this.servedOutputs(task, now).map((o) => ({ url: o.url, seed: o.seed })),
      statusQueries: task.statusQueries,
    };
    if (task.prompt !== undefined) out.prompt = task.prompt;
    if (task.endedAt !== undefined) out.endedAt = task.endedAt;
    if (task.outcome === 'review-blocked') out.reviewBlocked = true;
    if (task.firstTerminalQueryAt !== undefined) out.firstTerminalQueryAt = task.firstTerminalQueryAt;
    return out;
  }
}

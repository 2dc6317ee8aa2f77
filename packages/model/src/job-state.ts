/**
 * The job-state machine. A job moves forward only; the three terminal states are final.
 *
 *   queued → submitting → running → storing → succeeded
 *      ↘          ↘           ↘         ↘→ failed | canceled
 *
 * `submitting` can go back to `queued` (retry later, paused provider); a retried failed job goes
 * from `failed` back to `queued` through the batch retry route only.
 */
export const JOB_STATES = [
  'queued',
  'submitting',
  'running',
  'storing',
  'succeeded',
  'failed',
  'canceled',
] as const;
export type JobState = (typeof JOB_STATES)[number];

export const TERMINAL_STATES: readonly JobState[] = ['succeeded', 'failed', 'canceled'];

export function isTerminal(state: JobState): boolean {
  return TERMINAL_STATES.includes(state);
}

/** Allowed transitions, `from → to[]`. Anything else is refused by the job store. */
export const TRANSITIONS: Readonly<Record<JobState, readonly JobState[]>> = {
  queued: ['submitting', 'running', 'storing', 'failed', 'canceled'],
  submitting: ['queued', 'running', 'storing', 'failed', 'canceled'],
  running: ['storing', 'failed', 'canceled'],
  storing: ['succeeded', 'failed', 'canceled'],
  succeeded: [],
  failed: ['queued'],
  canceled: [],
};

/** Whether `from → to` is a move of the state machine. Staying in a state is not one. */
export function canTransition(from: JobState, to: JobState): boolean {
  return TRANSITIONS[from].includes(to);
}

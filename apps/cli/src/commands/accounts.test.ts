import type { AccountView } from '@genqueue/model';
import { describe, expect, it } from 'vitest';
import { accountState, formatAccounts } from './accounts.ts';

const base: AccountView = {
  provider: 'liblib',
  id: 'main',
  tags: [],
  weight: 1,
  limits: { submitQps: 1, maxInFlight: 5 },
  configuredLimits: { submitQps: 1, maxInFlight: 5 },
  inFlight: 3,
  paused: false,
  pause: null,
  balance: null,
  pointsSpent: 0,
  submitted: 0,
};

describe('the accounts table', () => {
  it('aligns one line per account and marks limits changed at run time', () => {
    const lines = formatAccounts([
      base,
      {
        ...base,
        id: 'team2',
        tags: ['lora-x', 'private'],
        limits: { submitQps: 0.5, maxInFlight: 2 },
        submitted: 120,
        pointsSpent: 1440,
        balance: { value: 8560, at: '2026-12-02T01:00:00.000Z' },
      },
    ]);
    expect(lines).toEqual([
      'PROVIDER  ACCOUNT  IN FLIGHT  QPS   SUBMITTED  POINTS  BALANCE  TAGS            STATE',
      'liblib    main     3/5        1     0          0       -        -               live',
      'liblib    team2    3/2*       0.5*  120        1440    8560     lora-x,private  live',
      '* changed at run time (configured values: --json, configuredLimits)',
    ]);
  });

  it("says why an account is paused and when it is probed next; an operator's pause is never probed", () => {
    const since = '2026-12-02T01:02:03.000Z';
    expect(
      accountState({
        ...base,
        paused: true,
        pause: {
          reason: 'no points (100042)',
          since,
          manual: false,
          nextProbeAt: '2026-12-02T01:03:03.000Z',
        },
      }),
    ).toBe('paused: no points (100042), next probe 01:03:03 UTC');
    expect(accountState({ ...base, paused: true, pause: { reason: 'x', since, manual: true } })).toBe(
      'paused by an operator since 01:02:03 UTC',
    );
  });
});

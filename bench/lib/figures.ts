/** What a scenario reports, and how the run prints it. */

/** One measured figure, with its goal when it has one. */
export interface Figure {
  scenario: string;
  name: string;
  value: number;
  unit: string;
  /** The goal: `>=` or `<=` this value (goals, not assertions). */
  target?: { op: '>=' | '<='; value: number };
  /** Decimal places when printed. Default 2. */
  digits?: number;
  note?: string;
}

/**
 * The simulator's breach count (429 + 100054) as a figure. genqueue's goal is zero; the naive
 * baseline is reported without one (`goal: false`).
 */
export function breachesFigure(
  scenario: string,
  stats: { qpsBreaches: number; inFlightBreaches: number },
  goal = true,
): Figure {
  return {
    scenario,
    name: 'breaches (429 + 100054)',
    value: stats.qpsBreaches + stats.inFlightBreaches,
    unit: '',
    ...(goal ? { target: { op: '<=' as const, value: 0 } } : {}),
    digits: 0,
  };
}

/** A scenario that could not be measured, and why. */
export interface Skipped {
  scenario: string;
  reason: string;
}

export function met(figure: Figure): boolean | undefined {
  if (!figure.target || Number.isNaN(figure.value)) return undefined;
  return figure.target.op === '>='
    ? figure.value >= figure.target.value
    : figure.value <= figure.target.value;
}

/** The table printed at the end of a run. */
export function renderTable(figures: readonly Figure[], skipped: readonly Skipped[]): string {
  const rows = figures.map((f) => {
    const ok = met(f);
    return [
      f.scenario,
      f.name,
      `${Number.isNaN(f.value) ? 'n/a' : f.value.toFixed(f.digits ?? 2)} ${f.unit}`.trim(),
      f.target ? `${f.target.op} ${f.target.value} ${f.unit}`.trim() : '',
      ok === undefined ? '' : ok ? '✓' : '✗',
    ];
  });
  for (const s of skipped) rows.push([s.scenario, `not measured: ${s.reason}`, '', '', '']);
  const header = ['scenario', 'figure', 'value', 'target', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

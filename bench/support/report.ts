import type { CaseReport, Comparison, VariantResult } from './protocol';

/** What `bench/results/latest.json` holds. */
export interface BenchResults {
  generatedAt: string;
  machine: Record<string, string | number>;
  settings: Record<string, string | number>;
  cases: CaseReport[];
}

/** One line of the table and one bar of the chart. */
interface Row {
  report: CaseReport;
  comparison?: Comparison;
}

function rows(cases: CaseReport[]): Row[] {
  const out: Row[] = [];
  for (const report of cases) {
    if (report.status !== 'ok' || report.comparisons.length === 0) out.push({ report });
    else for (const comparison of report.comparisons) out.push({ report, comparison });
  }
  return out;
}

export function fmtRatio(ratio: number | null): string {
  if (ratio === null) return '–';
  if (!Number.isFinite(ratio)) return '∞';
  return `${ratio >= 10 ? ratio.toFixed(1) : ratio.toFixed(2)}x`;
}

function cell(v: VariantResult | undefined): string {
  if (v === undefined) return '–';
  return `${Math.round(v.opsPerSec).toLocaleString('en-US')} ±${v.rmePct.toFixed(1)}% (IQR ${v.iqrPct.toFixed(0)}%)`;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function metText(met: boolean | null): string {
  return met === true ? 'yes' : met === false ? '**NO**' : '–';
}

/** The results as one markdown table: a row per claim (case × compared variant). */
export function markdownTable(cases: CaseReport[]): string {
  const lines = [
    '| Case | Pool: ops/s (median ±rme, IQR) | Compared with: ops/s | Ratio | Goal | Met | Notes (what limits it) |',
    '|---|---|---|--:|---|:-:|---|',
  ];
  for (const { report, comparison: c } of rows(cases)) {
    if (c === undefined) {
      const why = report.status === 'not-run' ? `not run: ${report.reason}` : `failed: ${report.reason}`;
      lines.push(`| ${escapeCell(report.title)} | ${escapeCell(why)} | – | – | – | – | |`);
      continue;
    }
    const subject = report.variants.find((v) => v.name === c.subject);
    const baseline = report.variants.find((v) => v.name === c.baseline);
    const subjectCell = c.subjectCell ?? `${subject?.label ?? c.subject}: ${cell(subject)}`;
    const baselineCell = c.baselineCell ?? `${baseline?.label ?? c.baseline}: ${cell(baseline)}`;
    lines.push(
      `| ${[
        report.title,
        subjectCell,
        baselineCell,
        fmtRatio(c.ratio),
        c.goalText,
        metText(c.met),
        c.note ?? '',
      ]
        .map(escapeCell)
        .join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

// ---- SVG -------------------------------------------------------------------

const W = 1040;
const LABEL_W = 300;
const PLOT_X = LABEL_W + 10;
const PLOT_W = 460;
const ROW_H = 30;
const TOP = 56;
/** Log scale: ratios from 0.1x to 100x. */
const MIN_R = 0.1;
const MAX_R = 100;
const TICKS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 50, 100];

function x(ratio: number): number {
  const r = Math.min(MAX_R, Math.max(MIN_R, ratio));
  return PLOT_X + (Math.log10(r / MIN_R) / Math.log10(MAX_R / MIN_R)) * PLOT_W;
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function barLabel(row: Row): string {
  const c = row.comparison;
  if (c === undefined || c.ratio === null) return row.report.case;
  return `${row.report.case}: pool vs ${c.baseline}`;
}

/** `5x`, `0.85x`: a goal as written. */
function fmtGoal(goal: number): string {
  return `${goal}x`;
}

/**
 * A horizontal bar per claim: the ratio on a log axis, the goal as a black
 * tick, green when met, red when not, grey for a reference with no goal.
 * Cases without a ratio (memory, not run) get a text line instead of a bar.
 */
export function svgChart(results: BenchResults): string {
  const all = rows(results.cases);
  const height = TOP + all.length * ROW_H + 60;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" ` +
      `font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="16" y="24" font-size="15" font-weight="600">libsql-pool: ratio per case (log scale), goal marked</text>`,
    `<text x="16" y="42" fill="#555">${esc(
      `${results.generatedAt} · node ${results.machine.node} · ${results.machine.cpus}× ${results.machine.cpuModel}` +
        ' · shared, noisy machine: ratios are the claim',
    )}</text>`,
  );
  // Grid and axis.
  const plotBottom = TOP + all.length * ROW_H;
  for (const t of TICKS) {
    const tx = x(t).toFixed(1);
    out.push(
      `<line x1="${tx}" y1="${TOP - 4}" x2="${tx}" y2="${plotBottom}" stroke="${t === 1 ? '#999' : '#e3e3e3'}"/>`,
      `<text x="${tx}" y="${plotBottom + 16}" text-anchor="middle" fill="#555">${t}x</text>`,
    );
  }
  all.forEach((row, i) => {
    const y = TOP + i * ROW_H;
    const mid = y + ROW_H / 2;
    const c = row.comparison;
    out.push(
      `<text x="${LABEL_W}" y="${mid + 4}" text-anchor="end">${esc(barLabel(row))}</text>`,
    );
    if (c === undefined || c.ratio === null) {
      const text =
        c === undefined
          ? row.report.status === 'not-run'
            ? `not run: ${row.report.reason}`
            : `failed: ${row.report.reason}`
          : `${c.goalText}: ${c.met === true ? 'met' : c.met === false ? 'NOT met' : '–'}` +
            (c.subjectCell ? ` · ${c.subjectCell}` : '');
      out.push(`<text x="${PLOT_X + 4}" y="${mid + 4}" fill="#555" font-style="italic">${esc(text)}</text>`);
      return;
    }
    const color = c.met === true ? '#2e9d4f' : c.met === false ? '#d2453a' : '#9aa0a6';
    const end = x(c.ratio);
    out.push(
      `<rect x="${PLOT_X}" y="${y + 7}" width="${Math.max(1, end - PLOT_X).toFixed(1)}" height="${ROW_H - 14}" ` +
        `fill="${color}" rx="2"/>`,
    );
    if (c.goal !== null) {
      const gx = x(c.goal).toFixed(1);
      out.push(
        `<line x1="${gx}" y1="${y + 3}" x2="${gx}" y2="${y + ROW_H - 3}" stroke="#111" stroke-width="2.5"/>`,
      );
    }
    const status =
      c.goal === null ? 'reference' : `goal ${fmtGoal(c.goal)} · ${c.met === true ? 'met' : c.met === false ? 'NOT met' : '–'}`;
    out.push(
      `<text x="${PLOT_X + PLOT_W + 12}" y="${mid + 4}"><tspan font-weight="600">${esc(fmtRatio(c.ratio))}</tspan>` +
        `<tspan dx="6" fill="#555">· ${esc(status)}</tspan></text>`,
    );
  });
  const ly = plotBottom + 38;
  out.push(
    `<rect x="${PLOT_X}" y="${ly - 9}" width="12" height="10" fill="#2e9d4f"/>`,
    `<text x="${PLOT_X + 16}" y="${ly}">goal met</text>`,
    `<rect x="${PLOT_X + 90}" y="${ly - 9}" width="12" height="10" fill="#d2453a"/>`,
    `<text x="${PLOT_X + 106}" y="${ly}">goal not met</text>`,
    `<rect x="${PLOT_X + 200}" y="${ly - 9}" width="12" height="10" fill="#9aa0a6"/>`,
    `<text x="${PLOT_X + 216}" y="${ly}">reference</text>`,
    `<line x1="${PLOT_X + 300}" y1="${ly - 10}" x2="${PLOT_X + 300}" y2="${ly + 2}" stroke="#111" stroke-width="2.5"/>`,
    `<text x="${PLOT_X + 306}" y="${ly}">goal</text>`,
    '</svg>',
  );
  return out.join('\n') + '\n';
}

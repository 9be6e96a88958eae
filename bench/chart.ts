/**
 * Minimal SVG charts for docs/benchmarks.md: grouped bars and lines, with axes, ticks, labels and a legend.
 * Hand-written because the need is small and fixed; no plotting library is worth its weight here.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface Series {
  readonly name: string;
  readonly values: readonly number[];
}

export interface ChartSpec {
  readonly title: string;
  readonly categories: readonly string[];
  readonly series: readonly Series[];
  readonly yLabel: string;
  readonly xLabel?: string;
  readonly kind: 'bar' | 'line';
}

const COLORS = ['#d9480f', '#1c7ed6', '#2f9e44', '#ae3ec9', '#f08c00', '#495057'];
const H = 380;
const PLOT_W = 560;

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A "nice" axis maximum and tick step (1, 2 or 5 times a power of ten). */
function niceScale(max: number): { top: number; step: number } {
  const raw = max > 0 ? max / 5 : 1;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  return { top: Math.ceil(max / step) * step || step, step };
}

export function renderChart(spec: ChartSpec): string {
  // The legend sits right of the plot, as wide as its longest name (about 7 px a character at 12 px).
  const legendW = 40 + 7 * Math.max(...spec.series.map((s) => s.name.length));
  const M = { top: 48, right: legendW, bottom: 56, left: 72 };
  const W = M.left + PLOT_W + M.right;
  const plotW = PLOT_W;
  const plotH = H - M.top - M.bottom;
  const max = Math.max(...spec.series.flatMap((s) => s.values.filter(Number.isFinite)), 0);
  const { top, step } = niceScale(max);
  const y = (v: number): number => M.top + plotH - (v / top) * plotH;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2 - M.right / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${esc(spec.title)}</text>`);
  for (let v = 0; v <= top + 1e-9; v += step) {
    parts.push(`<line x1="${M.left}" x2="${M.left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#e9ecef"/>`);
    parts.push(`<text x="${M.left - 6}" y="${y(v) + 4}" text-anchor="end">${Number(v.toPrecision(6))}</text>`);
  }
  parts.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + plotH}" stroke="#343a40"/>`);
  parts.push(`<line x1="${M.left}" x2="${M.left + plotW}" y1="${M.top + plotH}" y2="${M.top + plotH}" stroke="#343a40"/>`);
  parts.push(`<text transform="translate(18 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(spec.yLabel)}</text>`);
  if (spec.xLabel) parts.push(`<text x="${M.left + plotW / 2}" y="${H - 12}" text-anchor="middle">${esc(spec.xLabel)}</text>`);
  const band = plotW / spec.categories.length;
  spec.categories.forEach((c, i) => {
    parts.push(`<text x="${M.left + band * (i + 0.5)}" y="${M.top + plotH + 18}" text-anchor="middle">${esc(c)}</text>`);
  });
  spec.series.forEach((s, si) => {
    const color = COLORS[si % COLORS.length]!;
    if (spec.kind === 'bar') {
      const bw = (band * 0.8) / spec.series.length;
      s.values.forEach((v, i) => {
        if (!Number.isFinite(v)) return;
        const x = M.left + band * i + band * 0.1 + bw * si;
        parts.push(
          `<rect x="${x}" y="${y(v)}" width="${bw - 1}" height="${M.top + plotH - y(v)}" fill="${color}"><title>${esc(s.name)}: ${v}</title></rect>`,
        );
      });
    } else {
      const pts = s.values.map((v, i) => (Number.isFinite(v) ? `${M.left + band * (i + 0.5)},${y(v)}` : '')).filter(Boolean);
      parts.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="2"/>`);
      for (const p of pts) {
        const [px, py] = p.split(',');
        parts.push(`<circle cx="${px}" cy="${py}" r="3" fill="${color}"/>`);
      }
    }
    const ly = M.top + 8 + si * 20;
    parts.push(`<rect x="${W - M.right + 14}" y="${ly - 9}" width="12" height="12" fill="${color}"/>`);
    parts.push(`<text x="${W - M.right + 32}" y="${ly + 1}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Writes the chart to docs/charts/<name>.svg and returns the path relative to docs/. */
export function writeChart(name: string, spec: ChartSpec): string {
  const dir = path.join('docs', 'charts');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${name}.svg`), renderChart(spec));
  return `charts/${name}.svg`;
}

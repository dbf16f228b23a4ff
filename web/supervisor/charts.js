/**
 * The supervisor console's two charts, drawn as plain SVG from
 * `GET /api/v1/supervisor/stats` (one-minute buckets, oldest first): hand-offs per minute
 * stacked by outcome, and queue waits per minute (average bar, longest as a dot). No
 * library; every mark has a `<title>` so a pointer shows the numbers.
 */
const NS = 'http://www.w3.org/2000/svg';
const W = 520;
const H = 220;
const PAD = { left: 46, right: 22, top: 10, bottom: 42 };
export const COLORS = { accepted: '#1a7f37', failed: '#cf222e', avg: '#1f6feb', max: '#bc4c00' };

function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text != null) e.textContent = text;
  return e;
}

/** A round top for the y axis and its step: 1, 2 or 5 times a power of ten, about 4 ticks. */
function scale(max, minTop) {
  const top = Math.max(max, minTop);
  const raw = top / 4;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw);
  return { top: Math.ceil(top / step) * step, step };
}

const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });

/** Axes, grid and labels; returns the plot's geometry for the marks. */
function frame(root, buckets, y, yLabel, fmt) {
  const pw = W - PAD.left - PAD.right;
  const ph = H - PAD.top - PAD.bottom;
  const slot = pw / buckets.length;
  const yAt = (v) => PAD.top + ph - (v / y.top) * ph;
  for (let v = 0; v <= y.top + 1e-9; v += y.step) {
    root.append(svg('line', { x1: PAD.left, x2: W - PAD.right, y1: yAt(v), y2: yAt(v), class: v === 0 ? 'axis' : 'grid' }));
    root.append(svg('text', { x: PAD.left - 6, y: yAt(v) + 4, 'text-anchor': 'end', class: 'tick' }, fmt(v)));
  }
  root.append(svg('text', { x: 13, y: PAD.top + ph / 2, transform: `rotate(-90 13 ${PAD.top + ph / 2})`, 'text-anchor': 'middle', class: 'label' }, yLabel));
  // A time under every tenth minute, and under the current one.
  const every = Math.max(1, Math.round(buckets.length / 6));
  buckets.forEach((b, i) => {
    if ((buckets.length - 1 - i) % every !== 0) return;
    const x = PAD.left + slot * (i + 0.5);
    root.append(svg('line', { x1: x, x2: x, y1: PAD.top + ph, y2: PAD.top + ph + 4, class: 'axis' }));
    root.append(svg('text', { x, y: PAD.top + ph + 16, 'text-anchor': 'middle', class: 'tick' }, clock(b.start)));
  });
  root.append(svg('text', { x: PAD.left + pw / 2, y: H - 4, 'text-anchor': 'middle', class: 'label' }, 'Minute (local time)'));
  return { slot, yAt, barW: Math.max(1, slot * 0.72) };
}

function reset(root, title) {
  root.replaceChildren(svg('title', {}, title));
  root.setAttribute('viewBox', `0 0 ${W} ${H}`);
  root.setAttribute('role', 'img');
}

/** Hand-offs per minute, accepted below failed. */
export function drawHandoffs(root, stats) {
  const buckets = stats.buckets;
  reset(root, `Hand-offs per minute by outcome, last ${stats.minutes} minutes`);
  const max = Math.max(0, ...buckets.map((b) => b.handOffs.accepted + b.handOffs.failed));
  const y = scale(max, 4);
  const { slot, yAt, barW } = frame(root, buckets, y, 'Hand-offs per minute', (v) => String(v));
  buckets.forEach((b, i) => {
    const x = PAD.left + slot * i + (slot - barW) / 2;
    let base = 0;
    for (const outcome of ['accepted', 'failed']) {
      const n = b.handOffs[outcome];
      if (!n) continue;
      const reasons = outcome === 'failed'
        ? ` (${Object.entries(b.failedByReason).map(([r, c]) => `${r.replace(/_/g, ' ')}: ${c}`).join(', ')})` : '';
      const rect = svg('rect', { x, width: barW, y: yAt(base + n), height: yAt(base) - yAt(base + n), fill: COLORS[outcome], 'data-testid': `chart-bar-${outcome}`, 'data-count': n });
      rect.append(svg('title', {}, `${clock(b.start)}: ${n} ${outcome}${reasons}`));
      root.append(rect);
      base += n;
    }
  });
}

/** Queue waits per minute: the average as a bar, the longest as a dot above it. */
export function drawWaits(root, stats) {
  const buckets = stats.buckets;
  reset(root, `Queue wait per minute, last ${stats.minutes} minutes`);
  const max = Math.max(0, ...buckets.map((b) => b.waits.maxMs || 0)) / 1000;
  const y = scale(max, 10);
  const { slot, yAt, barW } = frame(root, buckets, y, 'Wait (seconds)', (v) => String(v));
  buckets.forEach((b, i) => {
    if (!b.waits.count) return;
    const x = PAD.left + slot * i + (slot - barW) / 2;
    const avg = b.waits.avgMs / 1000;
    const top = b.waits.maxMs / 1000;
    const tip = `${clock(b.start)}: ${b.waits.count} answered from a queue, average ${avg.toFixed(1)} s, longest ${top.toFixed(1)} s`;
    const bar = svg('rect', { x, width: barW, y: yAt(avg), height: Math.max(1, yAt(0) - yAt(avg)), fill: COLORS.avg, 'data-testid': 'chart-wait-avg' });
    bar.append(svg('title', {}, tip));
    const dot = svg('circle', { cx: x + barW / 2, cy: yAt(top), r: Math.min(4, Math.max(2.5, barW / 2)), fill: COLORS.max, 'data-testid': 'chart-wait-max' });
    dot.append(svg('title', {}, tip));
    root.append(bar, dot);
  });
}

/** One line under the charts with the hour's totals, for reading without a pointer. */
export function summary(stats) {
  let accepted = 0; let failed = 0; let waits = 0; let waitMs = 0; let longest = 0;
  for (const b of stats.buckets) {
    accepted += b.handOffs.accepted;
    failed += b.handOffs.failed;
    waits += b.waits.count;
    waitMs += (b.waits.avgMs || 0) * b.waits.count;
    longest = Math.max(longest, b.waits.maxMs || 0);
  }
  const wait = waits ? `, average wait ${(waitMs / waits / 1000).toFixed(1)} s, longest ${(longest / 1000).toFixed(1)} s` : '';
  return `Last ${stats.minutes} min: ${accepted} hand-off${accepted === 1 ? '' : 's'} accepted, ${failed} failed; ${waits} answered from a queue${wait}.`;
}

// Charts drawn as SVG by hand: bars over time, horizontal bars, stacked bars and a scatter. Each
// chart is an image with a text summary for screen readers (`role="img"` and `aria-label`).

const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function svg(width, height, label) {
  return s('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-label': label, preserveAspectRatio: 'xMidYMid meet' });
}

/** A round upper bound for an axis: 1, 2 or 5 times a power of ten, at least `max`. */
function niceMax(max) {
  if (!(max > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

/** The width to draw a chart at: its box's, so text keeps its size (an SVG scales as a whole). */
export function widthOf(box) {
  return Math.max(280, Math.round(box.clientWidth || 640));
}

const fmt = (v) => (Math.abs(v) >= 1000 ? `${+(v / 1000).toFixed(1)}k` : `${+v.toFixed(2)}`);

// With a target, the axis stops at this many times it: one long stall (a chain halted for
// minutes) would flatten every other bar. Taller bars are drawn clipped, in another colour.
export const CLIP_AT_TARGETS = 4;

/**
 * Vertical bars, one per value (oldest left), with a dashed line at `target` if given:
 * `bars(values, {label, unit, target, titles})`.
 */
export function bars(values, { label, unit = '', target, titles = [], width = 640, height = 180 }) {
  const pad = { l: 44, r: 8, t: 10, b: 22 };
  const w = width - pad.l - pad.r;
  const hgt = height - pad.t - pad.b;
  const top = Math.max(...values, target || 0);
  const max = niceMax(target ? Math.min(top, target * CLIP_AT_TARGETS) : top);
  const y = (v) => pad.t + hgt - (v / max) * hgt;
  const step = w / Math.max(values.length, 1);
  const chart = svg(width, height, label);
  for (const f of [0, 0.5, 1]) {
    chart.append(s('line', { x1: pad.l, x2: width - pad.r, y1: y(max * f), y2: y(max * f), class: 'grid' }));
    chart.append(s('text', { x: pad.l - 6, y: y(max * f) + 4, 'text-anchor': 'end', class: 'axis' }, `${fmt(max * f)}${unit}`));
  }
  values.forEach((v, i) => {
    const bh = Math.max((Math.min(v, max) / max) * hgt, 1);
    const bar = s('rect', { x: pad.l + i * step + step * 0.15, y: pad.t + hgt - bh, width: Math.max(step * 0.7, 1), height: bh, class: v > max ? 'bar clipped' : 'bar', rx: 1.5 });
    bar.append(s('title', {}, titles[i] || `${fmt(v)}${unit}`));
    chart.append(bar);
  });
  if (target) chart.append(s('line', { x1: pad.l, x2: width - pad.r, y1: y(target), y2: y(target), class: 'target' }));
  chart.append(s('text', { x: pad.l, y: height - 6, class: 'axis' }, 'older'));
  chart.append(s('text', { x: width - pad.r, y: height - 6, 'text-anchor': 'end', class: 'axis' }, 'newest'));
  return chart;
}

/** Horizontal bars with labels: `hbars([{label, value, text, href}], {label})`; values in [0, 1]. */
export function hbars(items, { label, width = 640 }) {
  const row = 26;
  const labelW = 150;
  const valueW = 70;
  const height = Math.max(items.length, 1) * row + 8;
  const chart = svg(width, height, label);
  const max = Math.max(...items.map((i) => i.value), 1e-9);
  items.forEach((it, i) => {
    const y = 4 + i * row;
    const bw = ((width - labelW - valueW - 10) * it.value) / max;
    const name = s('text', { x: labelW - 8, y: y + 17, 'text-anchor': 'end', class: 'label' }, it.label);
    chart.append(it.href ? s('a', { href: it.href }, name) : name);
    const bar = s('rect', { x: labelW, y: y + 4, width: Math.max(bw, 1), height: row - 10, rx: 3, class: `bar c${i % 6}` });
    bar.append(s('title', {}, `${it.label}: ${it.text}`));
    chart.append(bar);
    chart.append(s('text', { x: labelW + Math.max(bw, 1) + 6, y: y + 17, class: 'value' }, it.text));
  });
  return chart;
}

/**
 * Stacked bars, one per item (oldest left): `stacked(items, {keys: [{key, label}], label,
 * x(item), total(item)})`; values are numbers (TAO).
 */
export function stacked(items, { keys, label, x, width = 640, height = 220, unit = ' τ' }) {
  const pad = { l: 54, r: 8, t: 10, b: 34 };
  const w = width - pad.l - pad.r;
  const hgt = height - pad.t - pad.b;
  const totals = items.map((it) => keys.reduce((sum, k) => sum + it[k.key], 0));
  const max = niceMax(Math.max(...totals, 0));
  const y = (v) => pad.t + hgt - (v / max) * hgt;
  const step = w / Math.max(items.length, 1);
  const chart = svg(width, height, label);
  for (const f of [0, 0.5, 1]) {
    chart.append(s('line', { x1: pad.l, x2: width - pad.r, y1: y(max * f), y2: y(max * f), class: 'grid' }));
    chart.append(s('text', { x: pad.l - 6, y: y(max * f) + 4, 'text-anchor': 'end', class: 'axis' }, `${fmt(max * f)}${unit}`));
  }
  items.forEach((it, i) => {
    let base = 0;
    const bx = pad.l + i * step + step * 0.15;
    const bw = Math.max(step * 0.7, 1);
    keys.forEach((k, j) => {
      const v = it[k.key];
      if (v > 0) {
        const r = s('rect', { x: bx, y: y(base + v), width: bw, height: Math.max(y(base) - y(base + v), 0.5), class: `seg c${j}` });
        r.append(s('title', {}, `${x(it)} · ${k.label}: ${fmt(v)}${unit}`));
        chart.append(r);
      }
      base += v;
    });
    if (items.length <= 16 || i % Math.ceil(items.length / 8) === 0) {
      chart.append(s('text', { x: bx + bw / 2, y: height - pad.b + 14, 'text-anchor': 'middle', class: 'axis' }, x(it)));
    }
  });
  return chart;
}

/** A legend for `stacked`'s keys (HTML, so it wraps at phone width). */
export function legend(keys) {
  const ul = document.createElement('ul');
  ul.className = 'legend';
  keys.forEach((k, j) => {
    const li = document.createElement('li');
    const sw = document.createElement('span');
    sw.className = `swatch c${j}`;
    sw.setAttribute('aria-hidden', 'true');
    li.append(sw, k.label);
    ul.append(li);
  });
  return ul;
}

/** A scatter of points in [0, 1]²: `scatter([{x, y, label, kind}], {label, xLabel, yLabel})`. */
export function scatter(points, { label, xLabel, yLabel, width = 360, height = 300 }) {
  const pad = { l: 46, r: 12, t: 12, b: 40 };
  const w = width - pad.l - pad.r;
  const hgt = height - pad.t - pad.b;
  const maxX = niceMax(Math.max(...points.map((p) => p.x), 0.01));
  const maxY = niceMax(Math.max(...points.map((p) => p.y), 0.01));
  const px = (v) => pad.l + (v / maxX) * w;
  const py = (v) => pad.t + hgt - (v / maxY) * hgt;
  const chart = svg(width, height, label);
  for (const f of [0, 0.5, 1]) {
    chart.append(s('line', { x1: pad.l, x2: width - pad.r, y1: py(maxY * f), y2: py(maxY * f), class: 'grid' }));
    chart.append(s('text', { x: pad.l - 6, y: py(maxY * f) + 4, 'text-anchor': 'end', class: 'axis' }, fmt(maxY * f)));
    chart.append(s('line', { x1: px(maxX * f), x2: px(maxX * f), y1: pad.t, y2: pad.t + hgt, class: 'grid' }));
    chart.append(s('text', { x: px(maxX * f), y: pad.t + hgt + 14, 'text-anchor': 'middle', class: 'axis' }, fmt(maxX * f)));
  }
  chart.append(s('text', { x: pad.l + w / 2, y: height - 6, 'text-anchor': 'middle', class: 'axis-title' }, xLabel));
  chart.append(s('text', { x: 12, y: pad.t + hgt / 2, 'text-anchor': 'middle', class: 'axis-title', transform: `rotate(-90 12 ${pad.t + hgt / 2})` }, yLabel));
  for (const p of points) {
    const dot = s('circle', { cx: px(p.x), cy: py(p.y), r: 6, class: `dot ${p.kind || ''}` });
    dot.append(s('title', {}, `${p.label}: ${xLabel} ${p.x.toFixed(4)}, ${yLabel} ${p.y.toFixed(4)}`));
    chart.append(dot);
  }
  return chart;
}

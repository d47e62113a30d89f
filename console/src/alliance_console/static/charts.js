'use strict';
/* Inline SVG charts for the console: horizontal bars (one or more series, negative values,
 * reference lines, a shaded band) and a min–median–max range chart. No library. */
(function () {
  const SVGNS = 'http://www.w3.org/2000/svg';

  function s(tag, attrs, ...children) {
    const el = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== undefined && v !== false) el.setAttribute(k, String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  function empty(text) {
    const p = document.createElement('p');
    p.className = 'muted';
    p.textContent = text || '无数据 No data';
    return p;
  }

  // Shorten a label to fit `px` pixels at 12px: a CJK character counts twice a Latin one.
  function short(text, px) {
    text = String(text);
    const units = Math.floor(px / 6.6);
    let used = 0;
    for (let i = 0; i < text.length; i += 1) {
      used += text.charCodeAt(i) >= 0x2e80 ? 2 : 1;
      if (used > units) return text.slice(0, Math.max(1, i - 1)) + '…';
    }
    return text;
  }

  function clickable(g, row) {
    if (!row.onClick) return;
    g.setAttribute('class', (g.getAttribute('class') || '') + ' clickable');
    g.setAttribute('tabindex', '0');
    g.setAttribute('role', 'link');
    g.addEventListener('click', row.onClick);
    g.addEventListener('keydown', (e) => { if (e.key === 'Enter') row.onClick(e); });
  }

  function finite(v) { return v !== null && v !== undefined && Number.isFinite(v); }

  function legend(series, y, x0) {
    const g = s('g', { class: 'legend' });
    let x = x0;
    for (const ser of series) {
      g.appendChild(s('rect', { x, y, width: 12, height: 10, class: ser.cls || 'bar' }));
      g.appendChild(s('text', { x: x + 16, y: y + 9 }, ser.name));
      x += 24 + 7.5 * ser.name.length;
    }
    return g;
  }

  /**
   * Horizontal bar chart.
   * rows: [{label, values: [number|null, ...], classes?: [cls, ...], title?, onClick?}]
   * series: [{name, cls}] (one per value); refs: [{value, label, cls}]; band: [lo, hi, label]
   */
  function hbar(opts) {
    const rows = opts.rows || [];
    if (!rows.length) return empty(opts.empty);
    const series = opts.series || [{ name: '', cls: 'bar' }];
    const format = opts.format || String;
    const refs = opts.refs || [];
    const band = opts.band || null;
    const width = opts.width || 720;
    const labelWidth = opts.labelWidth || 170;
    const rowHeight = opts.rowHeight || (series.length > 1 ? 30 : 24);
    const valueWidth = 110;
    const values = rows.flatMap((r) => r.values.filter(finite));
    const marks = [...refs.map((r) => r.value), ...(band ? [band[0], band[1]] : [])];
    let lo = Math.min(0, ...values, ...marks);
    let hi = Math.max(0, ...values, ...marks);
    if (opts.min !== undefined) lo = opts.min;
    if (opts.max !== undefined) hi = Math.max(opts.max, hi);
    if (hi === lo) hi = lo + 1;
    const pad = (hi - lo) * 0.03;
    if (lo < 0) lo -= pad;
    if (opts.max === undefined) hi += pad;
    const top = refs.length || band ? 20 : 6;
    const legendH = series.length > 1 ? 22 : 0;
    const plotH = rows.length * rowHeight;
    const height = top + plotH + 8 + legendH;
    const plotW = width - labelWidth - valueWidth;
    const x = (v) => labelWidth + ((v - lo) / (hi - lo)) * plotW;
    const root = s('svg', {
      viewBox: `0 0 ${width} ${height}`, width: '100%', class: 'chart', role: 'img',
      'aria-label': opts.title || 'chart', preserveAspectRatio: 'xMinYMin meet',
    });
    root.style.maxWidth = `${width}px`;   // drawn at most 1:1, never blown up on a wide card
    if (opts.title) root.appendChild(s('title', {}, opts.title));
    if (band) {
      root.appendChild(s('rect', {
        x: x(band[0]), y: top - 2, width: Math.max(1, x(band[1]) - x(band[0])), height: plotH + 4, class: 'band',
      }));
      if (band[2]) {
        root.appendChild(s('text', { x: (x(band[0]) + x(band[1])) / 2, y: top - 7, class: 'band-label',
          'text-anchor': 'middle' }, band[2]));
      }
    }
    rows.forEach((row, i) => {
      const y = top + i * rowHeight;
      const g = s('g', { class: 'row' });
      clickable(g, row);
      g.appendChild(s('title', {}, row.title || `${row.label}: ${row.values.map((v) => finite(v) ? format(v) : '—').join(' / ')}`));
      g.appendChild(s('rect', { x: 0, y, width, height: rowHeight, class: 'row-hit' }));
      g.appendChild(s('text', { x: labelWidth - 8, y: y + rowHeight / 2 + 4, class: 'label', 'text-anchor': 'end' },
        short(row.label, labelWidth - 14)));
      const bh = (rowHeight - 6) / series.length;
      row.values.forEach((v, j) => {
        const by = y + 3 + j * bh;
        if (!finite(v)) {
          g.appendChild(s('text', { x: x(0) + 4, y: by + bh / 2 + 4, class: 'value muted' }, '—'));
          return;
        }
        const x0 = x(Math.min(0, v));
        const x1 = x(Math.max(0, v));
        const cls = (row.classes && row.classes[j]) || series[j].cls || 'bar';
        g.appendChild(s('rect', { x: x0, y: by, width: Math.max(1, x1 - x0), height: Math.max(2, bh - 1), class: cls }));
        // A negative bar grows left from the axis; its value is written right of the axis.
        g.appendChild(s('text', { x: x1 + 4, y: by + bh / 2 + 4, class: 'value' }, format(v)));
      });
      root.appendChild(g);
    });
    root.appendChild(s('line', { x1: x(0), x2: x(0), y1: top - 2, y2: top + plotH + 2, class: 'axis' }));
    for (const ref of refs) {
      const rx = x(ref.value);
      root.appendChild(s('line', { x1: rx, x2: rx, y1: top - 4, y2: top + plotH + 2, class: 'ref ' + (ref.cls || '') }));
      if (ref.label) root.appendChild(s('text', { x: rx, y: top - 8, class: 'ref-label ' + (ref.cls || ''), 'text-anchor': 'middle' }, ref.label));
    }
    if (legendH) root.appendChild(legend(series, top + plotH + 10, labelWidth));
    return root;
  }

  /**
   * Range chart: rows [{label, min, median, max, onClick?}]. Items priced in different units share
   * one axis relative to each item's median (1.0 = median), so a wide spread looks wide whatever
   * the price level; the labels give the prices themselves.
   */
  function range(opts) {
    const rows = (opts.rows || []).filter((r) => r.median > 0);
    if (!rows.length) return empty(opts.empty);
    const format = opts.format || String;
    const width = opts.width || 720;
    const labelWidth = opts.labelWidth || 200;
    const valueWidth = 150;
    const rowHeight = 24;
    const top = 20;
    let lo = Math.min(0.9, ...rows.map((r) => r.min / r.median));
    let hi = Math.max(1.1, ...rows.map((r) => r.max / r.median));
    const pad = (hi - lo) * 0.05;
    lo -= pad;
    hi += pad;
    const plotW = width - labelWidth - valueWidth;
    const x = (ratio) => labelWidth + ((ratio - lo) / (hi - lo)) * plotW;
    const height = top + rows.length * rowHeight + 24;
    const root = s('svg', { viewBox: `0 0 ${width} ${height}`, width: '100%', class: 'chart', role: 'img',
      'aria-label': opts.title || 'range chart', preserveAspectRatio: 'xMinYMin meet' });
    root.style.maxWidth = `${width}px`;
    if (opts.title) root.appendChild(s('title', {}, opts.title));
    const mx = x(1);
    root.appendChild(s('line', { x1: mx, x2: mx, y1: top - 4, y2: top + rows.length * rowHeight, class: 'ref' }));
    root.appendChild(s('text', { x: mx, y: top - 8, 'text-anchor': 'middle', class: 'ref-label' }, '中位数 median = 1.0'));
    rows.forEach((row, i) => {
      const y = top + i * rowHeight + rowHeight / 2;
      const g = s('g', { class: 'row' });
      clickable(g, row);
      g.appendChild(s('title', {}, `${row.label}: min ${format(row.min)} · median ${format(row.median)} · max ${format(row.max)}`));
      g.appendChild(s('rect', { x: 0, y: y - rowHeight / 2, width, height: rowHeight, class: 'row-hit' }));
      g.appendChild(s('text', { x: labelWidth - 8, y: y + 4, class: 'label', 'text-anchor': 'end' }, short(row.label, labelWidth - 14)));
      const a = x(row.min / row.median);
      const b = x(row.max / row.median);
      g.appendChild(s('line', { x1: a, x2: b, y1: y, y2: y, class: 'range' }));
      g.appendChild(s('circle', { cx: a, cy: y, r: 4, class: 'range-end' }));
      g.appendChild(s('circle', { cx: b, cy: y, r: 4, class: 'range-end high' }));
      g.appendChild(s('rect', { x: mx - 2, y: y - 7, width: 4, height: 14, class: 'range-median' }));
      g.appendChild(s('text', { x: width - valueWidth + 8, y: y + 4, class: 'value' }, `${format(row.min)} – ${format(row.max)}`));
      root.appendChild(g);
    });
    const ly = top + rows.length * rowHeight + 16;
    root.appendChild(s('g', { class: 'legend' },
      s('circle', { cx: labelWidth + 6, cy: ly - 4, r: 4, class: 'range-end' }), s('text', { x: labelWidth + 14, y: ly }, '最低 min'),
      s('rect', { x: labelWidth + 70, y: ly - 11, width: 4, height: 14, class: 'range-median' }),
      s('text', { x: labelWidth + 80, y: ly }, '中位数 median'),
      s('circle', { cx: labelWidth + 180, cy: ly - 4, r: 4, class: 'range-end high' }), s('text', { x: labelWidth + 188, y: ly }, '最高 max')));
    return root;
  }

  /** A 0–100 gauge as a half ring with the score in the middle. */
  function gauge(score, label) {
    const v = Math.max(0, Math.min(100, Number(score)));
    const cls = v >= 80 ? 'good' : v >= 60 ? 'warn' : 'bad';
    const r = 70;
    const cx = 90;
    const cy = 86;
    const angle = Math.PI * (1 - v / 100);
    const ex = cx + r * Math.cos(angle);
    const ey = cy - r * Math.sin(angle);
    return s('svg', { viewBox: '0 0 180 110', class: 'gauge', role: 'img', 'aria-label': `${label}: ${score}` },
      s('path', { d: `M ${cx - r} ${cy} A ${r} ${r} 0 0 1 ${cx + r} ${cy}`, class: 'gauge-track' }),
      v > 0 ? s('path', { d: `M ${cx - r} ${cy} A ${r} ${r} 0 0 1 ${ex.toFixed(2)} ${ey.toFixed(2)}`, class: 'gauge-fill ' + cls }) : null,
      s('text', { x: cx, y: cy - 8, 'text-anchor': 'middle', class: 'gauge-value' }, Number(score).toFixed(1)),
      s('text', { x: cx, y: cy + 16, 'text-anchor': 'middle', class: 'gauge-label' }, label));
  }

  window.Charts = { hbar, range, gauge };
})();

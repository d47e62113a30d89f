'use strict';
/* Alliance cost-control cockpit: a hash-routed single page over the services' own APIs.
 * Every call goes to this origin's /api/<service>/... with the bearer token of the chosen role;
 * the services decide what that role may see or do. Errors are shown where they happen. */
(function () {
  const ROLES = { alliance_admin: '管理员 Administrator', regulator: '监管 Regulator' };
  const PERIOD_RE = /^\d{4}-(0[1-9]|1[0-2])$/;
  const state = {
    config: null,
    role: sessionStorage.getItem('console.role') || 'alliance_admin',
    period: sessionStorage.getItem('console.period') || thisMonth(),
    token: null, tokenRole: null, tokenExp: 0, sub: null, tokenPromise: null,
    seq: 0,
  };

  // --- small helpers ------------------------------------------------------------------------------

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  function $(sel) { return document.querySelector(sel); }

  function thisMonth() {
    const d = new Date();
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}`;
  }

  function shiftPeriod(period, months) {
    const [y, m] = period.split('-').map(Number);
    const t = y * 12 + (m - 1) + months;
    return `${Math.floor(t / 12)}-${String((t % 12) + 1).padStart(2, '0')}`;
  }

  const fmt = {
    yuan(fen) {
      if (fen === null || fen === undefined || fen === '') return '—';
      const v = Number(fen) / 100;
      return (v < 0 ? '-¥' : '¥') + Math.abs(v).toLocaleString('zh-CN', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    },
    price(x) {
      if (x === null || x === undefined || x === '') return '—';
      const v = Number(x);
      return (v < 0 ? '-¥' : '¥') + Math.abs(v).toLocaleString('zh-CN', { minimumFractionDigits: 2, maximumFractionDigits: 4 });
    },
    pct(x, digits = 1) {
      if (x === null || x === undefined || x === '') return '—';
      return (Number(x) * 100).toFixed(digits) + '%';
    },
    num(x, digits = 0) {
      if (x === null || x === undefined || x === '') return '—';
      return Number(x).toLocaleString('zh-CN', { minimumFractionDigits: digits, maximumFractionDigits: digits });
    },
    dec(x, digits = 4) {
      if (x === null || x === undefined || x === '') return '—';
      return Number(x).toFixed(digits);
    },
    time(iso) { return iso ? String(iso).replace('T', ' ').slice(0, 16) : '—'; },
    hash(x) { return x ? String(x).slice(0, 12) + '…' : '—'; },
  };

  function chip(text, cls) { return h('span', { class: 'chip ' + (cls || '') }, text); }
  const LEVEL = { green: ['绿 green', 'good'], yellow: ['黄 yellow', 'warn'], red: ['红 red', 'bad'] };
  function levelChip(level) {
    if (!level) return chip('—', 'muted');
    const [text, cls] = LEVEL[level] || [level, ''];
    return chip(text, cls);
  }

  // --- routing -------------------------------------------------------------------------------------

  function parseHash() {
    const raw = location.hash.replace(/^#\/?/, '');
    const [path, qs] = raw.split('?');
    return { route: path || 'overview', params: Object.fromEntries(new URLSearchParams(qs || '')) };
  }

  function link(route, params) {
    const p = Object.fromEntries(Object.entries({ period: state.period, ...params })
      .filter(([, v]) => v !== null && v !== undefined && v !== ''));
    const q = new URLSearchParams(p).toString();
    return `#/${route}${q ? '?' + q : ''}`;
  }

  function go(route, params) { location.hash = link(route, params); }

  function here(changes) {
    const { route, params } = parseHash();
    delete params.as;
    go(route, { ...params, ...changes });
  }

  // --- API -----------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, problem, where) {
      const p = problem || {};
      super(`${status} ${p.title || ''} ${p.detail || ''}`.trim());
      this.status = status;
      this.problem = p;
      this.where = where;
    }
  }

  async function call(url, opts = {}) {
    const headers = { Accept: 'application/json' };
    if (opts.token) headers.Authorization = 'Bearer ' + opts.token;
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(url, { method: opts.method || 'GET', headers, cache: 'no-store',
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
    } catch (err) {
      throw new ApiError(0, { title: 'Network error 网络错误', detail: String(err.message || err) }, url);
    }
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
    if (!res.ok) {
      const problem = data && typeof data === 'object' ? data : { title: res.statusText, detail: text.slice(0, 300) };
      throw new ApiError(res.status, problem, `${opts.method || 'GET'} ${url}`);
    }
    return data;
  }

  function decodeJwt(token) {
    try {
      const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      const json = decodeURIComponent(atob(part).split('').map((c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0')).join(''));
      return JSON.parse(json);
    } catch (_) {
      return null;
    }
  }

  function roleOfClaims(claims) {
    const roles = (claims && claims.roles) || [];
    return roles.includes('alliance_admin') ? 'alliance_admin' : roles.includes('regulator') ? 'regulator' : null;
  }

  function useToken(token, role) {
    const claims = decodeJwt(token) || {};
    state.token = token;
    state.tokenRole = role;
    state.tokenExp = claims.exp || (Date.now() / 1000 + 3600);
    state.sub = claims.sub || '?';
    sessionStorage.setItem('console.token.' + role, token);
    showWho();
  }

  async function ensureToken(force) {
    const now = Date.now() / 1000;
    if (!force && state.token && state.tokenRole === state.role && state.tokenExp - 60 > now) return state.token;
    if (!force) {
      const kept = sessionStorage.getItem('console.token.' + state.role);
      const claims = kept && decodeJwt(kept);
      if (claims && claims.exp - 60 > now && roleOfClaims(claims) === state.role) {
        useToken(kept, state.role);
        return kept;
      }
    }
    if (!state.config || !state.config.dev_tokens) {
      showTokenForm();
      throw new ApiError(401, { title: 'No token 未登录', detail: 'paste a bearer token above (dev tokens are off here)' });
    }
    if (!state.tokenPromise) {
      const role = state.role;
      state.tokenPromise = call('/dev/token', { method: 'POST', body: { role } })
        .then((r) => { useToken(r.access_token, role); return r.access_token; })
        .finally(() => { state.tokenPromise = null; });
    }
    return state.tokenPromise;
  }

  /** GET/POST a service through the console's proxy with the current role's token. */
  async function api(service, path, opts = {}) {
    const url = `/api/${service}${path}`;
    const token = await ensureToken(false);
    try {
      return await call(url, { ...opts, token });
    } catch (err) {
      if (err.status === 401 && state.config && state.config.dev_tokens) {
        return call(url, { ...opts, token: await ensureToken(true) });
      }
      throw err;
    }
  }

  // Within one render, the same GET is fetched once however many cards need it.
  let memo = new Map();
  function get(service, path) {
    const key = service + path;
    if (!memo.has(key)) memo.set(key, api(service, path));
    return memo.get(key);
  }

  function isAdmin() { return state.role === 'alliance_admin'; }

  // --- building blocks -----------------------------------------------------------------------------

  function errorBox(err) {
    const p = (err && err.problem) || {};
    const status = err && err.status ? err.status + ' ' : '';
    const errors = Array.isArray(p.errors) ? p.errors.slice(0, 6) : [];
    return h('div', { class: 'error', role: 'alert' },
      h('strong', {}, `${status}${p.title || (err && err.message) || 'Error'}`),
      p.detail ? h('div', { class: 'detail' }, p.detail) : null,
      errors.length ? h('ul', {}, errors.map((e) =>
        h('li', {}, `${(e.location || e.loc || []).join('.')}: ${e.message || e.msg || ''}`))) : null,
      err && err.where ? h('div', { class: 'muted small' }, err.where) : null);
  }

  function fill(el, content) {
    const nodes = [].concat(content === undefined || content === null ? h('p', { class: 'muted' }, '—') : content)
      .flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false)
      .map((n) => (n instanceof Node ? n : document.createTextNode(String(n))));
    el.replaceChildren(...nodes);
  }

  function guard(seq, el, promise) {
    promise.then((content) => { if (seq === state.seq) fill(el, content); })
      .catch((err) => {
        if (seq !== state.seq) return;
        console.error(err);
        fill(el, errorBox(err));
      });
  }

  /** A titled card whose body is whatever `loader` resolves to, or the error it raised. */
  function card(title, loader, opts = {}) {
    const body = h('div', { class: 'card-body' }, h('p', { class: 'muted' }, '加载中 Loading…'));
    const el = h('section', { class: 'card ' + (opts.cls || ''), 'data-card': opts.id || null },
      h('h2', {}, title, opts.extra || null), body);
    const loaded = Promise.resolve().then(loader);
    guard(state.seq, body, loaded);
    if (opts.focus) loaded.finally(() => el.scrollIntoView({ block: 'start' }));
    return el;
  }

  /** A key figure: loader resolves to {value, sub, cls}. */
  function tile(label, loader, href) {
    const value = h('div', { class: 'tile-value muted' }, '…');
    const sub = h('div', { class: 'tile-sub muted small' });
    const el = h(href ? 'a' : 'div', { class: 'tile', href: href || null }, h('div', { class: 'tile-label' }, label), value, sub);
    const seq = state.seq;
    Promise.resolve().then(loader).then((r) => {
      if (seq !== state.seq) return;
      value.className = 'tile-value ' + (r.cls || '');
      fill(value, r.value);
      fill(sub, r.sub || '');
    }).catch((err) => {
      if (seq !== state.seq) return;
      value.className = 'tile-value bad small';
      fill(value, `${err.status || ''} ${(err.problem && err.problem.title) || err.message}`);
      fill(sub, (err.problem && err.problem.detail) || '');
    });
    return el;
  }

  function table(columns, rows, opts = {}) {
    if (!rows.length) return h('p', { class: 'muted' }, opts.empty || '无记录 Nothing to show');
    return h('div', { class: 'table-wrap' }, h('table', { class: opts.cls || '' },
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { class: c.num ? 'num' : null }, c.label)))),
      h('tbody', {}, rows.map((r) => h('tr', { class: opts.rowClass ? opts.rowClass(r) : null },
        columns.map((c) => h('td', { class: c.num ? 'num' : null }, c.render ? c.render(r) : (r[c.key] ?? '—'))))))));
  }

  function figures(items) {
    return h('dl', { class: 'figures' }, items.map(([label, value, cls]) =>
      h('div', {}, h('dt', {}, label), h('dd', { class: cls || null }, value))));
  }

  function pageHead(title, withPeriodNav, extra) {
    const nav = withPeriodNav ? h('span', { class: 'period-nav' },
      h('a', { class: 'btn', href: link(parseHash().route, { ...parseHash().params, as: null, period: shiftPeriod(state.period, -1) }) }, '◀ 上月 prev'),
      h('strong', {}, state.period),
      h('a', { class: 'btn', href: link(parseHash().route, { ...parseHash().params, as: null, period: shiftPeriod(state.period, 1) }) }, '下月 next ▶')) : null;
    return h('div', { class: 'page-head' }, h('h1', {}, title), nav, extra || null);
  }

  /** An administrator's write action: button, then the result or the error next to it. */
  function action(label, run, done) {
    const out = h('span', { class: 'action-out' });
    const btn = h('button', { type: 'button', class: 'btn write', 'data-write': 'true' }, label);
    btn.addEventListener('click', async () => {
      btn.disabled = true;
      fill(out, h('span', { class: 'muted' }, '…'));
      try {
        const r = await run();
        fill(out, done ? done(r) : chip('✔ done', 'good'));
      } catch (err) {
        fill(out, errorBox(err));
      } finally {
        btn.disabled = false;
      }
    });
    return h('span', { class: 'action' }, btn, out);
  }

  function readOnlyNote() {
    return h('p', { class: 'muted small readonly' }, '只读视图 Read-only view: regulators see everything here and change nothing.');
  }

  // --- pages ---------------------------------------------------------------------------------------

  function indicatorsFor(period) {
    return get('cost-sharing', `/v1/indicators?period=${encodeURIComponent(period)}`);
  }

  function overview() {
    const p = state.period;
    return [
      pageHead('总览 Overview', true),
      h('div', { class: 'tiles' },
        tile('账本 Ledger', async () => {
          const v = await get('cost-sharing', '/v1/ledger/verify');
          return { value: v.ok ? '✔ 已校验 verified' : '✖ 断链 broken', cls: v.ok ? 'good' : 'bad',
            sub: `${v.entries_checked} entries · ${v.checkpoints_checked} checkpoints` };
        }, link('settlement')),
        tile('未结预警 Open warnings', async () => {
          const ws = await get('cost-sharing', '/v1/warnings');
          const open = ws.filter((w) => w.state !== 'closed');
          const overdue = ws.filter((w) => w.overdue).length;
          const answered = ws.filter((w) => w.state === 'answered').length;
          return { value: String(open.length), cls: overdue ? 'bad' : open.length ? 'warn' : 'good',
            sub: `${overdue} overdue 逾期 · ${answered} answered, to close 待关闭` };
        }, link('warnings')),
        tile(`次均费用 Cost per visit ${p}`, async () => {
          const rows = await indicatorsFor(p);
          const visits = rows.reduce((a, r) => a + r.visits, 0);
          const total = rows.reduce((a, r) => a + r.cost_per_visit_fen * r.visits, 0);
          return { value: visits ? fmt.yuan(total / visits) : '—',
            sub: `${rows.length} hospitals · ${fmt.num(visits)} visits 人次` };
        }, link('indicators')),
        tile('增长红黄灯 Growth lights', async () => {
          const rows = await indicatorsFor(p);
          const red = rows.filter((r) => r.growth_level === 'red').length;
          const yellow = rows.filter((r) => r.growth_level === 'yellow').length;
          return { value: `${red} 红 · ${yellow} 黄`, cls: red ? 'bad' : yellow ? 'warn' : 'good',
            sub: 'growth > 10% red, > 8% yellow' };
        }, link('indicators')),
        tile('成本差异系数越界 Cost index out of band', async () => {
          const rows = await indicatorsFor(p);
          const out = rows.filter((r) => r.cost_index_in_band === false);
          return { value: String(out.length), cls: out.length ? 'warn' : 'good',
            sub: out.length ? out.map((r) => r.hospital_id).join(', ') : 'all within 0.8–1.2' };
        }, link('indicators')),
        tile('集采节约 Procurement savings', async () => {
          const rounds = await get('procurement', '/v1/rounds');
          const awarded = rounds.filter((r) => r.saving_fen !== null && r.saving_fen !== undefined);
          return { value: fmt.yuan(awarded.reduce((a, r) => a + r.saving_fen, 0)), cls: 'good',
            sub: `${awarded.length} of ${rounds.length} rounds awarded 已授标` };
        }, link('procurement')),
        tile('双向转诊率 Referral rate', async () => {
          const r = await get('referral', '/v1/indicators');
          return { value: fmt.pct(r.referral_rate), cls: r.meets_target ? 'good' : r.meets_target === false ? 'warn' : '',
            sub: `target ${fmt.pct(r.target_rate, 0)} · ${r.referrals} referrals · ${fmt.pct(r.down_share)} down` };
        }, link('referrals')),
        tile(`结果互认节约 Recognition savings ${p}`, async () => {
          const rows = await get('results-mutual-recognition', `/v1/indicators?period=${p}`);
          const saved = rows.reduce((a, r) => a + (r.savings_fen || 0), 0);
          const reused = rows.reduce((a, r) => a + (r.reused || 0), 0);
          return { value: fmt.yuan(saved), cls: 'good', sub: `${reused} results reused 次互认` };
        }, link('referrals')),
        tile(`净额结算 Netting ${p}`, async () => {
          const n = await get('cost-sharing', `/v1/netting/${p}`);
          return { value: fmt.yuan(n.net_fen), sub: `gross 全额 ${fmt.yuan(n.gross_fen)} · ${n.transfers.length} transfers` };
        }, link('settlement')),
        tile(`平衡计分卡 Scorecard ${p}`, async () => {
          const c = await get('cost-sharing', `/v1/scorecard?period=${p}`);
          const t = c.total === null ? null : Number(c.total);
          return { value: t === null ? '—' : t.toFixed(1), cls: t === null ? 'muted' : t >= 80 ? 'good' : t >= 60 ? 'warn' : 'bad',
            sub: c.missing.length ? `missing 缺: ${c.missing.join(', ')}` : 'all four perspectives' };
        }, link('scorecard'))),
      card(`次均费用 Cost per visit by hospital · ${p}`, async () => costPerVisitChart(await indicatorsFor(p), p)),
      card('服务状态 Services', async () => {
        const rows = await call('/status');
        return table([
          { label: '服务 Service', key: 'service' },
          { label: '状态 Status', render: (r) => chip(r.status, r.status === 'ready' ? 'good' : 'bad') },
          { label: '检查 Checks', render: (r) => Object.entries(r.checks || {}).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' · ') || '—' },
        ], rows);
      }),
    ];
  }

  function costPerVisitChart(rows, period, drill = true) {
    return Charts.hbar({
      title: 'cost per visit', format: fmt.yuan,
      rows: rows.map((r) => ({ label: `${r.hospital_id} (${r.region_code})`, values: [r.cost_per_visit_fen],
        onClick: drill ? () => go('indicators', { period, hospital: r.hospital_id }) : null })),
      empty: `该期间无就诊数据 No visits in ${period}`,
    });
  }

  function growthChart(rows, labelOf) {
    return Charts.hbar({
      title: 'growth', format: (v) => fmt.pct(v),
      refs: [{ value: 0.08, label: '8% 黄', cls: 'warn' }, { value: 0.10, label: '10% 红', cls: 'bad' }],
      rows: rows.map((r) => ({ label: labelOf(r), values: [r.growth === null ? null : Number(r.growth)],
        classes: [`bar ${(LEVEL[r.growth_level] || [])[1] || ''}`], onClick: r.onClick })),
    });
  }

  function sharesChart(rows, labelOf) {
    return Charts.hbar({
      title: 'drug and consumable shares', format: (v) => fmt.pct(v), max: 1,
      series: [{ name: '药占比 drug share', cls: 'bar s1' }, { name: '耗占比 consumable share', cls: 'bar s2' }],
      rows: rows.map((r) => ({ label: labelOf(r), values: [Number(r.drug_share), Number(r.consumable_share)], onClick: r.onClick })),
    });
  }

  function indexChart(rows, labelOf) {
    return Charts.hbar({
      title: 'cost index', format: (v) => fmt.dec(v, 2), band: [0.8, 1.2, '0.8–1.2 合理区间 band'],
      refs: [{ value: 1, label: '', cls: 'muted' }],   // 1.0 = the regional average; the band label names it
      rows: rows.map((r) => {
        const v = r.cost_index === null ? null : Number(r.cost_index);
        const cls = r.cost_index_in_band ? 'good' : v !== null && v >= 0.7 && v <= 1.3 ? 'warn' : 'bad';
        return { label: labelOf(r), values: [v], classes: [`bar ${cls}`], onClick: r.onClick };
      }),
    });
  }

  function indicatorTable(rows, first) {
    return table([
      first,
      { label: '地区 Region', key: 'region_code' },
      { label: '人次 Visits', num: true, render: (r) => fmt.num(r.visits) },
      { label: '次均费用 Per visit', num: true, render: (r) => fmt.yuan(r.cost_per_visit_fen) },
      { label: '上期 Previous', num: true, render: (r) => fmt.yuan(r.previous_cost_per_visit_fen) },
      { label: '增长 Growth', num: true, render: (r) => [fmt.pct(r.growth), ' ', levelChip(r.growth_level)] },
      { label: '药占比 Drugs', num: true, render: (r) => fmt.pct(r.drug_share) },
      { label: '耗占比 Consumables', num: true, render: (r) => fmt.pct(r.consumable_share) },
      { label: '成本差异系数 Cost index', num: true, render: (r) => [fmt.dec(r.cost_index, 2), ' ',
        r.cost_index_in_band === null ? '' : chip(r.cost_index_in_band ? '区间内 in band' : '越界 out', r.cost_index_in_band ? 'good' : 'bad')] },
      { label: '地区均值 Regional avg', num: true, render: (r) => fmt.yuan(r.regional_avg_fen) },
    ], rows, { empty: '该期间无就诊数据 No visits in this period' });
  }

  function indicators(params) {
    const p = state.period;
    if (params.hospital) return hospitalDrill(params.hospital, p);
    const data = indicatorsFor(p);
    const clickRows = data.then((rows) => rows.map((r) => ({ ...r, onClick: () => go('indicators', { period: p, hospital: r.hospital_id }) })));
    const label = (r) => r.hospital_id;
    return [
      pageHead('费用指标 Cost indicators', true),
      h('p', { class: 'muted small' }, '点击医院查看趋势 Click a hospital to drill down into its last six months.'),
      card(`指标明细 Indicators by hospital · ${p}`, async () => indicatorTable(await data,
        { label: '医院 Hospital', render: (r) => h('a', { href: link('indicators', { period: p, hospital: r.hospital_id }) }, r.hospital_id) })),
      h('div', { class: 'grid2' },
        card('次均费用 Cost per visit', async () => costPerVisitChart(await data, p)),
        card('费用增长 Growth vs previous month', async () => growthChart(await clickRows, label)),
        card('药占比 / 耗占比 Drug & consumable shares', async () => sharesChart(await clickRows, label)),
        card('成本差异系数 Cost index vs regional average', async () => indexChart(await clickRows, label))),
    ];
  }

  function hospitalDrill(hospital, period) {
    const periods = [5, 4, 3, 2, 1, 0].map((n) => shiftPeriod(period, -n));
    const series = Promise.all(periods.map((p) => indicatorsFor(p)
      .then((rows) => rows.find((r) => r.hospital_id === hospital) || null)))
      .then((found) => found.map((r, i) => r || { period: periods[i], missing: true }));
    const present = series.then((rows) => rows.filter((r) => !r.missing));
    const label = (r) => r.period;
    return [
      pageHead(`医院 ${hospital} · 趋势 Trend`, true,
        h('a', { class: 'btn', href: link('indicators', {}) }, '← 全部医院 All hospitals')),
      card(`次均费用 Cost per visit · ${periods[0]} – ${period}`, async () => Charts.hbar({
        title: 'cost per visit by month', format: fmt.yuan,
        rows: (await series).map((r) => ({ label: r.period, values: [r.missing ? null : r.cost_per_visit_fen],
          title: r.missing ? `${r.period}: no visits` : null })),
      })),
      h('div', { class: 'grid2' },
        card('费用增长 Growth', async () => growthChart(await present, label)),
        card('成本差异系数 Cost index', async () => indexChart(await present, label)),
        card('药占比 / 耗占比 Shares', async () => sharesChart(await present, label)),
        card('预警 Warnings for this hospital', async () => warningTable(
          (await get('cost-sharing', '/v1/warnings')).filter((w) => w.hospital_id === hospital), false))),
      card('明细 Detail', async () => indicatorTable([...(await present)].reverse(), { label: '期间 Period', key: 'period' })),
      h('p', {}, h('a', { href: link('scorecard', { period, hospital }) }, `→ ${hospital} 平衡计分卡 scorecard ${period}`)),
    ];
  }

  function warningTable(rows, withActions) {
    return table([
      { label: '预警 Warning', key: 'warning_id' },
      { label: '医院 Hospital', render: (w) => h('a', { href: link('indicators', { period: w.period, hospital: w.hospital_id }) }, w.hospital_id) },
      { label: '期间 Period', key: 'period' },
      { label: '指标 Indicator', render: (w) => ({ cost_growth: '费用增长 growth', cost_index: '成本差异系数 index' }[w.indicator] || w.indicator) },
      { label: '级别 Level', render: (w) => levelChip(w.level) },
      { label: '值 Value', num: true, render: (w) => w.indicator === 'cost_growth' ? fmt.pct(w.value, 2) : fmt.dec(w.value, 4) },
      { label: '状态 State', render: (w) => [chip({ raised: '待答复 raised', answered: '已答复 answered', closed: '已关闭 closed' }[w.state] || w.state,
        w.state === 'closed' ? 'muted' : w.state === 'answered' ? 'good' : 'warn'), w.overdue ? chip('逾期 overdue', 'bad') : null,
        w.answered_late ? chip('迟复 late', 'warn') : null] },
      { label: '答复期限 Due', render: (w) => fmt.time(w.answer_due) },
      { label: '说明 Message', render: (w) => h('span', { class: 'small' }, w.message) },
      { label: '原因与措施 Cause / remedy', render: (w) => w.cause ? h('span', { class: 'small' }, h('b', {}, '原因 '), w.cause, h('br'), h('b', {}, '措施 '), w.remedy) : '—' },
      withActions ? { label: '操作 Action', render: (w) => closeControl(w) } : null,
    ].filter(Boolean), rows, { empty: '没有预警 No warnings', rowClass: (w) => w.overdue ? 'row-bad' : null });
  }

  function closeControl(w) {
    if (w.state !== 'answered') return '—';
    const note = h('input', { type: 'text', placeholder: '备注 note', class: 'note', 'aria-label': 'note' });
    return h('span', { class: 'close-control' }, note, action('关闭 Close', () => api('cost-sharing',
      `/v1/warnings/${encodeURIComponent(w.warning_id)}/close`, { method: 'POST', body: { note: note.value } }),
    (r) => { setTimeout(render, 600); return chip(`✔ ${r.state}`, 'good'); }));
  }

  function warnings(params) {
    const p = state.period;
    const stateFilter = params.state || '';
    const select = h('select', { 'aria-label': 'state filter' },
      [['', '全部 all'], ['raised', '待答复 raised'], ['answered', '已答复 answered'], ['closed', '已关闭 closed']]
        .map(([v, t]) => h('option', { value: v, selected: v === stateFilter }, t)));
    select.addEventListener('change', () => here({ state: select.value }));
    const list = get('cost-sharing', `/v1/warnings${stateFilter ? '?state=' + stateFilter : ''}`);
    return [
      pageHead('预警看板 Warnings board', false, h('label', { class: 'filter' }, '状态 State ', select)),
      isAdmin()
        ? card(`评估 Evaluate ${p}`, async () => [
          h('p', { class: 'small' }, `Raise warnings for every breach in ${p}: growth above 8% (yellow) / 10% (red), cost index outside 0.8–1.2. Already raised breaches are not raised twice.`),
          action(`评估 Evaluate ${p}`, () => api('cost-sharing', `/v1/indicators/${p}/evaluate`, { method: 'POST' }),
            (r) => { setTimeout(render, 900); return chip(`raised ${r.raised.length}${r.raised.length ? ': ' + r.raised.join(', ') : ''}`, r.raised.length ? 'warn' : 'good'); }),
        ])
        : readOnlyNote(),
      card('汇总 Summary', async () => {
        const ws = await list;
        const count = (f) => ws.filter(f).length;
        return figures([
          ['待答复 Raised', count((w) => w.state === 'raised'), 'warn'],
          ['逾期 Overdue', count((w) => w.overdue), count((w) => w.overdue) ? 'bad' : ''],
          ['已答复 Answered', count((w) => w.state === 'answered'), ''],
          ['已关闭 Closed', count((w) => w.state === 'closed'), 'muted'],
          ['红 Red', count((w) => w.level === 'red'), 'bad'],
          ['黄 Yellow', count((w) => w.level === 'yellow'), 'warn'],
        ]);
      }),
      card('预警 Warnings', async () => warningTable(await list, isAdmin())),
    ];
  }

  function referralsPage(params) {
    const p = state.period;
    const status = params.status || '';
    return [
      pageHead('转诊与互认 Referrals & recognition', false),
      card('转诊指标 Referral indicators', async () => {
        const r = await get('referral', '/v1/indicators');
        return [
          figures([
            ['转诊 Referrals', fmt.num(r.referrals)],
            ['符合条件病例 Eligible cases', fmt.num(r.eligible_cases)],
            ['转诊率 Referral rate', fmt.pct(r.referral_rate), r.meets_target ? 'good' : r.meets_target === false ? 'warn' : ''],
            ['目标 Target', fmt.pct(r.target_rate, 0)],
            ['下转 Down referrals', `${fmt.num(r.down_referrals)} (${fmt.pct(r.down_share)})`],
            ['已接收 Accepted', fmt.num(r.accepted)],
            ['接收中位时长 Median to acceptance', r.median_minutes_to_acceptance === null ? '—' : `${fmt.num(r.median_minutes_to_acceptance, 1)} min`],
            ['超时 Expired', fmt.num(r.expired), r.expired ? 'warn' : ''],
          ]),
          Charts.hbar({ title: 'referral rate vs target', format: (v) => fmt.pct(v), max: Math.max(0.5, Number(r.referral_rate || 0)),
            refs: [{ value: r.target_rate, label: `目标 target ${fmt.pct(r.target_rate, 0)}`, cls: 'good' }],
            rows: [{ label: '转诊率 referral rate', values: [r.referral_rate], classes: [r.meets_target ? 'bar good' : 'bar warn'] },
              { label: '下转占比 down share', values: [r.down_share] }] }),
          h('h3', {}, '虹吸信号 Siphoning signal (tertiary hospitals keeping primary-care cases)'),
          table([
            { label: '医院 Hospital', key: 'hospital_id' },
            { label: '收治 Admitted', num: true, key: 'admitted' },
            { label: '基层病种 Primary-care cases', num: true, key: 'primary_care_cases' },
            { label: '留治 Kept', num: true, key: 'kept' },
            { label: '占比 Share', num: true, render: (x) => fmt.pct(x.share) },
            { label: '信号 Flag', render: (x) => x.flagged ? chip('虹吸 flagged', 'bad') : chip('正常 ok', 'good') },
          ], r.siphoning || [], { empty: '无信号 No signal' }),
        ];
      }),
      isAdmin() ? card('转诊列表 Referrals', async () => {
        const rows = await get('referral', `/v1/referrals${status ? '?status=' + encodeURIComponent(status) : ''}`);
        const counts = {};
        rows.forEach((r) => { counts[r.status] = (counts[r.status] || 0) + 1; });
        return [
          Charts.hbar({ title: 'referrals by status', format: (v) => String(v),
            rows: Object.entries(counts).sort().map(([k, v]) => ({ label: k, values: [v], onClick: () => here({ status: k }) })),
            empty: '没有转诊 No referrals' }),
          status ? h('p', {}, `状态 status = ${status} `, h('a', { href: link('referrals', {}) }, '× 清除 clear')) : null,
          table([
            { label: '转诊 Referral', key: 'referral_id' },
            { label: '创建 Created', render: (r) => fmt.time(r.created_at) },
            { label: '发起 From', key: 'origin_hospital' },
            { label: '方向 Direction', render: (r) => r.direction === 'up' ? '上转 up' : r.direction === 'down' ? '下转 down' : r.direction },
            { label: '诊断 Dx', key: 'diagnosis_code' },
            { label: '病情 Severity', key: 'severity' },
            { label: '紧急 Urgency', key: 'urgency' },
            { label: '状态 Status', render: (r) => chip(r.status, { completed: 'good', expired: 'bad', rejected: 'warn', cancelled: 'muted' }[r.status] || '') },
            { label: '接收 Accepted by', render: (r) => r.accepted_by || '—' },
            { label: '期限 Deadline', render: (r) => [fmt.time(r.deadline), r.escalated ? chip('升级 escalated', 'warn') : null] },
          ], rows.slice(0, 200), { empty: '没有转诊 No referrals' }),
        ];
      }) : h('p', { class: 'muted small readonly' },
        '转诊明细仅对管理员开放 Individual referrals are for administrators; regulators read the aggregates above (the referral service answers 403 to a regulator asking for the list).'),
      card(`结果互认 Results mutual recognition · ${p}`, async () => {
        const rows = await get('results-mutual-recognition', `/v1/indicators?period=${p}`);
        const by = {};
        for (const r of rows) {
          const a = by[r.hospital_id] || (by[r.hospital_id] = { hospital_id: r.hospital_id, checks: 0, recognisable: 0, reused: 0, declined: 0, savings_fen: 0 });
          for (const k of ['checks', 'recognisable', 'reused', 'declined', 'savings_fen']) a[k] += r[k] || 0;
        }
        const hospitals = Object.values(by).sort((a, b) => a.hospital_id.localeCompare(b.hospital_id));
        return [
          Charts.hbar({ title: 'recognition savings by hospital', format: fmt.yuan,
            rows: hospitals.map((x) => ({ label: x.hospital_id, values: [x.savings_fen], classes: ['bar good'] })),
            empty: `该期间无互认记录 No recognition checks in ${p}` }),
          table([
            { label: '医院 Hospital', key: 'hospital_id' },
            { label: '项目 Item', key: 'item_code' },
            { label: '查询 Checks', num: true, key: 'checks' },
            { label: '可互认 Recognisable', num: true, key: 'recognisable' },
            { label: '互认 Reused', num: true, key: 'reused' },
            { label: '未互认 Declined', num: true, key: 'declined' },
            { label: '互认率 Recognition rate', num: true, render: (r) => fmt.pct(r.recognition_rate) },
            { label: '重复检查率 Repeat rate', num: true, render: (r) => fmt.pct(r.repeat_test_rate) },
            { label: '节约 Saved', num: true, render: (r) => fmt.yuan(r.savings_fen) },
          ], rows, { empty: '' }),
        ];
      }),
    ];
  }

  function procurement(params) {
    const p = state.period;
    const cards = [pageHead('集中采购 Procurement', true)];
    cards.push(card('集采轮次 Group-purchasing rounds', async () => {
      const rounds = await get('procurement', '/v1/rounds');
      const awarded = rounds.filter((r) => r.saving_fen !== null && r.saving_fen !== undefined);
      return [
        Charts.hbar({ title: 'savings by round', format: fmt.yuan,
          rows: awarded.map((r) => ({ label: r.round_id, title: `${r.title}: ${fmt.yuan(r.saving_fen)}`, values: [r.saving_fen], classes: ['bar good'],
            onClick: () => here({ round: r.round_id }) })),
          empty: '尚无授标轮次 No awarded round yet' }),
        table([
          { label: '轮次 Round', render: (r) => h('a', { href: link('procurement', { round: r.round_id, item: params.item }) }, r.round_id) },
          { label: '名称 Title', key: 'title' },
          { label: '状态 Status', render: (r) => chip(r.status, r.status === 'awarded' ? 'good' : r.status === 'open' ? 'warn' : '') },
          { label: '截止 Deadline', render: (r) => fmt.time(r.deadline) },
          { label: '总额 Total', num: true, render: (r) => fmt.yuan(r.total_fen) },
          { label: '节约 Saving', num: true, render: (r) => fmt.yuan(r.saving_fen) },
        ], rounds, { empty: '没有轮次 No rounds' }),
      ];
    }));
    if (params.round) cards.push(card(`轮次 Round ${params.round}`, () => roundDetail(params.round), { extra: closeLink({ round: null }), focus: true }));
    cards.push(card(`价格离散 Price spreads · ${p}`, async () => {
      const rows = await get('procurement', `/v1/prices?period=${p}`);
      return [
        Charts.range({ title: 'unit price spread by item', format: fmt.price,
          rows: rows.slice(0, 30).map((r) => ({ label: r.name || r.item_code, min: Number(r.min), median: Number(r.median),
            max: Number(r.max), onClick: () => here({ item: r.item_code }) })),
          empty: `该期间无价格上报 No price reports in ${p}` }),
        table([
          { label: '编码 Code', render: (r) => h('a', { href: link('procurement', { item: r.item_code, round: params.round }) }, r.item_code) },
          { label: '名称 Name', key: 'name' },
          { label: '上报 Reports', num: true, key: 'reports' },
          { label: '医院 Hospitals', num: true, key: 'hospitals' },
          { label: '最低 Min', num: true, render: (r) => fmt.price(r.min) },
          { label: '中位 Median', num: true, render: (r) => fmt.price(r.median) },
          { label: '最高 Max', num: true, render: (r) => fmt.price(r.max) },
          { label: '离散 Spread', num: true, render: (r) => chip(fmt.pct(r.spread), Number(r.spread) > 0.5 ? 'bad' : Number(r.spread) > 0.2 ? 'warn' : 'good') },
        ], rows, { empty: '' }),
      ];
    }));
    if (params.item) cards.push(card(`品种 Item ${params.item} · ${p}`, () => itemDetail(params.item, p), { extra: closeLink({ item: null }), focus: true }));
    return cards;
  }

  function closeLink(changes) {
    const { route, params } = parseHash();
    return h('a', { class: 'btn small close', href: link(route, { ...params, as: null, ...changes }) }, '× 关闭 close');
  }

  async function roundDetail(id) {
    const r = await api('procurement', `/v1/rounds/${encodeURIComponent(id)}`);
    const out = [figures([
      ['名称 Title', r.title], ['状态 Status', r.status], ['截止 Deadline', fmt.time(r.deadline)],
      ['最多供应商 Max suppliers', r.max_suppliers], ['供应商分担 Supplier share of rises', fmt.pct(r.supplier_share, 0)],
      ['授标 Awarded at', fmt.time(r.awarded_at)],
    ])];
    if (!r.award) {
      out.push(h('p', { class: 'muted' }, '尚未授标 Not awarded yet.'));
      out.push(table([{ label: '品种 Item', key: 'item_code' },
        { label: '基准单价 Baseline unit price', num: true, render: (i) => fmt.price(i.baseline_unit_price) }], r.items));
      return out;
    }
    const a = r.award;
    out.push(figures([
      ['授标总额 Awarded total', fmt.yuan(a.total_fen)], ['基准总额 Baseline total', fmt.yuan(a.baseline_total_fen)],
      ['节约 Saving', fmt.yuan(a.saving_fen), 'good'],
      ['节约率 Saving rate', a.baseline_total_fen ? fmt.pct(a.saving_fen / a.baseline_total_fen) : '—', 'good'],
    ]));
    out.push(Charts.hbar({ title: 'baseline vs awarded per item', format: fmt.yuan,
      series: [{ name: '基准 baseline', cls: 'bar s2' }, { name: '授标 awarded', cls: 'bar s1' }],
      rows: a.items.map((i) => ({ label: i.item_code, values: [i.baseline_total_fen, i.total_fen] })) }));
    out.push(table([
      { label: '品种 Item', key: 'item_code' }, { label: '数量 Volume', num: true, render: (i) => fmt.num(i.volume) },
      { label: '状态 Status', key: 'status' },
      { label: '供应商 Suppliers', render: (i) => (i.lines || []).map((l) => `${l.supplier_id} × ${fmt.num(l.quantity)} @ ${fmt.price(l.unit_price)}`).join('; ') || '—' },
      { label: '总额 Total', num: true, render: (i) => fmt.yuan(i.total_fen) },
      { label: '节约 Saving', num: true, render: (i) => fmt.yuan(i.saving_fen) },
      { label: '说明 Explanation', render: (i) => h('span', { class: 'small' }, (i.explanation || []).join(' ')) },
    ], a.items));
    return out;
  }

  async function itemDetail(code, period) {
    const v = await api('procurement', `/v1/prices/${encodeURIComponent(code)}?period=${period}`);
    if (!v.stats) return h('p', { class: 'muted' }, `${v.item_code} ${v.name}: 该期间无上报 no reports in ${period}`);
    const refs = [{ value: Number(v.stats.p10), label: 'P10', cls: 'good' }, { value: Number(v.stats.median), label: '中位 median', cls: 'muted' }];
    if (v.agreed_unit_price) refs.push({ value: Number(v.agreed_unit_price), label: '协议价 agreed', cls: 'warn' });
    return [
      figures([
        ['名称 Name', `${v.name} (${v.base_unit})`], ['上报 Reports', v.reports],
        ['最低 Min', fmt.price(v.stats.min)], ['P10', fmt.price(v.stats.p10)], ['中位 Median', fmt.price(v.stats.median)],
        ['最高 Max', fmt.price(v.stats.max)], ['离散 Spread', fmt.pct(v.stats.spread)],
        ['协议价 Agreed price', fmt.price(v.agreed_unit_price)],
        ['按P10可节约 Saving at P10', fmt.yuan(v.saving_at_p10_fen), 'good'],
        ['按协议价可节约 Saving at agreed', fmt.yuan(v.saving_at_agreed_fen), 'good'],
      ]),
      Charts.hbar({ title: 'average unit price by hospital', format: fmt.price, refs,
        rows: v.hospitals.map((x) => ({ label: `${x.hospital_id} (${x.level})`, values: [Number(x.average_unit_price)],
          classes: [x.outlier ? 'bar bad' : 'bar'] })) }),
      table([
        { label: '医院 Hospital', key: 'hospital_id' }, { label: '级别 Level', key: 'level' },
        { label: '上报 Reports', num: true, key: 'reports' }, { label: '数量 Quantity', num: true, render: (x) => fmt.num(x.base_quantity) },
        { label: '金额 Spent', num: true, render: (x) => fmt.yuan(x.spent_fen) },
        { label: '均价 Avg price', num: true, render: (x) => fmt.price(x.average_unit_price) },
        { label: '按P10节约 At P10', num: true, render: (x) => fmt.yuan(x.saving_at_p10_fen) },
        { label: '按协议价节约 At agreed', num: true, render: (x) => fmt.yuan(x.saving_at_agreed_fen) },
        { label: '异常 Outlier', render: (x) => x.outlier ? chip('异常 outlier', 'bad') : '—' },
      ], v.hospitals),
      v.outliers.length ? [h('h3', {}, '同级异常 Peer outliers'), table([
        { label: '医院 Hospital', key: 'hospital_id' }, { label: '级别 Level', key: 'level' },
        { label: '单价 Unit price', num: true, render: (o) => fmt.price(o.base_unit_price) },
        { label: '同级中位 Peer median', num: true, render: (o) => fmt.price(o.peer_median) },
        { label: '得分 Score', num: true, render: (o) => fmt.dec(o.score, 2) },
        { label: '方向 Direction', render: (o) => chip(o.direction === 'high' ? '偏高 high' : '偏低 low', o.direction === 'high' ? 'bad' : 'warn') },
      ], v.outliers)] : null,
    ];
  }

  function accountLabel(a) { return a.replace(/^hospital:/, '').replace(/^pool:/, '池 pool ').replace(/^drg:/, 'DRG '); }

  function settlement() {
    const p = state.period;
    return [
      pageHead('结算 Settlement', true),
      card('账本校验 Ledger verification', async () => {
        const v = await get('cost-sharing', '/v1/ledger/verify');
        return [
          h('div', { class: 'badge ' + (v.ok ? 'good' : 'bad'), 'data-ledger': v.ok ? 'verified' : 'broken' },
            v.ok ? '✔ 账本完整 Ledger verified' : '✖ 账本断链 Ledger broken',
            h('small', {}, v.ok ? `hash chain and ${v.checkpoints_checked} signed checkpoints agree`
              : `first broken link at seq ${v.first_broken_seq ?? '—'}: ${v.reason || 'checkpoint mismatch'}`)),
          figures([
            ['已校验分录 Entries checked', fmt.num(v.entries_checked)], ['链头 Head seq', v.head_seq],
            ['链头哈希 Head hash', h('code', {}, fmt.hash(v.head_hash))], ['检查点 Checkpoints', v.checkpoints_checked],
          ]),
          v.checkpoint_faults.length ? table([{ label: 'seq', key: 'seq' }, { label: '原因 Reason', key: 'reason' }], v.checkpoint_faults) : null,
        ];
      }),
      card(`净额结算 Netting · ${p}`, async () => {
        const n = await get('cost-sharing', `/v1/netting/${p}`);
        const balances = Object.entries(n.balances).sort(([a], [b]) => a.localeCompare(b));
        return [
          figures([
            ['全额 Gross obligations', fmt.yuan(n.gross_fen)], ['净额 Net transfers', fmt.yuan(n.net_fen), 'good'],
            ['压缩 Reduction', n.gross_fen ? fmt.pct(1 - n.net_fen / n.gross_fen) : '—'],
            ['笔数 Transfers', n.transfers.length],
            ['全部结清 Settles every balance', n.settles_every_balance ? '✔ yes' : '✖ no', n.settles_every_balance ? 'good' : 'bad'],
          ]),
          h('p', { class: 'muted small' }, '余额 = 贷方 − 借方 Balance = credits − debits: 负数应付 negative owes, 正数应收 positive is owed.'),
          Charts.hbar({ title: 'balances (credit − debit)', format: fmt.yuan,
            rows: balances.map(([a, b]) => ({ label: accountLabel(a), values: [b], classes: [b >= 0 ? 'bar good' : 'bar bad'] })),
            empty: `该期间无分录 No postings in ${p}` }),
          table([
            { label: '付款方 Payer', render: (t) => accountLabel(t.payer) }, { label: '→', render: () => '→' },
            { label: '收款方 Payee', render: (t) => accountLabel(t.payee) },
            { label: '金额 Amount', num: true, render: (t) => fmt.yuan(t.amount_fen) },
          ], n.transfers, { empty: '无需转账 No transfer needed' }),
          isAdmin() ? action(`发布净额 Publish netting ${p}`, () => api('cost-sharing', `/v1/netting/${p}`, { method: 'POST' }),
            (r) => chip(`✔ published through seq ${r.through_seq}`, 'good')) : readOnlyNote(),
        ];
      }),
      card(`结算单 Statements · ${p}`, async () => {
        const rows = await get('cost-sharing', `/v1/statements?period=${p}`);
        return [
          Charts.hbar({ title: 'closing balance by hospital', format: fmt.yuan,
            rows: rows.map((s) => ({ label: s.hospital_id, values: [s.closing_fen], classes: [s.closing_fen >= 0 ? 'bar good' : 'bar bad'] })),
            empty: `该期间无结算单 No statements for ${p}` }),
          table([
            { label: '结算单 Statement', key: 'statement_id' }, { label: '医院 Hospital', key: 'hospital_id' },
            { label: '期初 Opening', num: true, render: (s) => fmt.yuan(s.opening_fen) },
            { label: '借方 Debits', num: true, render: (s) => fmt.yuan(s.debits_fen) },
            { label: '贷方 Credits', num: true, render: (s) => fmt.yuan(s.credits_fen) },
            { label: '期末 Closing', num: true, render: (s) => fmt.yuan(s.closing_fen) },
            { label: '分录 Lines', num: true, render: (s) => (s.lines || []).length },
            { label: '截至 Through seq', num: true, key: 'through_seq' },
            { label: '出具 Issued', render: (s) => fmt.time(s.issued_at) },
          ], rows, { empty: '' }),
        ];
      }),
      card('签名检查点 Signed checkpoints', async () => table([
        { label: 'seq', num: true, key: 'seq' }, { label: '分录 Entries', num: true, key: 'entries' },
        { label: '签名时间 Signed at', render: (c) => fmt.time(c.signed_at) },
        { label: '密钥 Key', render: (c) => h('code', {}, fmt.hash(c.key_id)) },
        { label: '链头哈希 Head hash', render: (c) => h('code', {}, fmt.hash(c.head_hash)) },
        { label: '签名 Signature', render: (c) => h('code', {}, fmt.hash(c.signature)) },
      ], (await get('cost-sharing', '/v1/ledger/checkpoints')).slice(0, 20), { empty: '尚无检查点 No checkpoint yet' })),
    ];
  }

  const PERSPECTIVE = { financial: '财务 Financial', patient: '患者 Patient', process: '流程 Process', learning: '学习成长 Learning' };

  // A measure arrives as [key, label, value, target, score] (a named tuple) or as an object.
  function measureOf(m) {
    return Array.isArray(m) ? { key: m[0], label: m[1], value: m[2], target: m[3], score: m[4] } : m;
  }

  function measureValue(m) {
    if (m.value === null || m.value === undefined) return '—';
    if (/share|rate|growth|on_time/.test(m.key)) return fmt.pct(m.value);
    if (m.key === 'cost_index') return fmt.dec(m.value, 4);
    return fmt.num(m.value, 0);
  }

  function scorecard(params) {
    const p = state.period;
    const hospital = params.hospital || '';
    const picker = h('select', { 'aria-label': 'hospital' }, h('option', { value: '' }, '全联盟 Whole alliance'));
    indicatorsFor(p).then((rows) => {
      for (const r of rows) picker.appendChild(h('option', { value: r.hospital_id, selected: r.hospital_id === hospital }, r.hospital_id));
      if (hospital && !rows.some((r) => r.hospital_id === hospital)) picker.appendChild(h('option', { value: hospital, selected: true }, hospital));
    }).catch(() => { if (hospital) picker.appendChild(h('option', { value: hospital, selected: true }, hospital)); });
    picker.addEventListener('change', () => here({ hospital: picker.value }));
    return [
      pageHead('平衡计分卡 Balanced scorecard', true, h('label', { class: 'filter' }, '范围 Scope ', picker)),
      card(`${hospital || '全联盟 Whole alliance'} · ${p}`, async () => {
        const c = await get('cost-sharing', `/v1/scorecard?period=${p}${hospital ? '&hospital_id=' + encodeURIComponent(hospital) : ''}`);
        return [
          h('div', { class: 'score-head' },
            c.total === null ? h('p', { class: 'muted' }, '无总分 No total: no measure has a value') : Charts.gauge(c.total, '总分 total'),
            Charts.hbar({ title: 'perspective scores', format: (v) => v.toFixed(1), max: 100, min: 0, labelWidth: 210,
              rows: c.perspectives.map((x) => ({ label: `${PERSPECTIVE[x.perspective] || x.perspective} ${fmt.pct(x.weight, 0)}`,
                values: [x.score === null ? null : Number(x.score)],
                classes: [x.score === null ? 'bar' : Number(x.score) >= 80 ? 'bar good' : Number(x.score) >= 60 ? 'bar warn' : 'bar bad'] })) })),
          table([
            { label: '维度 Perspective', render: (m) => PERSPECTIVE[m.perspective] || m.perspective },
            { label: '指标 Measure', render: (m) => m.label },
            { label: '值 Value', num: true, render: (m) => measureValue(m) },
            { label: '目标 Target', num: true, render: (m) => measureValue({ ...m, value: m.target }) },
            { label: '得分 Score', num: true, render: (m) => m.score === null ? '—' : Number(m.score).toFixed(1) },
            { label: '权重 Weight used', num: true, render: (m) => fmt.pct(m.effective_weight, 1) },
          ], c.perspectives.flatMap((x) => x.measures.map((m) => ({ ...measureOf(m), perspective: x.perspective, effective_weight: x.effective_weight })))),
          c.missing.length ? h('p', { class: 'warn small' }, `缺少维度 Missing perspectives: ${c.missing.map((m) => PERSPECTIVE[m] || m).join(', ')}`) : null,
          c.notes.length ? h('ul', { class: 'notes small muted' }, c.notes.map((n) => h('li', {}, n))) : null,
        ];
      }),
    ];
  }

  function notFound() {
    return [pageHead('未找到 Not found', false), h('p', {}, h('a', { href: link('overview', {}) }, '→ 总览 Overview'))];
  }

  const PAGES = { overview, indicators, warnings, referrals: referralsPage, procurement, settlement, scorecard };

  // --- shell ---------------------------------------------------------------------------------------

  function showBanner(content) {
    const banner = $('#banner');
    if (!content) { banner.hidden = true; banner.replaceChildren(); return; }
    banner.hidden = false;
    fill(banner, content);
  }

  function showWho() {
    const el = $('#whoami');
    if (!state.token) { el.textContent = '未登录 not signed in'; return; }
    const until = new Date(state.tokenExp * 1000).toTimeString().slice(0, 5);
    const dev = state.config && state.config.dev_tokens ? 'dev token' : 'token';
    el.textContent = `${state.sub} · ${dev} until ${until}`;
  }

  function showTokenForm() {
    const area = h('textarea', { rows: 2, placeholder: 'eyJ…', 'aria-label': 'bearer token' });
    const use = h('button', { type: 'button', class: 'btn' }, '使用 Use token');
    use.addEventListener('click', () => {
      const token = area.value.trim().replace(/^Bearer\s+/i, '');
      const role = roleOfClaims(decodeJwt(token));
      if (!role) { showBanner([errorBox(new ApiError(400, { title: 'Not an administrator or regulator token', detail: 'the console is for the alliance_admin and regulator roles' })), area, use]); return; }
      setRole(role);
      useToken(token, role);
      showBanner(null);
      render();
    });
    showBanner(h('div', { class: 'token-form' },
      h('strong', {}, '登录 Sign in: '), 'dev tokens are off on this console; paste a bearer token from the identity provider.', area, use));
  }

  function setRole(role) {
    if (!ROLES[role]) return;
    state.role = role;
    sessionStorage.setItem('console.role', role);
    $('#role').value = role;
  }

  async function render() {
    const { route, params } = parseHash();
    state.seq += 1;
    memo = new Map();
    if (params.as && ROLES[params.as]) setRole(params.as);
    if (params.period && PERIOD_RE.test(params.period)) state.period = params.period;
    sessionStorage.setItem('console.period', state.period);
    document.body.dataset.role = state.role;
    $('#period').value = state.period;
    $('#role').value = state.role;
    for (const a of document.querySelectorAll('#nav a')) {
      a.href = link(a.dataset.route, {});
      a.classList.toggle('active', a.dataset.route === route);
    }
    const main = $('#main');
    try {
      await ensureToken(false);
      if (state.config && state.config.dev_tokens) showBanner(null);
    } catch (err) {
      if (!(state.config && !state.config.dev_tokens)) showBanner(errorBox(err));
    }
    const page = PAGES[route] || notFound;
    try {
      fill(main, page(params));
    } catch (err) {
      console.error(err);
      fill(main, errorBox(err));
    }
    document.title = `${($('#nav a.active') || { textContent: '' }).textContent} · 医联体控费驾驶舱`;
  }

  async function boot() {
    window.addEventListener('error', (e) => showBanner(errorBox(new ApiError(0, { title: 'Page error 页面错误', detail: e.message }))));
    window.addEventListener('unhandledrejection', (e) => showBanner(errorBox(e.reason instanceof ApiError ? e.reason : new ApiError(0, { title: 'Page error 页面错误', detail: String(e.reason) }))));
    try {
      state.config = await call('/config');
    } catch (err) {
      showBanner(errorBox(err));
      state.config = { dev_tokens: false, services: [] };
    }
    const roleSelect = $('#role');
    roleSelect.disabled = !state.config.dev_tokens;
    roleSelect.title = state.config.dev_tokens ? 'switch role: a new dev token is issued' : 'the role comes from your token';
    roleSelect.addEventListener('change', () => {
      setRole(roleSelect.value);
      state.token = null;
      const before = location.hash;
      here({});
      if (location.hash === before) render();
    });
    $('#period').addEventListener('change', (e) => {
      if (PERIOD_RE.test(e.target.value)) here({ period: e.target.value });
    });
    window.addEventListener('hashchange', render);
    showWho();
    render();
  }

  boot();
})();

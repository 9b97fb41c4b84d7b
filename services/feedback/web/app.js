// The rein-feedback annotator page. Talks to the JSON API in services/feedback/http_api.md.
//
// One page, several views (login message, campaign list, task, all done). All state lives in
// `state`; the DOM is rebuilt per task with createElement/textContent — nothing ever goes
// through innerHTML, and untrusted text (prompt, responses, guidelines) goes through
// ReinMarkdown, which builds DOM the same way.
//
// Answers are kept and sent by SHOWN POSITION: index p of every array is the response shown at
// position p (label A = 0, B = 1, …), exactly as the server expects.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const label = (p) => (p < LETTERS.length ? LETTERS[p] : 'R' + (p + 1));
  const CATEGORIES = [
    ['harmful', 'Harmful'], ['biased', 'Biased'], ['incorrect', 'Incorrect'],
    ['unhelpful', 'Unhelpful'], ['private_data', 'Private data'], ['other', 'Other'],
  ];
  const CSRF_KEY = 'rein.feedback.csrf';
  const DRAFT_DELAY_MS = 1500;

  // The one table of shortcuts: the help overlay is generated from it, so it cannot drift from
  // what onKey() does.
  const SHORTCUTS = [
    ['a  or  1', 'Pairwise: A is better'],
    ['b  or  2', 'Pairwise: B is better'],
    ['t', 'Pairwise: tie'],
    ['x', 'Pairwise: both bad'],
    ['[  /  ]', 'Previous / next response (the one r, o and f act on)'],
    ['r  then 1–7', 'Rate the current response, then move to the next'],
    ['o', 'Approve the current response'],
    ['f', 'Flag the current response'],
    ['f  then 1–6', 'Flag it and toggle a category: 1 harmful, 2 biased, 3 incorrect, ' +
      '4 unhelpful, 5 private data, 6 other'],
    ['k', 'Focus the ranking'],
    ['↑  /  ↓', 'Ranking: move the focused row up / down'],
    ['Home  /  End', 'Ranking: move the focused row to the top / bottom'],
    ['=', 'Ranking: tie the focused row with the row above (toggle)'],
    ['c', 'Write a comment'],
    ['e', 'Write a corrected response'],
    ['Esc', 'Leave a text box, cancel r / f, close a dialog'],
    ['Enter  or  Ctrl+Enter', 'Submit (Ctrl+Enter also works inside a text box)'],
    ['s', 'Skip this task'],
    ['g', 'Open / close the guidelines'],
    ['?', 'Open / close this help'],
  ];

  const state = {
    csrf: null,
    me: null,
    campaign: null,     // GET /campaigns/{id}
    task: null,         // the task being shown, or null
    questions: new Set(),
    answers: null,      // see newAnswers()
    active: 0,          // the response r / o / f act on
    prefix: null,       // 'r' or 'f' while waiting for the digit
    busy: false,        // a submit / skip / next is in flight
    backoff: 1,         // seconds, doubled on each 429 from /next
    retryTimer: 0,
    draftTimer: 0,
    autoOpened: false,  // the single campaign was opened directly once
  };

  // ---- small DOM helpers -------------------------------------------------------------------

  function h(tag, props, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (v === true) e.setAttribute(k, '');
      else e.setAttribute(k, String(v));
    }
    for (const c of children) if (c) e.append(c);
    return e;
  }

  function kbd(text) {
    return h('kbd', {text});
  }

  let messageTimer = 0;
  // kind: 'info' | 'ok' | 'warn' | 'error'. Errors and warnings are announced assertively.
  function showMessage(text, kind) {
    const box = $('message');
    clearTimeout(messageTimer);
    box.textContent = text;
    box.className = 'message ' + (kind || 'info');
    box.setAttribute('aria-live', kind === 'error' || kind === 'warn' ? 'assertive' : 'polite');
    box.hidden = false;
    if (kind === 'ok') messageTimer = setTimeout(clearMessage, 4000);
  }
  function clearMessage() {
    clearTimeout(messageTimer);
    $('message').hidden = true;
    $('message').textContent = '';
  }

  function showView(name) {
    if (name === 'loading') {
      $('loading-text').textContent = 'Loading…';
      $('retry-button').hidden = true;
    }
    for (const v of document.querySelectorAll('main > .view')) v.hidden = v.id !== name + '-view';
    if (name !== 'task') {
      state.task = null;
      $('task-view').removeAttribute('data-lease');
    }
  }

  // ---- API ----------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, body, retryAfter) {
      const err = (body && body.error) || {};
      super(err.message || (status ? 'HTTP ' + status : 'network error'));
      this.status = status;
      this.code = err.code || '';
      this.field = err.field || '';
      this.retryAfter = retryAfter;
    }
  }

  async function api(method, path, body) {
    const headers = {Accept: 'application/json'};
    if (method !== 'GET' && state.csrf) headers['X-Rein-CSRF'] = state.csrf;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(path, {
        method, headers, credentials: 'same-origin', cache: 'no-store',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (_) {
      throw new ApiError(0, {error: {code: 'UNAVAILABLE',
        message: 'The server cannot be reached. Check your connection and try again.'}});
    }
    if (res.status === 204) return {status: 204, body: null};
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : {};
    } catch (_) {
      data = null;
    }
    if (!res.ok) {
      const retry = parseFloat(res.headers.get('Retry-After') || '');
      throw new ApiError(res.status, data, Number.isFinite(retry) ? retry : 0);
    }
    return {status: res.status, body: data || {}};
  }

  function setCsrf(token) {
    state.csrf = token || null;
    try {
      if (token) sessionStorage.setItem(CSRF_KEY, token);
      else sessionStorage.removeItem(CSRF_KEY);
    } catch (_) { /* storage disabled: memory only */ }
  }

  // Errors every request can get; the callers handle their own (409, 429, 400) first.
  function handleError(e) {
    if (e.status === 401) {
      setCsrf(null);
      showLogin('Your session has ended', 'Open your invite link again to log in.');
    } else if (e.status === 403) {
      showMessage(state.me && state.me.annotator && state.me.annotator.paused
        ? 'Your account is paused; ask the campaign owner.'
        : 'Not allowed: ' + e.message, 'error');
    } else if (e.status === 503 || e.status === 0) {
      showMessage('The service is unavailable right now (' + e.message + '). Try again shortly.', 'error');
    } else {
      showMessage(e.message, 'error');
    }
  }

  // ---- login and campaigns -----------------------------------------------------------------

  function showLogin(title, text) {
    $('login-title').textContent = title;
    $('login-text').textContent = text;
    for (const id of ['progress-box', 'campaigns-button', 'guidelines-button', 'logout-button']) {
      $(id).hidden = true;
    }
    showView('login');
  }

  async function boot() {
    buildHelp();
    wireStatic();
    // An invite link opened in a tab that already shows the page changes only the fragment
    // (no reload): log in again with it.
    window.addEventListener('hashchange', () => {
      if (new URLSearchParams(location.hash.slice(1)).has('invite')) start();
    });
    await start();
  }

  async function start() {
    clearTimeout(state.retryTimer);
    cancelDraft();
    for (const d of document.querySelectorAll('dialog[open]')) d.close();
    clearMessage();
    state.autoOpened = false;
    state.campaign = null;
    showView('loading');
    const invite = new URLSearchParams(location.hash.slice(1)).get('invite');
    if (invite !== null) {
      // Drop the token from the address bar (and so from history and bookmarks) before anything
      // else can go wrong; it is kept only in this function.
      history.replaceState(null, '', location.pathname + location.search);
      try {
        const r = await api('POST', '/api/v1/login', {token: invite});
        setCsrf(r.body.csrf_token);
      } catch (e) {
        if (e.status === 401 || e.status === 400 || e.status === 404) {
          showLogin('This invite link is not valid',
            'It may be mistyped, revoked or replaced by a newer one. Ask for a new invite link.');
        } else {
          showLogin('Could not log in', e.message);
        }
        return;
      }
    } else {
      try {
        state.csrf = sessionStorage.getItem(CSRF_KEY);
      } catch (_) { /* no storage */ }
    }
    try {
      await loadMe();
    } catch (e) {
      if (e.status === 401) {
        showLogin('Not logged in', 'Open the invite link you were given (it ends in #invite=…).');
      } else {
        showLogin('Could not load your account', e.message);
      }
      return;
    }
    showCampaigns();
  }

  async function loadMe() {
    const r = await api('GET', '/api/v1/me');
    state.me = r.body;
    // A cookie session gets its CSRF token back here, so a reload keeps working.
    if (r.body.csrf_token) setCsrf(r.body.csrf_token);
    $('logout-button').hidden = false;
    updateProgress();
    return r.body;
  }

  function campaignsOf() {
    return (state.me && state.me.campaigns) || [];
  }

  function showCampaigns() {
    clearTimeout(state.retryTimer);
    state.campaign = null;
    $('progress-box').hidden = true;
    $('guidelines-button').hidden = true;
    $('campaigns-button').hidden = true;
    const list = $('campaign-list');
    list.replaceChildren();
    const campaigns = campaignsOf();
    for (const c of campaigns) {
      list.append(h('li', {},
        h('button', {type: 'button', class: 'campaign', dataset: {campaign: c.id},
                     onclick: () => openCampaign(c.id)},
          h('span', {class: 'campaign-title', text: c.name}),
          h('span', {class: 'campaign-meta',
                     text: `${c.submitted_by_me} / ${c.quota} judged · ${c.state}`}))));
    }
    $('no-campaigns').hidden = campaigns.length > 0;
    if (state.me.annotator && state.me.annotator.paused) {
      showMessage('Your account is paused; ask the campaign owner.', 'warn');
    }
    // With a single campaign there is nothing to choose: open it without showing the list
    // (once; "Campaigns" later shows the list).
    if (campaigns.length === 1 && !state.autoOpened) {
      state.autoOpened = true;
      openCampaign(campaigns[0].id);
      return;
    }
    showView('campaigns');
  }

  async function openCampaign(id) {
    clearMessage();
    showView('loading');
    try {
      const r = await api('GET', '/api/v1/campaigns/' + encodeURIComponent(id));
      state.campaign = r.body;
    } catch (e) {
      showView('campaigns');
      handleError(e);
      return;
    }
    renderGuidelines();
    $('guidelines-button').hidden = false;
    $('campaigns-button').hidden = campaignsOf().length < 2;
    $('progress-box').hidden = false;
    updateProgress();
    await loadNext();
  }

  function updateProgress() {
    if (!state.campaign) return;
    const c = campaignsOf().find((x) => x.id === state.campaign.id);
    $('campaign-name').textContent = state.campaign.name;
    const bar = $('progress');
    const text = $('progress-text');
    if (!c) {
      text.textContent = '';
      return;
    }
    bar.max = Math.max(1, c.quota);
    bar.value = Math.min(c.submitted_by_me, bar.max);
    text.textContent = `${c.submitted_by_me} / ${c.quota} judged`;
    text.dataset.submitted = c.submitted_by_me;
    text.dataset.quota = c.quota;
  }

  function renderGuidelines() {
    const box = $('guidelines');
    const md = state.campaign.guidelines_markdown || '';
    box.replaceChildren(md.trim() ? ReinMarkdown.render(md, {headingOffset: 2})
      : h('p', {text: 'This campaign has no guidelines.'}));
    $('guidelines-title').textContent =
      `Guidelines — ${state.campaign.name} (version ${state.campaign.guideline_version})`;
  }

  // ---- tasks --------------------------------------------------------------------------------

  async function loadNext() {
    clearTimeout(state.retryTimer);
    cancelDraft();
    if (!state.campaign) return;
    const campaignId = state.campaign.id;
    let r;
    try {
      r = await api('POST', `/api/v1/campaigns/${encodeURIComponent(campaignId)}/next`);
    } catch (e) {
      if (!state.campaign || state.campaign.id !== campaignId) return;
      if (e.status === 429) {
        // Rate limit or too many open leases: wait (Retry-After if given, else back off).
        const wait = e.retryAfter > 0 ? e.retryAfter : state.backoff;
        state.backoff = Math.min(30, state.backoff * 2);
        showView('loading');
        showMessage(`Slow down — too many requests. Trying again in ${wait} s…`, 'warn');
        state.retryTimer = setTimeout(loadNext, wait * 1000);
        return;
      }
      handleError(e);
      if (e.status !== 401) {
        showView('loading');
        $('loading-text').textContent = 'Could not load a task.';
        $('retry-button').hidden = false;
      }
      return;
    }
    if (!state.campaign || state.campaign.id !== campaignId) return;  // user went elsewhere
    state.backoff = 1;
    if (r.status === 204) {
      showView('done');
      return;
    }
    renderTask(r.body.task);
  }

  function newAnswers(k) {
    return {
      pairwise: null,
      order: Array.from({length: k}, (_, p) => p),  // ranking rows, best first: positions
      tie: new Array(k).fill(false),                 // tie[p]: p shares the rank of the row above
      rankGiven: false,                              // moved or confirmed at least once
      ratings: new Array(k).fill(null),
      flags: Array.from({length: k}, () => ({approved: null, categories: new Set()})),
      comment: '',
      correction: '',
    };
  }

  // A draft comes back by position (see /next). Restore whatever is valid in it.
  function applyDraft(draft, k) {
    const a = state.answers;
    if (typeof draft.pairwise === 'string') a.pairwise = draft.pairwise;
    if (Array.isArray(draft.ranks) && draft.ranks.length === k) {
      a.order.sort((p, q) => draft.ranks[p] - draft.ranks[q] || p - q);
      a.order.forEach((p, i) => { a.tie[p] = i > 0 && draft.ranks[p] === draft.ranks[a.order[i - 1]]; });
      a.rankGiven = true;
    }
    if (Array.isArray(draft.ratings) && draft.ratings.length === k) a.ratings = draft.ratings.slice();
    if (Array.isArray(draft.flags) && draft.flags.length === k) {
      a.flags = draft.flags.map((f) => ({approved: !!f.approved, categories: new Set(f.categories || [])}));
    }
    if (typeof draft.comment === 'string') a.comment = draft.comment;
    if (typeof draft.correction === 'string') a.correction = draft.correction;
  }

  function renderTask(task) {
    const k = task.item.responses.length;
    state.task = task;
    state.questions = new Set(task.questions);
    state.answers = newAnswers(k);
    if (task.draft) applyDraft(task.draft, k);
    state.active = 0;
    state.prefix = null;
    const q = state.questions;

    // Context (earlier chat turns), then the prompt.
    const ctx = $('context');
    ctx.replaceChildren();
    for (const turn of task.item.context || []) {
      ctx.append(h('div', {class: 'turn'},
        h('div', {class: 'turn-role', text: String(turn.role || '')}),
        h('div', {class: 'turn-content markdown'}, ReinMarkdown.render(turn.content, {headingOffset: 3}))));
    }
    $('prompt').replaceChildren(ReinMarkdown.render(task.item.prompt, {headingOffset: 3}));

    const box = $('responses');
    box.replaceChildren();
    box.dataset.count = k;
    task.item.responses.forEach((resp, p) => box.append(renderResponse(resp, p)));

    $('q-pairwise').hidden = !(q.has('pairwise') && k === 2);
    $('q-ranking').hidden = !q.has('ranking');
    $('q-comment').hidden = !q.has('comment');
    $('q-correction').hidden = !q.has('correction');
    $('comment').value = state.answers.comment;
    $('correction').value = state.answers.correction;
    $('draft-state').textContent = task.draft ? 'Draft restored' : '';
    syncPairwise();
    if (q.has('ranking')) renderRanking();
    clearInvalid();
    updateActive();

    showView('task');
    $('task-view').dataset.lease = task.lease_id;
    setBusy(false);
    timerStart();
    window.scrollTo(0, 0);
    $('prompt-title').focus({preventScroll: true});

    // The guidelines changed since the campaign was loaded: fetch them and say so.
    if (task.guideline_version !== undefined && state.campaign &&
        task.guideline_version !== state.campaign.guideline_version) {
      api('GET', '/api/v1/campaigns/' + encodeURIComponent(state.campaign.id)).then((r) => {
        state.campaign = r.body;
        renderGuidelines();
        showMessage(`The guidelines changed (version ${r.body.guideline_version}): press g to read them.`, 'warn');
      }, () => {});
    }
  }

  function renderResponse(resp, p) {
    const L = label(p);
    const a = state.answers;
    const card = h('article', {class: 'response', dataset: {pos: p}, 'aria-labelledby': `resp-title-${p}`},
      h('h3', {class: 'response-title', id: `resp-title-${p}`},
        h('span', {class: 'response-label', text: L}), ` Response ${L}`),
      h('div', {class: 'response-body markdown'}, ReinMarkdown.render(resp.text, {headingOffset: 3})));
    card.addEventListener('focusin', () => setActive(p));
    card.addEventListener('pointerdown', () => setActive(p));

    if (state.questions.has('rating')) {
      const row = h('div', {class: 'scale'});
      for (let v = 1; v <= 7; v++) {
        row.append(h('label', {class: 'pill'},
          h('input', {type: 'radio', name: `rating-${p}`, value: v, checked: a.ratings[p] === v,
                      onchange: () => setRating(p, v)}),
          h('span', {text: String(v)})));
      }
      card.append(h('fieldset', {class: 'q-rating', dataset: {pos: p}},
        h('legend', {text: `Rating for ${L} (1 = very poor, 7 = excellent)`}), row));
    }

    if (state.questions.has('flag')) {
      const f = a.flags[p];
      const cats = h('div', {class: 'categories', hidden: f.approved !== false},
        h('span', {class: 'categories-title', text: 'Why? (at least one)'}));
      CATEGORIES.forEach(([value, text], i) => {
        cats.append(h('label', {class: 'check'},
          h('input', {type: 'checkbox', name: `cat-${p}`, value, checked: f.categories.has(value),
                      onchange: (e) => toggleCategory(p, value, e.target.checked)}),
          ` ${text} `, kbd(String(i + 1))));
      });
      card.append(h('fieldset', {class: 'q-flag', dataset: {pos: p}},
        h('legend', {text: `Is ${L} acceptable?`}),
        h('div', {class: 'choice-row'},
          h('label', {class: 'pill wide'},
            h('input', {type: 'radio', name: `flag-${p}`, value: 'approve', checked: f.approved === true,
                        onchange: () => setFlag(p, true)}),
            h('span', {}, 'Approve ', kbd('o'))),
          h('label', {class: 'pill wide'},
            h('input', {type: 'radio', name: `flag-${p}`, value: 'flag', checked: f.approved === false,
                        onchange: () => setFlag(p, false)}),
            h('span', {}, 'Flag ', kbd('f')))),
        cats));
    }
    return card;
  }

  function card(p) {
    return document.querySelector(`#responses .response[data-pos="${p}"]`);
  }

  function setActive(p) {
    if (!state.task || p < 0 || p >= state.answers.ratings.length) return;
    state.active = p;
    updateActive();
  }

  function updateActive() {
    for (const c of document.querySelectorAll('#responses .response')) {
      const on = Number(c.dataset.pos) === state.active;
      c.classList.toggle('active', on);
      if (on) c.setAttribute('aria-current', 'true');
      else c.removeAttribute('aria-current');
    }
  }

  // ---- answering ---------------------------------------------------------------------------

  function answered(el) {
    if (el) {
      el.classList.remove('invalid');
      el.removeAttribute('aria-invalid');
    }
    scheduleDraft();
  }

  function setPairwise(v) {
    if (!state.questions.has('pairwise') || $('q-pairwise').hidden) return;
    state.answers.pairwise = v;
    syncPairwise();
    answered($('q-pairwise'));
  }

  function syncPairwise() {
    for (const b of document.querySelectorAll('#q-pairwise [data-pairwise]')) {
      b.setAttribute('aria-pressed', String(b.dataset.pairwise === state.answers.pairwise));
    }
  }

  function setRating(p, v) {
    state.answers.ratings[p] = v;
    const input = document.querySelector(`input[name="rating-${p}"][value="${v}"]`);
    if (input) input.checked = true;
    answered(card(p).querySelector('.q-rating'));
  }

  function setFlag(p, approved) {
    const f = state.answers.flags[p];
    f.approved = approved;
    if (approved) f.categories.clear();
    const c = card(p);
    c.querySelector(`input[name="flag-${p}"][value="${approved ? 'approve' : 'flag'}"]`).checked = true;
    c.querySelector('.categories').hidden = approved;
    if (approved) for (const box of c.querySelectorAll(`input[name="cat-${p}"]`)) box.checked = false;
    answered(c.querySelector('.q-flag'));
  }

  function toggleCategory(p, value, on) {
    const f = state.answers.flags[p];
    if (on === undefined) on = !f.categories.has(value);
    if (on) f.categories.add(value);
    else f.categories.delete(value);
    const box = card(p).querySelector(`input[name="cat-${p}"][value="${value}"]`);
    if (box) box.checked = on;
    answered(card(p).querySelector('.q-flag'));
  }

  // Competition ranks by position ("1 1 3", as the server requires): a row tied with the row
  // above shares its rank; any other row's rank is 1 + the number of rows above it.
  function computeRanks() {
    const a = state.answers;
    const ranks = new Array(a.order.length);
    a.order.forEach((p, i) => {
      ranks[p] = i > 0 && a.tie[p] ? ranks[a.order[i - 1]] : i + 1;
    });
    return ranks;
  }

  function renderRanking(focusPos) {
    const a = state.answers;
    const list = $('rank-list');
    const ranks = computeRanks();
    list.replaceChildren();
    a.order.forEach((p, i) => {
      if (i === 0) a.tie[p] = false;  // the top row has nothing above it to tie with
      const text = state.task.item.responses[p].text.replace(/\s+/g, ' ').trim();
      const li = h('li', {class: 'rank-item', tabindex: 0, dataset: {pos: p},
                          'aria-label': `Response ${label(p)}, rank ${ranks[p]}${a.tie[p] ? ', tied' : ''}`},
        h('span', {class: 'rank-handle', 'aria-hidden': 'true', title: 'Drag to reorder', text: '⠿'}),
        h('span', {class: 'rank-badge', text: String(ranks[p])}),
        h('span', {class: 'response-label', text: label(p)}),
        h('span', {class: 'rank-snippet', text: text.length > 90 ? text.slice(0, 90) + '…' : text}));
      if (i > 0) {
        li.append(h('label', {class: 'check rank-tie'},
          h('input', {type: 'checkbox', checked: a.tie[p],
                      onchange: (e) => setTie(p, e.target.checked)}),
          ' tie with above ', kbd('=')));
      }
      list.append(li);
    });
    $('rank-confirm').setAttribute('aria-pressed', String(a.rankGiven));
    if (focusPos !== undefined) {
      const li = list.querySelector(`li[data-pos="${focusPos}"]`);
      if (li) li.focus();
    }
  }

  function rankingChanged(focusPos) {
    state.answers.rankGiven = true;
    renderRanking(focusPos);
    answered($('q-ranking'));
  }

  function moveRank(p, to) {
    const order = state.answers.order;
    const from = order.indexOf(p);
    to = Math.max(0, Math.min(order.length - 1, to));
    order.splice(from, 1);
    order.splice(to, 0, p);
    rankingChanged(p);
  }

  function setTie(p, on) {
    state.answers.tie[p] = on;
    rankingChanged(p);
  }

  // Keyboard ranking: the focused row moves with the arrows; Tab moves between rows.
  function onRankKey(e) {
    const li = e.target.closest && e.target.closest('.rank-item');
    if (!li || e.altKey || e.ctrlKey || e.metaKey) return;
    const p = Number(li.dataset.pos);
    const i = state.answers.order.indexOf(p);
    const moves = {ArrowUp: i - 1, ArrowDown: i + 1, Home: 0, End: state.answers.order.length - 1};
    if (e.key in moves) {
      e.preventDefault();
      moveRank(p, moves[e.key]);
    } else if (e.key === '=' && i > 0) {
      e.preventDefault();
      setTie(p, !state.answers.tie[p]);
    }
  }

  // Pointer-event drag (works for mouse, pen and touch, unlike HTML5 drag-and-drop on phones):
  // the row follows the pointer; on release the DOM order becomes the ranking. The listeners sit
  // on the document because moving the row in the DOM would drop a pointer capture.
  function onRankPointerDown(e) {
    const handle = e.target.closest('.rank-handle');
    if (!handle || e.button !== 0 || !state.task) return;
    e.preventDefault();
    const li = handle.closest('.rank-item');
    const list = $('rank-list');
    li.classList.add('dragging');
    const move = (ev) => {
      if (ev.pointerId !== e.pointerId) return;
      let before = null;
      for (const row of list.children) {
        if (row === li) continue;
        const box = row.getBoundingClientRect();
        if (ev.clientY < box.top + box.height / 2) {
          before = row;
          break;
        }
      }
      if (before !== li.nextElementSibling || (before === null && list.lastElementChild !== li)) {
        list.insertBefore(li, before);
      }
    };
    const end = (ev) => {
      if (ev.pointerId !== e.pointerId) return;
      document.removeEventListener('pointermove', move);
      document.removeEventListener('pointerup', end);
      document.removeEventListener('pointercancel', end);
      li.classList.remove('dragging');
      state.answers.order = Array.from(list.children, (row) => Number(row.dataset.pos));
      rankingChanged(Number(li.dataset.pos));
    };
    document.addEventListener('pointermove', move);
    document.addEventListener('pointerup', end);
    document.addEventListener('pointercancel', end);
  }

  // ---- validation, submit, skip, draft ----------------------------------------------------

  // Answers by shown position. Incomplete questions are left out (a draft may be partial; for a
  // submit, validate() has already checked they are complete).
  function collectAnswers() {
    const a = state.answers;
    const q = state.questions;
    const out = {};
    if (q.has('pairwise') && a.pairwise) out.pairwise = a.pairwise;
    if (q.has('ranking') && a.rankGiven) out.ranks = computeRanks();
    if (q.has('rating') && a.ratings.every((v) => Number.isInteger(v))) out.ratings = a.ratings.slice();
    if (q.has('flag') && a.flags.every((f) => f.approved === true || (f.approved === false && f.categories.size))) {
      out.flags = a.flags.map((f) => (f.approved ? {approved: true}
        : {approved: false, categories: CATEGORIES.map((c) => c[0]).filter((c) => f.categories.has(c))}));
    }
    if (q.has('comment') && a.comment.trim()) out.comment = a.comment;
    if (q.has('correction') && a.correction.trim()) out.correction = a.correction;
    return out;
  }

  // What is still missing, as [text, element] pairs, in page order.
  function problems() {
    const a = state.answers;
    const q = state.questions;
    const out = [];
    if (q.has('pairwise') && !$('q-pairwise').hidden && !a.pairwise) {
      out.push(['which response is better (a, b, t or x)', $('q-pairwise')]);
    }
    a.ratings.forEach((v, p) => {
      if (q.has('rating') && !Number.isInteger(v)) out.push([`a rating for ${label(p)}`, card(p).querySelector('.q-rating')]);
    });
    a.flags.forEach((f, p) => {
      if (!q.has('flag')) return;
      if (f.approved === null) out.push([`approve or flag ${label(p)}`, card(p).querySelector('.q-flag')]);
      else if (f.approved === false && !f.categories.size) {
        out.push([`a category for flagged ${label(p)}`, card(p).querySelector('.q-flag')]);
      }
    });
    if (q.has('ranking') && !a.rankGiven) out.push(['a ranking (drag rows, or confirm the order)', $('q-ranking')]);
    return out;
  }

  function clearInvalid() {
    for (const el of document.querySelectorAll('#task-view .invalid')) {
      el.classList.remove('invalid');
      el.removeAttribute('aria-invalid');
    }
  }

  function markInvalid(el) {
    if (!el) return;
    el.classList.add('invalid');
    el.setAttribute('aria-invalid', 'true');
  }

  // The element a server error's `field` points at (answers.ratings[1] → B's rating).
  function fieldElement(field) {
    const m = /^answers\.(\w+)(?:\[(\d+)\])?/.exec(field || '');
    if (!m) return null;
    const p = m[2] === undefined ? 0 : Number(m[2]);
    const c = card(p);
    switch (m[1]) {
      case 'pairwise': return $('q-pairwise');
      case 'ranks': return $('q-ranking');
      case 'ratings': return c && c.querySelector('.q-rating');
      case 'flags': return c && c.querySelector('.q-flag');
      case 'comment': return $('q-comment');
      case 'correction': return $('q-correction');
      default: return null;
    }
  }

  function setBusy(on) {
    state.busy = on;
    $('submit').disabled = on;
    $('skip').disabled = on;
    $('task-view').setAttribute('aria-busy', String(on));
  }

  async function submit() {
    if (!state.task || state.busy) return;
    clearInvalid();
    const missing = problems();
    if (missing.length) {
      for (const [, el] of missing) markInvalid(el);
      showMessage('Still needed: ' + missing.map((m) => m[0]).join('; ') + '.', 'error');
      missing[0][1].scrollIntoView({block: 'center'});
      const first = missing[0][1].querySelector('button, input, [tabindex]');
      if (first) first.focus({preventScroll: true});
      return;
    }
    const lease = state.task.lease_id;
    const body = {answers: collectAnswers(), seconds_spent: Math.round(elapsedSeconds() * 10) / 10};
    cancelDraft();
    setBusy(true);
    try {
      await api('POST', `/api/v1/tasks/${encodeURIComponent(lease)}/submit`, body);
    } catch (e) {
      setBusy(false);
      if (e.status === 409) {
        showMessage('This task expired, loading another…', 'warn');
        await loadNext();
      } else if (e.status === 400) {
        const el = fieldElement(e.field);
        markInvalid(el);
        if (el) el.scrollIntoView({block: 'center'});
        showMessage('Not accepted: ' + e.message, 'error');
      } else if (e.status === 429) {
        showMessage('Slow down — too many submissions. Wait a few seconds and submit again.', 'warn');
      } else {
        handleError(e);
      }
      return;
    }
    showMessage('Submitted.', 'ok');
    loadMe().catch(() => {});  // progress; not on the critical path
    await loadNext();
  }

  async function skip() {
    if (!state.task || state.busy) return;
    const lease = state.task.lease_id;
    cancelDraft();
    setBusy(true);
    try {
      await api('POST', `/api/v1/tasks/${encodeURIComponent(lease)}/skip`);
      showMessage('Skipped.', 'ok');
    } catch (e) {
      setBusy(false);
      if (e.status === 409) {
        showMessage('This task expired, loading another…', 'warn');
      } else if (e.status === 429) {
        showMessage('Slow down — too many requests. Wait a few seconds and skip again.', 'warn');
        return;
      } else {
        handleError(e);
        return;
      }
    }
    await loadNext();
  }

  function cancelDraft() {
    clearTimeout(state.draftTimer);
    state.draftTimer = 0;
  }

  // Debounced: a draft at most every DRAFT_DELAY_MS of quiet. Failures are not worth an error
  // message (the submit is what counts); a lost lease shows up on submit.
  function scheduleDraft() {
    if (!state.task) return;
    cancelDraft();
    const lease = state.task.lease_id;
    state.draftTimer = setTimeout(async () => {
      if (!state.task || state.task.lease_id !== lease || state.busy) return;
      try {
        await api('PUT', `/api/v1/tasks/${encodeURIComponent(lease)}/draft`, {answers: collectAnswers()});
        if (state.task && state.task.lease_id === lease) {
          $('draft-state').textContent = 'Draft saved ' + new Date().toLocaleTimeString();
        }
      } catch (_) { /* see above */ }
    }, DRAFT_DELAY_MS);
  }

  // ---- time spent: counted only while the page is visible -------------------------------

  const timer = {accumulated: 0, since: 0, running: false};
  function timerStart() {
    timer.accumulated = 0;
    timer.since = performance.now();
    timer.running = !document.hidden;
  }
  function elapsedSeconds() {
    const ms = timer.accumulated + (timer.running ? performance.now() - timer.since : 0);
    return Math.min(86400, ms / 1000);
  }
  document.addEventListener('visibilitychange', () => {
    if (document.hidden && timer.running) {
      timer.accumulated += performance.now() - timer.since;
      timer.running = false;
    } else if (!document.hidden && !timer.running && state.task) {
      timer.since = performance.now();
      timer.running = true;
    }
  });

  // ---- dialogs and keyboard -------------------------------------------------------------

  function toggleDialog(id) {
    const d = $(id);
    if (d.open) {
      d.close();
      return;
    }
    for (const other of document.querySelectorAll('dialog[open]')) other.close();
    d.showModal();
  }

  function buildHelp() {
    const rows = $('shortcut-rows');
    rows.replaceChildren();
    for (const [keys, action] of SHORTCUTS) {
      const cell = h('td');
      keys.split(/\s{2,}/).forEach((part) => {
        if (/^(or|then|\/)/.test(part)) cell.append(` ${part} `);
        else cell.append(kbd(part));
      });
      rows.append(h('tr', {}, cell, h('td', {text: action})));
    }
  }

  function isTyping(t) {
    if (!t || !t.tagName) return false;
    if (t.isContentEditable || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT') return true;
    return t.tagName === 'INPUT' && !['radio', 'checkbox', 'button', 'submit', 'reset', 'range'].includes(t.type);
  }

  function onKey(e) {
    if (e.defaultPrevented || e.isComposing) return;
    const t = e.target;
    const dialog = document.querySelector('dialog[open]');
    const taskShown = !!state.task && !$('task-view').hidden;

    // Ctrl+Enter submits from anywhere, text boxes included (that is what it is for).
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      if (!dialog && taskShown && !e.repeat) {
        e.preventDefault();
        submit();
      }
      return;
    }
    if (isTyping(t)) {
      if (e.key === 'Escape') {
        e.preventDefault();
        t.blur();
        $('task-view').focus({preventScroll: true});
      }
      return;  // typing: no shortcut fires
    }
    if (e.altKey || e.ctrlKey || e.metaKey) return;  // leave browser shortcuts alone

    if (dialog) {
      if ((e.key === 'g' && dialog.id === 'guidelines-dialog') || (e.key === '?' && dialog.id === 'help-dialog')) {
        e.preventDefault();
        dialog.close();
      }
      return;  // Esc closes natively
    }
    if (e.key === '?') {
      e.preventDefault();
      toggleDialog('help-dialog');
      return;
    }
    if (e.key === 'g' && state.campaign) {
      e.preventDefault();
      toggleDialog('guidelines-dialog');
      return;
    }
    if (!taskShown || state.busy) return;

    const q = state.questions;
    const k = state.answers.ratings.length;
    if (state.prefix) {
      const prefix = state.prefix;
      state.prefix = null;
      clearMessage();
      if (prefix === 'r' && /^[1-7]$/.test(e.key)) {
        e.preventDefault();
        setRating(state.active, Number(e.key));
        setActive(Math.min(k - 1, state.active + 1));
        return;
      }
      if (prefix === 'f' && /^[1-6]$/.test(e.key)) {
        e.preventDefault();
        toggleCategory(state.active, CATEGORIES[Number(e.key) - 1][0]);
        state.prefix = 'f';  // more categories may follow
        return;
      }
      if (e.key === 'Escape') return;
      // Anything else: the prefix is dropped and the key does what it normally does.
    }

    const run = (fn) => {
      e.preventDefault();
      fn();
    };
    switch (e.key) {
      case 'a': case '1': if (q.has('pairwise')) run(() => setPairwise('a')); break;
      case 'b': case '2': if (q.has('pairwise')) run(() => setPairwise('b')); break;
      case 't': if (q.has('pairwise')) run(() => setPairwise('tie')); break;
      case 'x': if (q.has('pairwise')) run(() => setPairwise('both_bad')); break;
      case '[': run(() => setActive(state.active - 1)); break;
      case ']': run(() => setActive(state.active + 1)); break;
      case 'r':
        if (q.has('rating')) {
          run(() => {
            state.prefix = 'r';
            showMessage(`Rating for ${label(state.active)}: press 1–7 (Esc cancels).`, 'info');
          });
        }
        break;
      case 'o': if (q.has('flag')) run(() => setFlag(state.active, true)); break;
      case 'f':
        if (q.has('flag')) {
          run(() => {
            setFlag(state.active, false);
            state.prefix = 'f';
            showMessage(`${label(state.active)} flagged: press 1–6 to toggle categories (Esc ends).`, 'info');
          });
        }
        break;
      case 'k':
        if (q.has('ranking')) run(() => $('rank-list').querySelector('.rank-item').focus());
        break;
      case 'c': if (q.has('comment')) run(() => $('comment').focus()); break;
      case 'e': if (q.has('correction')) run(() => $('correction').focus()); break;
      case 's': if (!e.repeat) run(skip); break;
      case 'Enter':
        // On a button or link Enter keeps its own meaning (press it).
        if (!e.repeat && !t.closest('button, a, summary')) run(submit);
        break;
      case 'Escape': clearMessage(); break;
      default: break;
    }
  }

  function wireStatic() {
    document.addEventListener('keydown', onKey);
    for (const b of document.querySelectorAll('#q-pairwise [data-pairwise]')) {
      b.addEventListener('click', () => setPairwise(b.dataset.pairwise));
    }
    const list = $('rank-list');
    list.addEventListener('keydown', onRankKey);
    list.addEventListener('pointerdown', onRankPointerDown);
    $('rank-confirm').addEventListener('click', () => rankingChanged());
    $('comment').addEventListener('input', (e) => {
      state.answers.comment = e.target.value;
      scheduleDraft();
    });
    $('correction').addEventListener('input', (e) => {
      state.answers.correction = e.target.value;
      scheduleDraft();
    });
    $('retry-button').addEventListener('click', () => {
      clearMessage();
      showView('loading');
      loadNext();
    });
    $('submit').addEventListener('click', submit);
    $('skip').addEventListener('click', skip);
    $('guidelines-button').addEventListener('click', () => toggleDialog('guidelines-dialog'));
    $('help-button').addEventListener('click', () => toggleDialog('help-dialog'));
    $('campaigns-button').addEventListener('click', backToCampaigns);
    $('done-campaigns-button').addEventListener('click', backToCampaigns);
    $('logout-button').addEventListener('click', logout);
    for (const d of document.querySelectorAll('dialog')) {
      d.addEventListener('click', (e) => {
        if (e.target.closest('[data-close]')) {
          d.close();
          return;
        }
        // A click outside the dialog's box lands on the dialog element (its backdrop): close.
        const r = d.getBoundingClientRect();
        const outside = e.clientX < r.left || e.clientX > r.right || e.clientY < r.top || e.clientY > r.bottom;
        if (e.target === d && outside && e.detail > 0) d.close();
      });
    }
    $('task-view').tabIndex = -1;
    $('prompt-title').tabIndex = -1;
  }

  async function backToCampaigns() {
    cancelDraft();
    clearMessage();
    try {
      await loadMe();
    } catch (e) {
      handleError(e);
      return;
    }
    showCampaigns();
  }

  async function logout() {
    cancelDraft();
    try {
      await api('POST', '/api/v1/logout');
    } catch (_) { /* logged out either way, locally */ }
    setCsrf(null);
    state.me = null;
    state.campaign = null;
    clearMessage();
    showLogin('Logged out', 'Open your invite link to log in again.');
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();

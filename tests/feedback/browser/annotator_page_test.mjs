// Headless-Chromium test of the rein-feedback annotator page against a running server.
//
//   node tests/feedback/browser/annotator_page_test.mjs \
//       --url http://127.0.0.1:PORT --invite TOKEN [--screenshot DIR] [--chromium /usr/bin/chromium]
//
// It logs in through the invite link, then goes through every campaign the annotator sees and,
// whatever questions a campaign asks, judges tasks with real mouse clicks and key presses (the
// page's shortcuts), skips one, opens and closes the guidelines and the help, checks that
// hostile responses (<script>, <img onerror>) are shown as text and never run, and that the
// page fits a 375 px phone. Each check prints PASS or FAIL; exit 0 only when all pass. The run is
// bounded: every wait has a timeout and a watchdog ends it at 60 s.
//
// The campaign is expected to contain responses with `<script>window.__xss=1</script>` and
// `<img src=x onerror="window.__xss=1">`; tasks are judged until both have been seen.
import fs from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const START = Date.now();
const HARD_LIMIT_MS = 60000;
const WORK_BUDGET_MS = 42000;   // stop looking for more tasks after this; leaves time to finish
const MAX_TASKS_PER_CAMPAIGN = 8;
const XSS_SCRIPT = '<script>window.__xss=1</script>';
const XSS_IMG = '<img src=x onerror="window.__xss=1">';

// ---- arguments and reporting -----------------------------------------------------------

function parseArgs(argv) {
  const out = {chromium: process.env.PUPPETEER_EXECUTABLE_PATH || '/usr/bin/chromium'};
  for (let i = 0; i < argv.length; i++) {
    const m = /^--(url|invite|screenshot|chromium)(?:=(.*))?$/.exec(argv[i]);
    if (!m) usage(`unknown argument ${argv[i]}`);
    out[m[1]] = m[2] !== undefined ? m[2] : argv[++i];
    if (out[m[1]] === undefined) usage(`--${m[1]} needs a value`);
  }
  if (!out.url || !out.invite) usage('--url and --invite are required');
  out.url = out.url.replace(/\/+$/, '');
  return out;
}

function usage(msg) {
  console.error(`annotator_page_test: ${msg}\n` +
    'usage: node annotator_page_test.mjs --url http://127.0.0.1:PORT --invite TOKEN [--screenshot DIR] [--chromium PATH]');
  process.exit(2);
}

const results = [];
function check(name, ok, detail) {
  results.push({name, ok: !!ok});
  const line = `${ok ? 'PASS' : 'FAIL'} ${name}${detail ? ' — ' + detail : ''}`;
  (ok ? console.log : console.error)(line);
  return !!ok;
}

// A failure after which the rest of the run makes no sense.
class Fatal extends Error {}
function require_(name, ok, detail) {
  if (!check(name, ok, detail)) throw new Fatal(name);
}

const elapsed = () => Date.now() - START;

// ---- page helpers ------------------------------------------------------------------------

const args = parseArgs(process.argv.slice(2));
let browser;
const watchdog = setTimeout(async () => {
  console.error(`FAIL watchdog — the test did not finish within ${HARD_LIMIT_MS / 1000} s`);
  try { if (browser) browser.process()?.kill('SIGKILL'); } catch (_) { /* exiting anyway */ }
  process.exit(1);
}, HARD_LIMIT_MS - 1500);

// Which view is showing: 'login' | 'loading' | 'campaigns' | 'task' | 'done'.
function currentView(page) {
  return page.evaluate(() => {
    const v = [...document.querySelectorAll('main > .view')].find((e) => !e.hidden);
    return v ? v.id.replace(/-view$/, '') : '';
  });
}

// Waits until the page has settled on a view other than 'loading' and `leaving` (and, for a
// task, on a lease other than `prevLease`, with no request in flight).
async function waitForSettled(page, prevLease, leaving = '', timeout = 10000) {
  await page.waitForFunction((prev, leaving) => {
    const v = [...document.querySelectorAll('main > .view')].find((e) => !e.hidden);
    if (!v || v.id === 'loading-view' || v.id === leaving + '-view') return false;
    if (v.id !== 'task-view') return true;
    return !!v.dataset.lease && v.dataset.lease !== prev && v.getAttribute('aria-busy') !== 'true';
  }, {timeout, polling: 'mutation'}, prevLease || '', leaving);
  return currentView(page);
}

const lease = (page) => page.$eval('#task-view', (e) => e.dataset.lease || '');
const submittedCount = (page) => page.$eval('#progress-text', (e) => Number(e.dataset.submitted || -1));
const nextFrame = (page) => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));

async function apiGet(page, p) {
  return page.evaluate(async (p) => {
    const r = await fetch(p, {credentials: 'same-origin'});
    return {status: r.status, body: await r.json().catch(() => null)};
  }, p);
}

async function screenshot(page, name) {
  if (!args.screenshot) return;
  fs.mkdirSync(args.screenshot, {recursive: true});
  const file = path.join(args.screenshot, name.replace(/[^\w.-]+/g, '_') + '.png');
  await page.screenshot({path: file, fullPage: true});
  console.log(`     screenshot ${file}`);
}

async function pressCtrlEnter(page) {
  await page.keyboard.down('Control');
  await page.keyboard.press('Enter');
  await page.keyboard.up('Control');
}

// ---- checks --------------------------------------------------------------------------------

const seen = {script: false, img: false};

// Hostile markup in responses, prompt or context must stay text: nothing executed, no element
// created, the literal source visible.
async function checkXss(page, where) {
  const r = await page.evaluate(() => {
    const boxes = [...document.querySelectorAll('#responses .response-body, #prompt, #context, #guidelines')];
    const created = boxes.reduce((n, b) => n + b.querySelectorAll('img, script, iframe, object, embed, svg, style, link, form').length, 0);
    const foreignScripts = [...document.scripts].filter((s) => !s.src || !new URL(s.src).pathname.startsWith('/static/')).length;
    // Rendered response text only (the ranking rows repeat it as plain snippets).
    const text = [...document.querySelectorAll('#responses .response-body')].map((b) => b.innerText).join('\n');
    return {xss: typeof window.__xss, created, images: document.images.length, foreignScripts,
            script: text.includes('<script>window.__xss=1</script>'),
            img: text.includes('<img src=x onerror="window.__xss=1">')};
  });
  check(`${where}: no injected script ran (window.__xss undefined)`, r.xss === 'undefined', `typeof window.__xss = ${r.xss}`);
  check(`${where}: no element created from response markup`, r.created === 0 && r.images === 0 && r.foreignScripts === 0,
    `${r.created} elements in content boxes, ${r.images} <img> in the document, ${r.foreignScripts} foreign <script>`);
  if (r.script && !seen.script) check(`${where}: ${XSS_SCRIPT} shown as literal text`, true);
  if (r.img && !seen.img) check(`${where}: ${XSS_IMG} shown as literal text`, true);
  seen.script ||= r.script;
  seen.img ||= r.img;
}

async function checkGuidelinesAndHelp(page, where) {
  await page.keyboard.press('g');
  const opened = await page.waitForSelector('#guidelines-dialog[open]', {timeout: 3000}).then(() => true, () => false);
  check(`${where}: "g" opens the guidelines`, opened);
  if (opened) {
    const text = await page.$eval('#guidelines', (e) => e.innerText.trim());
    check(`${where}: guidelines rendered`, text.length > 0, `${text.length} characters`);
    await page.keyboard.press('g');
    const closed = await page.waitForSelector('#guidelines-dialog:not([open])', {timeout: 3000}).then(() => true, () => false);
    check(`${where}: "g" closes the guidelines`, closed);
  }
  await page.keyboard.press('?');
  const help = await page.waitForSelector('#help-dialog[open]', {timeout: 3000}).then(() => true, () => false);
  const rows = help ? await page.$$eval('#shortcut-rows tr', (r) => r.length) : 0;
  check(`${where}: "?" opens the shortcut help`, help && rows >= 10, `${rows} shortcuts listed`);
  if (help) {
    await page.keyboard.press('Escape');
    const closed = await page.waitForSelector('#help-dialog:not([open])', {timeout: 3000}).then(() => true, () => false);
    check(`${where}: Esc closes the shortcut help`, closed);
  }
}

async function checkPhone(page, where, k, shot) {
  await page.setViewport({width: 375, height: 740, deviceScaleFactor: 1});
  await nextFrame(page);
  const r = await page.evaluate(() => {
    const lefts = [...document.querySelectorAll('#responses .response')].map((c) => Math.round(c.getBoundingClientRect().left));
    return {scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth, lefts};
  });
  check(`${where}: no horizontal overflow at 375 px`, r.scroll <= r.client, `scrollWidth ${r.scroll}, clientWidth ${r.client}`);
  if (k > 1) check(`${where}: responses stacked at 375 px`, new Set(r.lefts).size === 1, `card left edges ${r.lefts.join(', ')}`);
  await screenshot(page, `phone-${shot}`);
  await page.setViewport({width: 1280, height: 900, deviceScaleFactor: 1});
  await nextFrame(page);
  if (k > 1) {
    const tops = await page.$$eval('#responses .response', (cs) => cs.map((c) => Math.round(c.getBoundingClientRect().top)));
    check(`${where}: responses side by side at 1280 px`, new Set(tops).size === 1, `card top edges ${tops.join(', ')}`);
  }
}

// ---- judging one task with real input ------------------------------------------------------

// Clicks a response's title so that it becomes the "current" response the r / o / f keys act on.
async function makeCurrent(page, p) {
  await page.click(`#responses .response[data-pos="${p}"] .response-title`);
}

async function judge(page, where, questions, k) {
  const q = new Set(questions);
  const before = await lease(page);
  const shown = await page.evaluate(() => ({
    pairwise: !document.getElementById('q-pairwise').hidden,
    ranking: !document.getElementById('q-ranking').hidden,
    rating: document.querySelectorAll('#responses .q-rating').length,
    flag: document.querySelectorAll('#responses .q-flag').length,
    comment: !document.getElementById('q-comment').hidden,
    correction: !document.getElementById('q-correction').hidden,
    unlabelled: [...document.querySelectorAll('#task-view input, #task-view textarea')].filter((i) => !i.labels || !i.labels.length).length,
  }));
  check(`${where}: the page shows exactly the questions asked (${questions.join(', ')})`,
    shown.pairwise === (q.has('pairwise') && k === 2) && shown.ranking === q.has('ranking') &&
    shown.rating === (q.has('rating') ? k : 0) && shown.flag === (q.has('flag') ? k : 0) &&
    shown.comment === q.has('comment') && shown.correction === q.has('correction'), JSON.stringify(shown));
  check(`${where}: every input has a label`, shown.unlabelled === 0, `${shown.unlabelled} without`);

  if (shown.pairwise) {
    await page.click('#q-pairwise [data-pairwise="a"]');  // a real mouse click
    const pressed = await page.$eval('#q-pairwise [data-pairwise="a"]', (b) => b.getAttribute('aria-pressed'));
    check(`${where}: click on "A better" selects it`, pressed === 'true');
  }

  if (shown.rating) {
    await makeCurrent(page, 0);
    const want = [];
    for (let p = 0; p < k; p++) {
      const v = 7 - (p % 7);  // 7, 6, 5…: distinct per position, so a mix-up would show
      want.push(v);
      await page.keyboard.press('r');
      await page.keyboard.press(String(v));
    }
    const got = await page.$$eval('#responses .q-rating', (fs) => fs.map((f) => Number(f.querySelector('input:checked')?.value || 0)));
    check(`${where}: "r" + digit rates each response`, JSON.stringify(got) === JSON.stringify(want), `ratings ${got.join(', ')}`);
  }

  if (shown.flag) {
    // A approved by mouse; every other response flagged with the keys (f, 1 = harmful) and a
    // second category ticked with the mouse.
    await page.click('#responses .response[data-pos="0"] .q-flag label:has(input[value="approve"]) span');
    for (let p = 1; p < k; p++) {
      await makeCurrent(page, p);
      await page.keyboard.press('f');
      await page.keyboard.press('1');
      await page.keyboard.press('Escape');
      await page.click(`#responses .response[data-pos="${p}"] .categories label:has(input[value="incorrect"])`);
    }
    const flags = await page.$$eval('#responses .q-flag', (fs) => fs.map((f) => ({
      mode: f.querySelector('input[type=radio]:checked')?.value || '',
      cats: [...f.querySelectorAll('input[type=checkbox]:checked')].map((c) => c.value).join('+'),
    })));
    const ok = flags.every((f, p) => (p === 0 ? f.mode === 'approve' && f.cats === '' : f.mode === 'flag' && f.cats === 'harmful+incorrect'));
    check(`${where}: approve by click, flag by "f" + "1" and a category by click`, ok, JSON.stringify(flags));
  }

  if (shown.ranking) {
    const order = () => page.$$eval('#rank-list .rank-item', (rs) => rs.map((r) => Number(r.dataset.pos)));
    const start = await order();
    // Drag the last row above the first with the mouse (pointer events on the handle).
    const handle = await page.$('#rank-list .rank-item:last-child .rank-handle');
    await handle.scrollIntoView();
    const from = await handle.boundingBox();
    const to = await (await page.$('#rank-list .rank-item:first-child')).boundingBox();
    await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
    await page.mouse.down();
    await page.mouse.move(from.x + from.width / 2, to.y + 3, {steps: 12});
    await page.mouse.up();
    const dragged = await order();
    const wantDrag = [start[start.length - 1], ...start.slice(0, -1)];
    check(`${where}: drag-and-drop moves the last row to the top`, JSON.stringify(dragged) === JSON.stringify(wantDrag),
      `${start.join(',')} → ${dragged.join(',')}`);
    // Keyboard: k focuses the top row, ArrowDown moves it down one, "=" ties it with the row above.
    await page.keyboard.press('k');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('=');
    const after = await order();
    const wantKeys = [dragged[1], dragged[0], ...dragged.slice(2)];
    const badges = await page.$$eval('#rank-list .rank-badge', (bs) => bs.map((b) => b.textContent).join(','));
    const wantBadges = ['1', '1', ...after.slice(2).map((_, i) => String(i + 3))].join(',');
    check(`${where}: ↓ and "=" rank by keyboard with a tie`, JSON.stringify(after) === JSON.stringify(wantKeys) && badges === wantBadges,
      `order ${after.join(',')}, ranks ${badges}`);
  }

  // Type into the text boxes: the text is full of shortcut keys, none of which may fire.
  const typed = 'Both okay: a tie? b is terse, r7 f1 g s x 2 [] — skip nothing!';
  if (shown.comment) {
    await page.click('#comment');
    await page.keyboard.type(typed);
    const r = await page.evaluate(() => ({
      value: document.getElementById('comment').value,
      dialogs: document.querySelectorAll('dialog[open]').length,
      pairwise: document.querySelector('#q-pairwise [aria-pressed="true"]')?.dataset.pairwise || '',
      ratings: [...document.querySelectorAll('#responses .q-rating input:checked')].map((i) => i.value).join(','),
    }));
    check(`${where}: typing a comment fires no shortcut`, r.value === typed && r.dialogs === 0 &&
      (!shown.pairwise || r.pairwise === 'a') && (await lease(page)) === before, JSON.stringify(r));
  }
  if (shown.correction) {
    await page.click('#correction');
    await page.keyboard.type('A corrected answer, with s and g in it.');
  }

  // Submit with the shortcut, from wherever the focus is now (a text box, if any).
  const count = await submittedCount(page);
  const resp = page.waitForResponse((r) => r.url().includes('/submit') && r.request().method() === 'POST', {timeout: 8000});
  await pressCtrlEnter(page);
  const r = await resp.then((x) => x, () => null);
  let detail = r ? `HTTP ${r.status()}` : 'no submit request was sent';
  if (r && r.status() !== 200) {
    detail += ': ' + (await r.text().catch(() => '')) + ' | page says: ' +
      (await page.$eval('#message', (m) => m.textContent).catch(() => ''));
  }
  if (r) {
    const body = JSON.parse(r.request().postData() || '{}');
    check(`${where}: submit sends seconds_spent`, typeof body.seconds_spent === 'number' && body.seconds_spent >= 0,
      `seconds_spent = ${body.seconds_spent}`);
  }
  require_(`${where}: Ctrl+Enter submits the judgement`, r && r.status() === 200, detail);
  const view = await waitForSettled(page, before);
  check(`${where}: after submit the next task (or All done) loads`, view === 'task' || view === 'done', `view ${view}`);
  const progressed = await page.waitForFunction((n) => Number(document.getElementById('progress-text').dataset.submitted) === n,
    {timeout: 5000}, count + 1).then(() => true, () => false);
  check(`${where}: progress shows ${count + 1} submitted`, progressed, `was ${count}, now ${await submittedCount(page)}`);
  return view;
}

async function skipWithKey(page, where) {
  const before = await lease(page);
  const resp = page.waitForResponse((r) => r.url().includes('/skip') && r.request().method() === 'POST', {timeout: 8000});
  await page.keyboard.press('s');
  const r = await resp.then((x) => x, () => null);
  require_(`${where}: "s" skips the task`, r && r.status() === 200, r ? `HTTP ${r.status()}` : 'no skip request was sent');
  const view = await waitForSettled(page, before);
  check(`${where}: after skip the next task (or All done) loads`, view === 'task' || view === 'done', `view ${view}`);
  return view;
}

// ---- one campaign --------------------------------------------------------------------------

const done = {submit: false, skip: false, guidelines: false};

async function runCampaign(page, c, index) {
  const where = `campaign "${c.name}"`;
  let view = await currentView(page);
  if (view === 'campaigns') {
    await page.click(`#campaign-list button[data-campaign="${c.id}"]`);
    view = await waitForSettled(page, '', 'campaigns');
  }
  const info = await apiGet(page, '/api/v1/campaigns/' + encodeURIComponent(c.id));
  const questions = info.body?.questions || [];
  if (view === 'done') {
    console.log(`     ${where}: nothing left to judge`);
    return;
  }
  require_(`${where}: a task is shown`, view === 'task', `view ${view}`);
  const title = await page.$eval('#campaign-name', (e) => e.textContent);
  check(`${where}: header names the campaign`, title === c.name, `"${title}"`);

  let first = true;
  let skipped = false;
  for (let n = 0; n < MAX_TASKS_PER_CAMPAIGN && view === 'task'; n++) {
    const k = await page.$$eval('#responses .response', (cs) => cs.length);
    const labels = await page.$$eval('#responses .response-label', (ls) => ls.map((l) => l.textContent).join(''));
    if (first) check(`${where}: responses labelled A, B, …`, labels === 'ABCDEFGHIJ'.slice(0, k), labels);
    await checkXss(page, `${where} task ${n + 1}`);
    if (first) {
      await screenshot(page, `desktop-${index}-${c.name}`);
      await checkPhone(page, where, k, `${index}-${c.name}`);
      if (!done.guidelines) {
        await checkGuidelinesAndHelp(page, where);
        done.guidelines = true;
      }
      view = await judge(page, `${where} task ${n + 1}`, questions, k);
      done.submit = true;
      first = false;
    } else if (!skipped && !done.skip) {
      view = await skipWithKey(page, `${where} task ${n + 1}`);
      skipped = done.skip = true;
    } else if ((!seen.script || !seen.img) && elapsed() < WORK_BUDGET_MS) {
      view = await judge(page, `${where} task ${n + 1}`, questions, k);  // keep looking for the XSS items
    } else {
      break;
    }
  }
  if (view === 'done') {
    const text = await page.$eval('#done-view', (e) => e.innerText);
    check(`${where}: "All done" screen when nothing is left`, /all done/i.test(text));
  }
}

// ---- main ---------------------------------------------------------------------------------

async function main() {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  browser = await puppeteer.launch({
    executablePath: args.chromium,
    headless: 'new',
    // No sandbox only where Chromium refuses to start with one (as root, in containers).
    args: [...(isRoot ? ['--no-sandbox'] : []), '--disable-dev-shm-usage', '--disable-gpu',
           '--no-first-run', '--no-default-browser-check', '--disable-extensions'],
    defaultViewport: {width: 1280, height: 900, deviceScaleFactor: 1},
    timeout: 20000,
    protocolTimeout: 20000,
  });
  const page = await browser.newPage();
  page.setDefaultTimeout(8000);
  const pageErrors = [];
  const alerts = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('dialog', async (d) => {  // alert()/confirm() would mean injected script ran
    alerts.push(d.message());
    await d.dismiss().catch(() => {});
  });

  // Log in with the invite link.
  await page.goto(`${args.url}/#invite=${encodeURIComponent(args.invite)}`, {waitUntil: 'domcontentloaded', timeout: 10000});
  let view = await waitForSettled(page, '');
  const loc = await page.evaluate(() => location.href);
  check('invite token removed from the address bar', !loc.includes(args.invite) && !loc.includes('invite='), loc);
  if (view === 'login') {
    const text = await page.$eval('#login-view', (e) => e.innerText.replace(/\s+/g, ' '));
    require_('log in with the invite link', false, text);
  }
  const me = await apiGet(page, '/api/v1/me');
  require_('session cookie works (GET /api/v1/me)', me.status === 200, `HTTP ${me.status}`);
  const campaigns = me.body.campaigns || [];
  require_('the annotator has a campaign', campaigns.length > 0, `${campaigns.length} campaigns`);
  if (campaigns.length > 1) {
    check('campaign list shown', view === 'campaigns', `view ${view}`);
  } else {
    check('the only campaign opens directly', view === 'task' || view === 'done', `view ${view}`);
  }

  for (let i = 0; i < campaigns.length; i++) {
    if (i > 0) {
      if (elapsed() > WORK_BUDGET_MS) {
        console.log(`     time budget used up; not visiting the remaining ${campaigns.length - i} campaigns`);
        break;
      }
      const back = (await currentView(page)) === 'done' ? '#done-campaigns-button' : '#campaigns-button';
      await page.click(back);
      await page.waitForSelector('#campaigns-view:not([hidden])', {timeout: 5000});
    }
    await runCampaign(page, campaigns[i], i + 1);
  }

  check('a judgement was submitted', done.submit);
  check('a task was skipped with "s"', done.skip, done.skip ? '' : 'the campaigns ran out of tasks before a skip');
  check('guidelines opened and closed with "g"', done.guidelines);
  check(`a response with ${XSS_SCRIPT} was shown as text`, seen.script, seen.script ? '' : 'never seen in the tasks served');
  check(`a response with ${XSS_IMG} was shown as text`, seen.img, seen.img ? '' : 'never seen in the tasks served');
  check('no alert/confirm dialog appeared', alerts.length === 0, alerts.join(' | '));
  check('no uncaught error in the page', pageErrors.length === 0, pageErrors.join(' | '));
}

let exitCode = 0;
try {
  await main();
} catch (e) {
  if (!(e instanceof Fatal)) check('test ran to the end', false, e.stack || String(e));
}
try {
  if (browser) await browser.close();
} catch (_) { /* the process is going away */ }
clearTimeout(watchdog);
const failed = results.filter((r) => !r.ok);
exitCode = failed.length ? 1 : 0;
console.log(`\n${results.length - failed.length} passed, ${failed.length} failed in ${(elapsed() / 1000).toFixed(1)} s`);
for (const f of failed) console.error(`  failed: ${f.name}`);
process.exit(exitCode);

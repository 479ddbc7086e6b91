// The picsift gallery. Plain JS, no build step. State lives in the URL (?q=… for a
// text search, ?like=ID for "more like this", plus the refinements under their API
// names: ?add=, ?subtract=, ?path=, ?after=, …) so any view can be bookmarked,
// shared and reached with Back; everything else is derived from the API.

const PAGE = 60; // results per page; a multiple of common column counts (2 to 6)
const MAX_RESULTS = 1000; // the API's limit on k
const STATUS_POLL_MS = 5000; // while photos are still being embedded

const $ = (id) => document.getElementById(id);
const form = $('search');
const input = $('q');
const statusLine = $('status');
const notice = $('notice');
const heading = $('heading');
const grid = $('results');
const more = $('more');
const moreButton = $('more-button');
const viewer = $('viewer');
const viewerImg = $('viewer-img');
const viewerTitle = $('viewer-title');
const viewerMeta = $('viewer-meta');
const likeButton = $('like');
const originalLink = $('original');
const refinePanel = $('refine');

/** The refinements the page offers, named as the API's parameters (one value each here). */
const REFINE = ['add', 'subtract', 'path', 'after', 'before', 'camera', 'minWidth', 'threshold'];
/** "More like this" ranks by a photo: text terms do not apply there (the API takes only the filters). */
const TEXT_TERMS = new Set(['add', 'subtract']);
const refineInput = (name) => $(`r-${name}`);

const numbers = new Intl.NumberFormat();

/** The current listing: what was asked, what came back, and how far it was paged. */
const view = { key: '', state: {}, results: [], k: 0, exhausted: true, loading: false, generation: 0 };
let status = null;
let openIndex = -1; // the result shown in the viewer

// ---------- API ----------

async function api(path) {
  const response = await fetch(path, { headers: { accept: 'application/json' } });
  const body = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

// ---------- URL state ----------

function readUrl() {
  const params = new URLSearchParams(location.search);
  // A ?token= link has set the cookie by now; keep the secret out of history and bookmarks.
  if (params.has('token')) {
    params.delete('token');
    const rest = params.toString();
    history.replaceState(null, '', `/${rest ? `?${rest}` : ''}`);
  }
  const refine = refinements((name) => params.get(name));
  const like = params.get('like');
  if (like && /^[1-9][0-9]*$/.test(like)) return { like: Number(like), refine };
  return { q: (params.get('q') || '').trim(), refine };
}

/** The non-empty refinements, read through `value(name)`. */
function refinements(value) {
  const refine = {};
  for (const name of REFINE) {
    const v = (value(name) || '').trim();
    if (v) refine[name] = v;
  }
  return refine;
}

/** The refinements as query parameters, without text terms for a "like" listing. */
function refineQuery(state) {
  const params = new URLSearchParams();
  for (const [name, v] of Object.entries(state.refine || {})) if (!(state.like && TEXT_TERMS.has(name))) params.set(name, v);
  return params.toString();
}

function navigate(state) {
  const base = state.like ? `like=${state.like}` : state.q ? `q=${encodeURIComponent(state.q)}` : '';
  const query = [base, base ? refineQuery(state) : ''].filter(Boolean).join('&');
  const url = query ? `/?${query}` : '/';
  if (url !== location.pathname + location.search) history.pushState(null, '', url);
  show(state);
}

window.addEventListener('popstate', () => {
  if (viewer.open) viewer.close();
  show(readUrl());
});

// ---------- status ----------

async function refreshStatus() {
  try {
    status = await api('/api/status');
    statusLine.textContent =
      `${numbers.format(status.images)} images · ${numbers.format(status.embedded)} embedded · ` +
      `${numbers.format(status.pending)} pending · ${numbers.format(status.failed)} failed`;
  } catch (err) {
    statusLine.textContent = `status unavailable: ${err.message}`;
  }
  renderNotice();
  // Poll only while something is changing (or may start to).
  if (status && (status.pending > 0 || status.images === 0)) setTimeout(refreshStatus, STATUS_POLL_MS);
}

function setNotice(kind, html) {
  notice.className = `notice ${kind}`;
  notice.innerHTML = html;
  notice.hidden = false;
  notice.setAttribute('role', kind === 'error' ? 'alert' : 'status');
}

const escapeHtml = (s) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The one message that matters most right now, if any. */
function renderNotice(error) {
  notice.hidden = true;
  if (error) return setNotice('error', escapeHtml(error));
  if (!status) return;
  if (status.images === 0) {
    return setNotice(
      'empty',
      '<strong>This library is empty.</strong> Add photos with <code>picsift index ~/Pictures</code> ' +
        '(any folders), then search them here.',
    );
  }
  if (status.embedded === 0 && status.pending > 0) {
    return setNotice(
      'embedding',
      `<strong>Still embedding:</strong> none of the ${numbers.format(status.images)} images is searchable yet. ` +
        'Run <code>picsift embed</code> (or <code>picsift index</code>) if it is not running; this page updates by itself.',
    );
  }
  if (status.pending > 0) {
    return setNotice(
      'embedding',
      `<strong>Still embedding:</strong> ${numbers.format(status.embedded)} of ${numbers.format(status.images)} images ` +
        'are searchable so far; search again later for complete results.',
    );
  }
  if (view.key && !view.loading && view.results.length === 0 && status.embedded > 0) {
    return setNotice('quiet', 'No results.');
  }
  if (!view.key && status.embedded > 0) {
    return setNotice('quiet', 'Describe what you are looking for: “red car”, “sky at sunset”, “dog on a beach”…');
  }
}

// ---------- listing ----------

function show(state) {
  input.value = state.q || '';
  for (const name of REFINE) refineInput(name).value = state.refine?.[name] ?? '';
  if (Object.keys(state.refine || {}).length > 0) refinePanel.open = true;
  const base = state.like ? `like:${state.like}` : state.q ? `q:${state.q}` : '';
  view.key = base && `${base}|${refineQuery(state)}`;
  view.state = state;
  view.results = [];
  view.k = 0;
  view.exhausted = !view.key;
  view.generation++;
  grid.replaceChildren();
  heading.hidden = true;
  more.hidden = true;
  document.title = state.q ? `${state.q} — picsift` : state.like ? `like #${state.like} — picsift` : 'picsift';
  if (state.like) showLikeHeading(state.like, view.generation);
  renderNotice();
  if (view.key) loadMore();
}

async function showLikeHeading(id, generation) {
  let name = `#${id}`;
  try {
    name = basename((await api(`/api/images/${id}`)).path);
  } catch {
    // The heading still says which id; the results request reports the error.
  }
  if (generation !== view.generation) return;
  heading.innerHTML = '';
  const img = document.createElement('img');
  img.src = thumbnailUrl(id);
  img.alt = '';
  const text = document.createElement('span');
  text.append('Photos like ');
  const strong = document.createElement('strong');
  strong.textContent = name;
  text.append(strong);
  heading.append(img, text);
  heading.hidden = false;
}

const basename = (path) => path.split(/[\\/]/).pop() || path;
const thumbnailUrl = (id, size) => `/api/images/${id}/thumbnail${size ? `?size=${size}` : ''}`;

/** Asks for a larger k and appends what is new: the API ranks from the top each time. */
async function loadMore() {
  if (view.loading || view.exhausted) return;
  view.loading = true;
  moreButton.disabled = true;
  const generation = view.generation;
  const k = Math.min(view.k + PAGE, MAX_RESULTS);
  const { like, q } = view.state;
  const refine = refineQuery(view.state);
  const path = (like ? `/api/similar/${like}?k=${k}` : `/api/search?q=${encodeURIComponent(q)}&k=${k}`) + (refine ? `&${refine}` : '');
  try {
    const body = await api(path);
    if (generation !== view.generation) return; // a newer search replaced this one
    const seen = new Set(view.results.map((r) => r.id));
    const fresh = body.results.filter((r) => !seen.has(r.id));
    const first = view.results.length;
    view.results.push(...fresh);
    view.k = k;
    view.exhausted = body.results.length < k || k >= MAX_RESULTS;
    appendTiles(fresh, first);
    renderNotice();
  } catch (err) {
    if (generation !== view.generation) return;
    view.exhausted = true;
    renderNotice(err.message);
  } finally {
    if (generation === view.generation) {
      view.loading = false;
      moreButton.disabled = false;
      more.hidden = view.exhausted;
    }
  }
}

function appendTiles(results, first) {
  const items = results.map((result, i) => {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.className = 'tile';
    a.href = `/api/images/${result.id}/file`;
    a.dataset.index = String(first + i);
    a.dataset.id = String(result.id);
    const img = document.createElement('img');
    img.src = result.thumbnail;
    img.alt = basename(result.path);
    img.loading = 'lazy';
    img.decoding = 'async';
    img.width = 400;
    img.height = 400;
    const caption = document.createElement('span');
    caption.className = 'caption';
    const rank = document.createElement('span');
    rank.className = 'rank';
    rank.textContent = String(result.rank);
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = basename(result.path);
    const score = document.createElement('span');
    score.className = 'score';
    score.textContent = result.score.toFixed(3);
    score.title = 'similarity';
    caption.append(rank, name, score);
    a.append(img, caption);
    li.append(a);
    return li;
  });
  grid.append(...items);
}

// Infinite scroll, with the button as the fallback (and for keyboard users).
new IntersectionObserver(
  (entries) => {
    if (entries.some((e) => e.isIntersecting)) loadMore();
  },
  { rootMargin: '600px' },
).observe(more);
moreButton.addEventListener('click', () => loadMore());

// ---------- keyboard in the grid ----------

const tiles = () => [...grid.querySelectorAll('.tile')];

/** Tiles per row, from the layout itself (it changes with the window). */
function columns(all) {
  if (all.length === 0) return 1;
  const top = all[0].getBoundingClientRect().top;
  const n = all.findIndex((t) => t.getBoundingClientRect().top > top + 1);
  return n === -1 ? all.length : n;
}

function focusTile(index) {
  const all = tiles();
  if (all.length === 0) return;
  const target = all[Math.max(0, Math.min(all.length - 1, index))];
  target.focus();
  target.scrollIntoView({ block: 'nearest' });
  // Near the end: fetch the next page so the arrows never hit a wall early.
  if (index >= all.length - columns(all) * 2) loadMore();
}

grid.addEventListener('keydown', (event) => {
  const tile = event.target.closest('.tile');
  if (!tile || event.altKey || event.ctrlKey || event.metaKey) return;
  const index = Number(tile.dataset.index);
  const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns(tiles()), ArrowUp: -columns(tiles()) }[event.key];
  if (step === undefined) {
    if (event.key === 'Home') focusTile(0);
    else if (event.key === 'End') focusTile(tiles().length - 1);
    else return;
  } else if (event.key === 'ArrowUp' && index < columns(tiles())) {
    input.focus();
  } else {
    focusTile(index + step);
  }
  event.preventDefault();
});

input.addEventListener('keydown', (event) => {
  if (event.key === 'ArrowDown' && tiles().length > 0) {
    event.preventDefault();
    focusTile(0);
  }
});

document.addEventListener('keydown', (event) => {
  // Not while typing in any field: folder paths are full of slashes.
  if (event.key === '/' && !viewer.open && !(document.activeElement instanceof HTMLInputElement)) {
    event.preventDefault();
    input.focus();
    input.select();
  }
});

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const q = input.value.trim();
  const refine = refinements((name) => refineInput(name).value);
  // Refining "more like this" (an empty search box) keeps listing that photo's neighbours.
  if (q) navigate({ q, refine });
  else if (view.state.like) navigate({ like: view.state.like, refine });
});

$('r-clear').addEventListener('click', () => {
  for (const name of REFINE) refineInput(name).value = '';
  if (view.key) navigate({ ...view.state, refine: {} });
});

// ---------- viewer ----------

grid.addEventListener('click', (event) => {
  const tile = event.target.closest('.tile');
  if (!tile || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return; // new-tab clicks open the file
  event.preventDefault();
  openViewer(Number(tile.dataset.index));
});

async function openViewer(index) {
  const result = view.results[index];
  if (!result) return;
  openIndex = index;
  // The small thumbnail is cached already: show it at once, swap in the large one when it arrives.
  viewerImg.src = result.thumbnail;
  viewerImg.alt = basename(result.path);
  const large = new Image();
  large.onload = () => {
    if (openIndex === index) viewerImg.src = large.src;
  };
  large.src = thumbnailUrl(result.id, 'large');
  viewerTitle.textContent = basename(result.path);
  originalLink.href = `/api/images/${result.id}/file`;
  likeButton.disabled = false;
  likeButton.dataset.id = String(result.id);
  viewer.dataset.id = String(result.id);
  renderMeta([
    ['Rank', `${result.rank} · score ${result.score.toFixed(3)}`],
    ['Path', result.path],
  ]);
  if (!viewer.open) viewer.showModal();
  likeButton.focus();
  try {
    const info = await api(`/api/images/${result.id}`);
    if (openIndex !== index) return;
    renderMeta([
      ['Rank', `${result.rank} · score ${result.score.toFixed(3)}`],
      ['Path', info.path],
      ['Size', `${formatBytes(info.size)}${info.width ? ` · ${info.width} × ${info.height}` : ''} · ${info.format.toUpperCase()}`],
      ['Taken', info.dateTaken ? formatDate(info.dateTaken) : 'unknown'],
      ['Camera', [info.cameraMake, info.cameraModel].filter(Boolean).join(' ') || 'unknown'],
      ['Modified', new Date(info.modified).toLocaleString()],
      ...(info.available ? [] : [['File', 'missing or no longer an image']]),
    ]);
    likeButton.disabled = info.status !== 'embedded';
  } catch (err) {
    if (openIndex === index)
      renderMeta([
        ['Path', result.path],
        ['Error', err.message],
      ]);
  }
}

function renderMeta(rows) {
  viewerMeta.replaceChildren(
    ...rows.flatMap(([label, value]) => {
      const dt = document.createElement('dt');
      dt.textContent = label;
      const dd = document.createElement('dd');
      dd.textContent = value;
      return [dt, dd];
    }),
  );
}

function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** EXIF times are the camera's wall clock: show them as written, not shifted to this browser's zone. */
function formatDate(iso) {
  const m = iso.match(/^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/);
  return m ? `${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}` : iso;
}

viewer.addEventListener('close', () => {
  const tile = grid.querySelector(`.tile[data-index="${openIndex}"]`);
  openIndex = -1;
  viewerImg.removeAttribute('src');
  // Back to the photo last shown (the dialog itself restores the one that opened
  // it), unless a key pressed meanwhile already moved focus elsewhere, e.g. "/".
  const active = document.activeElement;
  if (!active || active === document.body || active.closest('.tile')) tile?.focus();
});

viewer.addEventListener('keydown', (event) => {
  if (event.key === 'ArrowRight' && openIndex < view.results.length - 1) openViewer(openIndex + 1);
  else if (event.key === 'ArrowLeft' && openIndex > 0) openViewer(openIndex - 1);
  else return;
  event.preventDefault();
});

// A click on the backdrop (outside the dialog's box) closes it, as on most galleries.
viewer.addEventListener('click', (event) => {
  if (event.target === viewer) viewer.close();
});

$('close').addEventListener('click', () => viewer.close());

likeButton.addEventListener('click', () => {
  const id = Number(likeButton.dataset.id);
  viewer.close();
  // The filters stay (same folder, same dates); text terms do not apply to a photo.
  navigate({ like: id, refine: view.state.refine });
  window.scrollTo(0, 0);
});

// ---------- background watcher: live line and new photos (serve --watch) ----------
// Self-contained: polls /api/status while a watcher runs, shows what it is doing
// ("embedding 1,240 of 3,000 new photos · 31/s · about 1 min") under the status
// line, keeps the counts current, and offers to refresh a listing when photos
// were embedded after it was loaded.

const LIVE_POLL_MS = 2000;
const live = document.createElement('p');
live.id = 'live';
live.className = 'live';
live.hidden = true;
live.setAttribute('aria-live', 'polite');
statusLine.after(live);
/** How many photos were embedded when the current listing was loaded. */
const listed = { key: '', embedded: 0 };

function aboutTime(seconds) {
  if (seconds < 60) return `about ${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 5400) return `about ${Math.round(seconds / 60)} min`;
  return `about ${Math.round(seconds / 3600)} h`;
}

function liveText(watch) {
  if (watch.error) return `watching stopped: ${watch.error}`;
  if (watch.run) {
    const { done, total, perSecond, etaSeconds } = watch.run;
    const parts = [`embedding ${numbers.format(done)} of ${numbers.format(total)} new photos`];
    if (perSecond > 0) parts.push(`${numbers.format(Math.round(perSecond))}/s`);
    if (etaSeconds !== null && done < total) parts.push(aboutTime(etaSeconds));
    return parts.join(' · ');
  }
  if (watch.state === 'scanning')
    return `scanning ${numbers.format(watch.roots.length)} watched folder${watch.roots.length === 1 ? '' : 's'}…`;
  if (watch.settling > 0) return `waiting for ${numbers.format(watch.settling)} file${watch.settling === 1 ? '' : 's'} to finish copying`;
  return `watching ${numbers.format(watch.roots.length)} folder${watch.roots.length === 1 ? '' : 's'} · up to date`;
}

function renderLive() {
  const watch = status && status.watch;
  if (!watch) {
    live.hidden = true;
    return;
  }
  live.textContent = liveText(watch);
  live.classList.toggle('working', Boolean(watch.run));
  if (listed.key !== view.key) Object.assign(listed, { key: view.key, embedded: status.embedded });
  const added = status.embedded - listed.embedded;
  if (view.key && !view.loading && added > 0) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'new-photos';
    button.textContent = `${numbers.format(added)} new photo${added === 1 ? '' : 's'} since this search · show`;
    button.addEventListener('click', () => {
      listed.key = '';
      show(view.state);
    });
    live.append(' ', button);
  } else if (listed.embedded > status.embedded) {
    listed.embedded = status.embedded; // photos were removed: count new ones from here
  }
  live.hidden = false;
}

async function liveTick() {
  try {
    status = await api('/api/status');
    statusLine.textContent =
      `${numbers.format(status.images)} images · ${numbers.format(status.embedded)} embedded · ` +
      `${numbers.format(status.pending)} pending · ${numbers.format(status.failed)} failed`;
    renderLive();
    if (!view.loading) renderNotice();
  } catch {
    // The next tick tries again; the status line keeps its last counts.
  }
  if (status && status.watch) setTimeout(liveTick, LIVE_POLL_MS);
}

// ---------- start ----------

refreshStatus();
show(readUrl());
liveTick();

// @ts-check
// The picsift gallery. Plain JS, no build step; type-checked by `npm run lint:types`
// (tsconfig.public.json). State lives in the URL (?q=… for a text search, ?like=ID
// for "more like this", plus the refinements under their API names: ?add=,
// ?subtract=, ?path=, ?after=, …, and the view: ?sort=newest, ?all=1) so any view
// can be bookmarked, shared and reached with Back; everything else comes from the API.

const PAGE = 60; // results per page; a multiple of common column counts (2 to 6)
const MAX_RESULTS = 1000; // the API's limit on k
const STATUS_POLL_MS = 5000; // while photos are still being embedded

/**
 * @typedef {{ rank: number, id: number, path: string, score: number, date: string, match: boolean, thumbnail: string }} Result
 * @typedef {{ score: number, source: 'adaptive' | 'threshold' | 'uncalibrated' }} Cutoff
 * @typedef {{ code: string, scripts: string[], suggestedModel: string, message: string }} Notice
 * @typedef {{ model: string, cutoff: Cutoff, matches: number, weaker: number, sort: Sort, notice?: Notice, results: Result[] }} Ranking
 * @typedef {{ state: string, roots: string[], settling: number, error: string | null,
 *   run: { total: number, done: number, failed: number, perSecond: number, etaSeconds: number | null } | null }} WatchState
 * @typedef {{ images: number, embedded: number, pending: number, failed: number, indexed: number, model: string | null,
 *   library: string, watch?: WatchState | null }} Status
 * @typedef {{ path: string, size: number, format: string, width: number | null, height: number | null, status: string,
 *   modified: string, dateTaken: string | null, cameraMake: string | null, cameraModel: string | null, available: boolean }} ImageInfo
 * @typedef {'score' | 'newest' | 'oldest'} Sort
 * @typedef {Partial<Record<RefineName, string>>} Refinements
 * @typedef {{ q?: string, like?: number, refine: Refinements, sort: Sort, all: boolean, rawAll?: string }} ViewState
 */

/**
 * The element with this id, which the page must have, as the type it must be.
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
function $(id, type) {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`the page lacks #${id}`);
  return element;
}

const form = $('search', HTMLFormElement);
const input = $('q', HTMLInputElement);
const statusLine = $('status', HTMLElement);
const notice = $('notice', HTMLElement);
const heading = $('heading', HTMLElement);
const toolbar = $('toolbar', HTMLElement);
const summary = $('summary', HTMLElement);
const weakerButton = $('weaker', HTMLButtonElement);
const sortButtons = /** @type {HTMLButtonElement[]} */ ([...toolbar.querySelectorAll('button[data-sort]')]);
const grid = $('results', HTMLOListElement);
const more = $('more', HTMLElement);
const moreButton = $('more-button', HTMLButtonElement);
const viewer = $('viewer', HTMLDialogElement);
const viewerImg = $('viewer-img', HTMLImageElement);
const viewerTitle = $('viewer-title', HTMLElement);
const viewerMeta = $('viewer-meta', HTMLElement);
const likeButton = $('like', HTMLButtonElement);
const originalLink = $('original', HTMLAnchorElement);
const refinePanel = $('refine', HTMLDetailsElement);

/** The refinements the page offers, named as the API's parameters (one value each here). */
const REFINE = /** @type {const} */ (['add', 'subtract', 'path', 'after', 'before', 'camera', 'minWidth', 'threshold']);
/** @typedef {typeof REFINE[number]} RefineName */
/** "More like this" ranks by a photo: text terms do not apply there (the API takes only the filters). */
const TEXT_TERMS = new Set(['add', 'subtract']);
/** @param {RefineName} name */
const refineInput = (name) => $(`r-${name}`, HTMLInputElement);
const SORTS = /** @type {const} */ (['score', 'newest', 'oldest']);

const numbers = new Intl.NumberFormat();
const months = new Intl.DateTimeFormat(undefined, { month: 'long', year: 'numeric' });

/**
 * The current listing: what was asked, what came back, and how far it was paged.
 * @type {{ key: string, state: ViewState, results: Result[], ranking: Ranking | null, k: number, exhausted: boolean,
 *   loading: boolean, generation: number, error: string | null }}
 */
const view = {
  key: '',
  state: { refine: {}, sort: 'score', all: false },
  results: [],
  ranking: null,
  k: 0,
  exhausted: true,
  loading: false,
  generation: 0,
  error: null,
};
/** @type {Status | null} */
let status = null;
let openIndex = -1; // the result shown in the viewer

// ---------- API ----------

/**
 * @param {string} path
 * @returns {Promise<any>}
 */
async function api(path) {
  const response = await fetch(path, { headers: { accept: 'application/json' } });
  const body = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

// ---------- URL state ----------

/** @returns {ViewState} */
function readUrl() {
  const params = new URLSearchParams(location.search);
  // A ?token= link has set the cookie by now; keep the secret out of history and bookmarks.
  if (params.has('token')) {
    params.delete('token');
    const rest = params.toString();
    history.replaceState(null, '', `/${rest ? `?${rest}` : ''}`);
  }
  const refine = refinements((name) => params.get(name));
  // Unknown values are sent as they are: the server's message names the parameter.
  const sort = /** @type {Sort} */ (params.get('sort') || 'score');
  const all = params.get('all') || '';
  const viewParams = { sort, all: all === '1' || all === 'true', rawAll: all };
  const like = params.get('like');
  if (like && /^[1-9][0-9]*$/.test(like)) return { like: Number(like), refine, ...viewParams };
  return { q: (params.get('q') || '').trim(), refine, ...viewParams };
}

/**
 * The non-empty refinements, read through `value(name)`.
 * @param {(name: RefineName) => string | null} value
 * @returns {Refinements}
 */
function refinements(value) {
  /** @type {Refinements} */
  const refine = {};
  for (const name of REFINE) {
    const v = (value(name) || '').trim();
    if (v) refine[name] = v;
  }
  return refine;
}

/**
 * The refinements and view settings as query parameters, without text terms for a "like" listing.
 * @param {ViewState} state
 */
function refineQuery(state) {
  const params = new URLSearchParams();
  for (const [name, v] of Object.entries(state.refine || {})) if (!(state.like && TEXT_TERMS.has(name)) && v) params.set(name, v);
  if (state.sort !== 'score') params.set('sort', state.sort);
  if (state.all) params.set('all', '1');
  else if (state.rawAll && state.rawAll !== '0' && state.rawAll !== 'false') params.set('all', state.rawAll);
  return params.toString();
}

/** @param {ViewState} state */
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
    status = /** @type {Status} */ (await api('/api/status'));
    statusLine.textContent =
      `${numbers.format(status.images)} images · ${numbers.format(status.embedded)} embedded · ` +
      `${numbers.format(status.pending)} pending · ${numbers.format(status.failed)} failed`;
    statusLine.title = `library ${status.library}${status.model ? `, model ${status.model}` : ''}`;
  } catch (err) {
    statusLine.textContent = `status unavailable: ${messageOf(err)}`;
  }
  renderNotice();
  // Poll only while something is changing (or may start to).
  if (status && (status.pending > 0 || status.images === 0)) setTimeout(refreshStatus, STATUS_POLL_MS);
}

/**
 * @param {string} kind
 * @param {string} html
 */
function setNotice(kind, html) {
  notice.className = `notice ${kind}`;
  notice.innerHTML = html;
  notice.hidden = false;
  notice.setAttribute('role', kind === 'error' ? 'alert' : 'status');
}

/** @param {string} s */
const escapeHtml = (s) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** @param {unknown} err */
const messageOf = (err) => (err instanceof Error ? err.message : String(err));

/** The one message that matters most right now, if any. */
function renderNotice() {
  notice.hidden = true;
  // A request the server refused (a bad value in the address): its own words, whatever else happens meanwhile.
  if (view.error) return setNotice('error', `<strong>The server refused this search:</strong> ${escapeHtml(view.error)}`);
  if (!status) return;
  if (status.images === 0) {
    return setNotice(
      'empty',
      `<strong>This library is empty:</strong> <code>${escapeHtml(status.library)}</code>. Add photos with ` +
        `<code>picsift --library ${escapeHtml(shellWord(status.library))} index ~/Pictures</code> (any folders), then search them here.`,
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
  const languageNotice = view.ranking?.notice;
  if (languageNotice) {
    const message = languageNotice.message.charAt(0).toUpperCase() + languageNotice.message.slice(1);
    return setNotice('language', `<strong>This model cannot read this query well.</strong> ${escapeHtml(message)}`);
  }
  if (view.key && !view.loading && view.results.length === 0 && status.embedded > 0) {
    if (view.ranking && view.ranking.weaker > 0 && !view.state.all) return; // the summary offers the weaker results
    return setNotice('quiet', 'No results.');
  }
  if (!view.key && status.embedded > 0) {
    return setNotice('quiet', 'Describe what you are looking for: “red car”, “sky at sunset”, “dog on a beach”…');
  }
}

/** @param {string} s a path as a shell word, quoted when it needs to be */
const shellWord = (s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

// ---------- listing ----------

/** @param {ViewState} state */
function show(state) {
  input.value = state.q || '';
  for (const name of REFINE) refineInput(name).value = state.refine?.[name] ?? '';
  if (Object.keys(state.refine || {}).length > 0) refinePanel.open = true;
  const base = state.like ? `like:${state.like}` : state.q ? `q:${state.q}` : '';
  view.key = base && `${base}|${refineQuery(state)}`;
  view.state = state;
  view.results = [];
  view.ranking = null;
  view.error = null;
  view.k = 0;
  view.exhausted = !view.key;
  view.generation++;
  grid.replaceChildren();
  heading.hidden = true;
  more.hidden = true;
  toolbar.hidden = !view.key;
  summary.textContent = '';
  weakerButton.hidden = true;
  for (const button of sortButtons) button.setAttribute('aria-pressed', String(button.dataset.sort === state.sort));
  document.title = state.q ? `${state.q} — picsift` : state.like ? `like #${state.like} — picsift` : 'picsift';
  if (state.like) showLikeHeading(state.like, view.generation);
  renderNotice();
  if (view.key) loadMore();
}

/**
 * @param {number} id
 * @param {number} generation
 */
async function showLikeHeading(id, generation) {
  let name = `#${id}`;
  try {
    name = basename(/** @type {ImageInfo} */ (await api(`/api/images/${id}`)).path);
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

/** @param {string} path */
const basename = (path) => path.split(/[\\/]/).pop() || path;
/** @param {string} path the folder a photo is in, by its own name */
const folderName = (path) => basename(path.split(/[\\/]/).slice(0, -1).join('/') || '/');
/**
 * @param {number} id
 * @param {string} [size]
 */
const thumbnailUrl = (id, size) => `/api/images/${id}/thumbnail${size ? `?size=${size}` : ''}`;

/** Asks for a larger k and shows what is new: the API ranks from the top each time. */
async function loadMore() {
  if (view.loading || view.exhausted) return;
  view.loading = true;
  moreButton.disabled = true;
  const generation = view.generation;
  const k = Math.min(view.k + PAGE, MAX_RESULTS);
  const { like, q } = view.state;
  const refine = refineQuery(view.state);
  const path =
    (like ? `/api/similar/${like}?k=${k}` : `/api/search?q=${encodeURIComponent(q || '')}&k=${k}`) + (refine ? `&${refine}` : '');
  try {
    const body = /** @type {Ranking} */ (await api(path));
    if (generation !== view.generation) return; // a newer search replaced this one
    view.ranking = body;
    // A larger page is the smaller one extended, except when the whole ranking is ordered by date:
    // then a photo that just entered the best k may belong anywhere in the timeline.
    const extends_ = view.results.every((r, i) => body.results[i]?.id === r.id);
    if (extends_) appendTiles(body.results.slice(view.results.length), view.results.length);
    else {
      grid.replaceChildren();
      appendTiles(body.results, 0);
    }
    view.results = body.results;
    view.k = k;
    view.exhausted = body.results.length < k || k >= MAX_RESULTS;
    renderSummary();
    renderNotice();
  } catch (err) {
    if (generation !== view.generation) return;
    view.exhausted = true;
    view.error = messageOf(err);
    renderNotice();
  } finally {
    if (generation === view.generation) {
      view.loading = false;
      moreButton.disabled = false;
      more.hidden = view.exhausted;
    }
  }
}

/** @param {Cutoff} cutoff */
function cutoffText(cutoff) {
  if (cutoff.source === 'uncalibrated') return 'every photo counts as a match: the library is too small to tell matches apart';
  const how = cutoff.source === 'adaptive' ? 'adapted to this search' : 'the score you set';
  return `matches score at least ${cutoff.score.toFixed(3)} (${how})`;
}

/** The line over the grid: how many matched, where the cut-off lies, and the way to the weaker results. */
function renderSummary() {
  const ranking = view.ranking;
  if (!ranking) return;
  const matches = numbers.format(ranking.matches);
  const noun = ranking.matches === 1 ? 'match' : 'matches';
  let text;
  if (view.state.all) text = `${matches} ${noun} and ${numbers.format(ranking.weaker)} weaker results · ${cutoffText(ranking.cutoff)}`;
  else if (ranking.matches === 0) text = `No matches · ${cutoffText(ranking.cutoff)}`;
  else text = `${matches} ${noun}${ranking.matches >= view.k ? '+' : ''} · ${cutoffText(ranking.cutoff)}`;
  summary.textContent = text;
  summary.title =
    'Each score is the cosine similarity between the photo and the query in the model’s space (higher is closer). ' +
    'Which scores count as matches depends on the model and the query, so the cut-off is set for each search ' +
    'from how the query scores across the library.';
  const offerWeaker = !view.state.all && ranking.weaker > 0 && view.exhausted;
  weakerButton.hidden = !(offerWeaker || view.state.all);
  weakerButton.textContent = view.state.all ? 'Show matches only' : `Show ${numbers.format(ranking.weaker)} weaker results`;
}

/**
 * @param {Result[]} results
 * @param {number} first the index of the first of them in the listing
 */
function appendTiles(results, first) {
  const byDate = view.state.sort !== 'score';
  /** @type {HTMLLIElement[]} */
  const items = [];
  let previous = first > 0 ? view.results[first - 1] : null;
  results.forEach((result, i) => {
    const month = result.date.slice(0, 7);
    if (byDate && (!previous || previous.date.slice(0, 7) !== month)) items.push(monthHeading(result.date));
    if (!byDate && !result.match && (!previous || previous.match)) items.push(cutoffDivider());
    items.push(tile(result, first + i));
    previous = result;
  });
  grid.append(...items);
}

/** @param {string} date "YYYY-MM-DDTHH:MM:SS", local wall-clock time */
function monthHeading(date) {
  const li = document.createElement('li');
  li.className = 'month';
  const h = document.createElement('h2');
  h.textContent = months.format(new Date(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, 1));
  h.dataset.month = date.slice(0, 7);
  li.append(h);
  return li;
}

function cutoffDivider() {
  const li = document.createElement('li');
  li.className = 'divider';
  const cutoff = view.ranking?.cutoff;
  li.textContent = `Weaker results, below the cut-off${cutoff && cutoff.source !== 'uncalibrated' ? ` (${cutoff.score.toFixed(3)})` : ''}`;
  return li;
}

/**
 * @param {Result} result
 * @param {number} index
 */
function tile(result, index) {
  const li = document.createElement('li');
  const a = document.createElement('a');
  a.className = result.match ? 'tile' : 'tile weaker';
  a.href = `/api/images/${result.id}/file`;
  a.dataset.index = String(index);
  a.dataset.id = String(result.id);
  a.title = result.path;
  const img = document.createElement('img');
  img.src = result.thumbnail;
  img.alt = basename(result.path);
  img.loading = 'lazy';
  img.decoding = 'async';
  img.width = 400;
  img.height = 400;
  const caption = document.createElement('span');
  caption.className = 'caption';
  const top = document.createElement('span');
  top.className = 'line';
  const rank = document.createElement('span');
  rank.className = 'rank';
  rank.textContent = String(result.rank);
  const name = document.createElement('span');
  name.className = 'name';
  name.textContent = basename(result.path);
  const score = document.createElement('span');
  score.className = 'score';
  score.textContent = result.score.toFixed(3);
  score.title = scoreTitle(result);
  top.append(rank, name, score);
  const meta = document.createElement('span');
  meta.className = 'line meta';
  const folder = document.createElement('span');
  folder.className = 'folder';
  folder.textContent = folderName(result.path);
  const date = document.createElement('time');
  date.className = 'date';
  date.dateTime = result.date;
  date.textContent = result.date.slice(0, 10);
  meta.append(folder, date);
  caption.append(top, meta);
  a.append(img, caption);
  li.append(a);
  return li;
}

/** @param {Result} result */
function scoreTitle(result) {
  const cutoff = view.ranking?.cutoff;
  const where =
    !cutoff || cutoff.source === 'uncalibrated' ? '' : ` ${result.match ? 'A match' : 'Below the cut-off'}: ${cutoffText(cutoff)}.`;
  return `Similarity ${result.score.toFixed(3)}: the cosine between this photo and the query (1 = the same direction).${where}`;
}

// Infinite scroll, with the button as the fallback (and for keyboard users).
new IntersectionObserver(
  (entries) => {
    if (entries.some((e) => e.isIntersecting)) loadMore();
  },
  { rootMargin: '600px' },
).observe(more);
moreButton.addEventListener('click', () => loadMore());

weakerButton.addEventListener('click', () => navigate({ ...view.state, all: !view.state.all }));

for (const button of sortButtons) {
  button.addEventListener('click', () => {
    const sort = /** @type {Sort} */ (button.dataset.sort);
    if (SORTS.includes(sort) && sort !== view.state.sort) navigate({ ...view.state, sort });
  });
}

// ---------- keyboard in the grid ----------

const tiles = () => /** @type {HTMLAnchorElement[]} */ ([...grid.querySelectorAll('.tile')]);

/**
 * Tiles per row, from the layout itself (it changes with the window).
 * @param {HTMLElement[]} all
 */
function columns(all) {
  if (all.length === 0) return 1;
  const top = all[0].getBoundingClientRect().top;
  const n = all.findIndex((t) => t.getBoundingClientRect().top > top + 1);
  return n === -1 ? all.length : n;
}

/** @param {number} index */
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
  const tile = event.target instanceof Element ? event.target.closest('.tile') : null;
  if (!(tile instanceof HTMLElement) || event.altKey || event.ctrlKey || event.metaKey) return;
  const index = Number(tile.dataset.index);
  /** @type {Record<string, number>} */
  const steps = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns(tiles()), ArrowUp: -columns(tiles()) };
  const step = steps[event.key];
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
  // A new search starts with its matches; the order chosen stays.
  const keep = { sort: view.state.sort, all: false };
  // Refining "more like this" (an empty search box) keeps listing that photo's neighbours.
  if (q) navigate({ q, refine, ...keep });
  else if (view.state.like) navigate({ like: view.state.like, refine, ...keep });
});

$('r-clear', HTMLButtonElement).addEventListener('click', () => {
  for (const name of REFINE) refineInput(name).value = '';
  if (view.key) navigate({ ...view.state, refine: {} });
});

// ---------- viewer ----------

grid.addEventListener('click', (event) => {
  const tile = event.target instanceof Element ? event.target.closest('.tile') : null;
  if (!(tile instanceof HTMLElement) || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return; // new-tab clicks open the file
  event.preventDefault();
  openViewer(Number(tile.dataset.index));
});

/** @param {number} index */
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
  const rankRow = /** @type {[string, string]} */ ([
    'Rank',
    `${result.rank} · score ${result.score.toFixed(3)}${result.match ? '' : ' (below the cut-off)'}`,
  ]);
  renderMeta([rankRow, ['Path', result.path]]);
  if (!viewer.open) viewer.showModal();
  likeButton.focus();
  try {
    const info = /** @type {ImageInfo} */ (await api(`/api/images/${result.id}`));
    if (openIndex !== index) return;
    renderMeta([
      rankRow,
      ['Path', info.path],
      ['Size', `${formatBytes(info.size)}${info.width ? ` · ${info.width} × ${info.height}` : ''} · ${info.format.toUpperCase()}`],
      ['Taken', info.dateTaken ? formatDate(info.dateTaken) : 'unknown'],
      ['Camera', [info.cameraMake, info.cameraModel].filter(Boolean).join(' ') || 'unknown'],
      ['Modified', new Date(info.modified).toLocaleString()],
      ...(info.available ? [] : [/** @type {[string, string]} */ (['File', 'missing or no longer an image'])]),
    ]);
    likeButton.disabled = info.status !== 'embedded';
  } catch (err) {
    if (openIndex === index)
      renderMeta([
        ['Path', result.path],
        ['Error', messageOf(err)],
      ]);
  }
}

/** @param {[string, string][]} rows */
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

/** @param {number} n */
function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * EXIF times are the camera's wall clock: show them as written, not shifted to this browser's zone.
 * @param {string} iso
 */
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
  if (!active || active === document.body || active.closest('.tile')) if (tile instanceof HTMLElement) tile.focus();
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

$('close', HTMLButtonElement).addEventListener('click', () => viewer.close());

likeButton.addEventListener('click', () => {
  const id = Number(likeButton.dataset.id);
  viewer.close();
  // The filters and the order stay (same folder, same dates); text terms do not apply to a photo.
  navigate({ like: id, refine: view.state.refine, sort: view.state.sort, all: false });
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

/** @param {number} seconds */
function aboutTime(seconds) {
  if (seconds < 60) return `about ${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 5400) return `about ${Math.round(seconds / 60)} min`;
  return `about ${Math.round(seconds / 3600)} h`;
}

/** @param {WatchState} watch */
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
  if (!status || !watch) {
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
    const current = /** @type {Status} */ (await api('/api/status'));
    status = current;
    statusLine.textContent =
      `${numbers.format(current.images)} images · ${numbers.format(current.embedded)} embedded · ` +
      `${numbers.format(current.pending)} pending · ${numbers.format(current.failed)} failed`;
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

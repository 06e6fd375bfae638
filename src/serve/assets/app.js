// jobq dashboard: plain JavaScript, no build step. Data from the JSON API (/api), live
// updates from server-sent events read with fetch() (so the bearer token can be sent).
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const TOKEN_KEY = "jobq.token";
const STATES = ["active", "queued", "scheduled", "dead", "cancelled", "completed", "failed"];

// ---------- DOM helper (text only: nothing from the server is parsed as HTML) ----------
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const fmt = new Intl.NumberFormat();
const num = (n) => fmt.format(n || 0);

function span(ms) {
  if (ms === null || ms === undefined) return "–";
  const s = ms / 1000;
  if (s < 1) return `${Math.round(ms)}ms`;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}
const ago = (t) => (t ? `${span(Date.now() - new Date(t).getTime())} ago` : "–");
const when = (t) => (t ? `${new Date(t).toLocaleString()} (${ago(t)})` : "–");
const badge = (state) => h("span", { class: `badge ${state}` }, state);
const jobLink = (id) => h("a", { href: `#/job/${encodeURIComponent(id)}`, class: "mono" }, id);

function toast(text, bad) {
  const t = $("#toast");
  t.textContent = text;
  t.className = bad ? "toast bad" : "toast";
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (t.hidden = true), 4000);
}

// ---------- API ----------
function headers(extra) {
  const hd = Object.assign({}, extra);
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) hd.Authorization = `Bearer ${token}`;
  return hd;
}

let loginWait = null;
function askToken(message) {
  if (!loginWait) {
    loginWait = new Promise((resolve) => {
      const dlg = $("#login");
      const err = $("#login-error");
      err.hidden = !message;
      err.textContent = message || "";
      dlg.addEventListener("close", function done() {
        dlg.removeEventListener("close", done);
        const token = $("#login-token").value.trim();
        if (token) sessionStorage.setItem(TOKEN_KEY, token);
        loginWait = null;
        resolve();
      });
      dlg.showModal();
    });
  }
  return loginWait;
}

// A 401: forget the token that was refused (if any) and ask for one, saying why.
function refused() {
  const had = sessionStorage.getItem(TOKEN_KEY);
  sessionStorage.removeItem(TOKEN_KEY);
  return askToken(had ? "That token was not accepted." : "");
}

async function api(path, opts = {}) {
  for (;;) {
    const init = { method: opts.method || "GET", headers: headers() };
    if (init.method !== "GET") {
      // The JSON content type is what the server's cross-site protection asks for.
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(opts.body || {});
    }
    const res = await fetch(path, init);
    if (res.status === 401) {
      await refused();
      continue;
    }
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.error || `${res.status} ${res.statusText}`);
    return body;
  }
}

// Server-sent events over fetch (EventSource cannot send a token). Reconnects with
// Last-Event-ID, so the server resumes exactly after the last event seen.
function stream(path, onEvent, onState, from) {
  const ctl = new AbortController();
  let lastId = from || null;
  let stopped = false;
  async function run() {
    while (!stopped) {
      let ended = false;
      try {
        const hd = headers({ Accept: "text/event-stream" });
        if (lastId) hd["Last-Event-ID"] = lastId;
        const res = await fetch(path, { headers: hd, signal: ctl.signal });
        if (res.status === 401) {
          await refused();
          continue;
        }
        if (!res.ok) throw new Error(`${res.status}`);
        onState && onState(true);
        const reader = res.body.getReader();
        const dec = new TextDecoder();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          let cut;
          while ((cut = buf.indexOf("\n\n")) >= 0) {
            const block = buf.slice(0, cut);
            buf = buf.slice(cut + 2);
            let data = "";
            let id = null;
            for (const line of block.split("\n")) {
              if (line.startsWith("data:")) data += line.slice(5).trimStart();
              else if (line.startsWith("id:")) id = line.slice(3).trim();
            }
            if (id) lastId = id;
            if (data) onEvent(JSON.parse(data));
          }
        }
        ended = true;
      } catch (e) {
        if (stopped || e.name === "AbortError") return;
      }
      onState && onState(false);
      if (ended && opts_endsOnClose(path)) return;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  run();
  return { close() { stopped = true; ctl.abort(); } };
}
// A job's stream ends when the job ends: no reconnect then.
const opts_endsOnClose = (path) => /^\/api\/jobs\//.test(path);

function throttle(fn, ms) {
  let timer = null;
  let again = false;
  return function run() {
    if (timer) { again = true; return; }
    fn();
    timer = setTimeout(() => { timer = null; if (again) { again = false; run(); } }, ms);
  };
}

function confirmAction(title, text, ok) {
  return new Promise((resolve) => {
    const dlg = $("#confirm");
    $("#confirm-title").textContent = title;
    $("#confirm-text").textContent = text;
    $("#confirm-ok").textContent = ok || "Confirm";
    dlg.returnValue = "";
    dlg.addEventListener("close", function done() {
      dlg.removeEventListener("close", done);
      resolve(dlg.returnValue === "ok");
    });
    dlg.showModal();
  });
}

async function act(title, text, ok, path, body, done) {
  if (!(await confirmAction(title, text, ok))) return;
  try {
    const r = await api(path, { method: "POST", body });
    done && done(r);
  } catch (e) {
    toast(e.message, true);
  }
}

// ---------- live events: one stream for the whole page ----------
const listeners = new Set();
const BUCKET_MS = 5000;
const BUCKETS = 60;
const rate = { start: Math.floor(Date.now() / BUCKET_MS), done: new Array(BUCKETS).fill(0), failed: new Array(BUCKETS).fill(0) };

// Events are counted in the 5-second bucket of their own time (Redis clock), so the counts of
// the last minutes the page starts from (/api/throughput) draw the same chart as watching live.
function countEvent(ev) {
  const now = Math.floor(Date.now() / BUCKET_MS);
  while (rate.start < now) {
    rate.start++;
    rate.done.shift(); rate.done.push(0);
    rate.failed.shift(); rate.failed.push(0);
  }
  if (!ev.time) return;
  const bucket = Math.floor(new Date(ev.time).getTime() / BUCKET_MS);
  if (ev.event === "completed") addCount(rate.done, bucket, 1);
  if (ev.event === "retry_scheduled" || ev.event === "dead") addCount(rate.failed, bucket, 1);
}

// Adds `n` to the bar of bucket number `bucket` (Unix ms / BUCKET_MS), if it is on the chart.
function addCount(bars, bucket, n) {
  const i = BUCKETS - 1 - (rate.start - bucket);
  if (i >= 0 && i < BUCKETS) bars[i] += n;
}

function setLive(on) {
  const el = $("#live");
  el.className = on ? "live on" : "live off";
  el.textContent = on ? "live" : "reconnecting…";
}

// The chart starts from the server's counts of the last minutes, and the live stream from
// where those counts end (their position, as Last-Event-ID): no event is replayed to the page
// or counted twice. Without the counts (an error), the chart starts empty and fills live.
async function startEvents() {
  let from = null;
  try {
    const t = await api("/api/throughput");
    countEvent({}); // roll the buckets forward to now
    t.completed.forEach((n, k) => addCount(rate.done, t.first + k, n));
    t.failed.forEach((n, k) => addCount(rate.failed, t.first + k, n));
    from = t.position;
  } catch (e) {
    toast(`chart history unavailable: ${e.message}`, true);
  }
  stream("/api/events", (ev) => {
    countEvent(ev);
    for (const l of listeners) l(ev);
  }, setLive, from);
}
startEvents();

// ---------- views ----------
let cleanup = [];
function onCleanup(fn) { cleanup.push(fn); }
function listen(fn) { listeners.add(fn); onCleanup(() => listeners.delete(fn)); }
function every(ms, fn) { const t = setInterval(fn, ms); onCleanup(() => clearInterval(t)); }

function route() {
  cleanup.forEach((f) => f());
  cleanup = [];
  const hash = location.hash.slice(1) || "/";
  const [path, query] = hash.split("?");
  const params = new URLSearchParams(query || "");
  const view = $("#view");
  view.replaceChildren();
  const parts = path.split("/").filter(Boolean);
  const name = parts[0] || "queues";
  for (const a of document.querySelectorAll("#nav a")) {
    a.classList.toggle("active", a.dataset.view === (name === "job" ? "jobs" : name));
  }
  const views = { queues: queuesView, jobs: jobsView, job: jobView, workers: workersView, dlq: dlqView };
  (views[name] || queuesView)(view, params, decodeURIComponent(parts[1] || ""));
}
window.addEventListener("hashchange", route);

function setQuery(base, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  location.hash = s ? `${base}?${s}` : base;
}

// Queues: totals, throughput chart, one row per queue.
function queuesView(view) {
  const cards = h("div", { class: "cards" });
  const canvas = h("canvas", { id: "chart", width: 1000, height: 180 });
  const table = h("div", { class: "panel flush", id: "queues" });
  view.append(
    h("h1", {}, "Queues"),
    cards,
    h("div", { class: "panel" }, h("h2", {}, "Throughput (jobs per 5 s, last 5 minutes)"),
      h("div", { class: "chart-wrap" }, canvas),
      h("div", { class: "legend" }, h("span", {}, h("i", { class: "sw-done" }), "completed"),
        h("span", {}, h("i", { class: "sw-failed" }), "failed attempts"))),
    table,
  );
  for (const [cls, color] of [["sw-done", "#1f9d55"], ["sw-failed", "#d14343"]]) {
    const sw = view.querySelector(`.${cls}`);
    sw.style.background = color;
  }
  const load = throttle(async () => {
    try {
      const r = await api("/api/queues");
      renderQueueCards(cards, r);
      renderQueueTable(table, r, load);
    } catch (e) {
      table.replaceChildren(h("p", { class: "empty error" }, e.message));
    }
  }, 500);
  load();
  listen(load);
  every(5000, load);
  const draw = () => drawChart(canvas);
  draw();
  listen(draw);
  every(1000, draw);
}

function renderQueueCards(cards, r) {
  const t = r.totals;
  const card = (label, value, cls) => h("div", { class: `card ${cls || ""}` },
    h("div", { class: "label" }, label), h("div", { class: "value" }, value));
  cards.replaceChildren(
    card("Queued", num(t.queued)), card("Active", num(t.active), "active"),
    card("Scheduled", num(t.scheduled)), card("Dead", num(t.dead), "dead"),
    card("Done last min", num(t.processed_last_minute)), card("Workers", num(r.workers)),
  );
}

function renderQueueTable(panel, r, reload) {
  if (!r.queues.length) {
    panel.replaceChildren(h("p", { class: "empty" }, "No queues yet: enqueue a job (jobq enqueue TYPE) and it shows up here."));
    return;
  }
  const rows = r.queues.map((q) => h("tr", { "data-queue": q.queue },
    h("td", {}, h("a", { href: `#/jobs?queue=${encodeURIComponent(q.queue)}` }, q.queue), " ",
      q.paused ? badge("paused") : null),
    h("td", { class: "num" }, num(q.queued)),
    h("td", { class: "num" }, num(q.active)),
    h("td", { class: "num" }, num(q.scheduled)),
    h("td", { class: "num" }, q.dead ? h("a", { href: `#/dlq?queue=${encodeURIComponent(q.queue)}` }, num(q.dead)) : "0"),
    h("td", { class: "num" }, num(q.completed)),
    h("td", { class: "num" }, num(q.processed_total)),
    h("td", { class: "num" }, num(q.failed_total)),
    h("td", { class: "num" }, span(q.oldest_queued_age_ms)),
    h("td", { class: "num" }, h("button", {
      class: "secondary small", "data-action": q.paused ? "resume" : "pause",
      onclick: async () => {
        try { await api(`/api/queues/${encodeURIComponent(q.queue)}/${q.paused ? "resume" : "pause"}`, { method: "POST" }); reload(); }
        catch (e) { toast(e.message, true); }
      },
    }, q.paused ? "Resume" : "Pause")),
  ));
  panel.replaceChildren(h("table", {},
    h("thead", {}, h("tr", {}, ...["Queue", "Queued", "Active", "Scheduled", "Dead", "Completed", "Processed", "Failed", "Latency", ""]
      .map((c, i) => h("th", { class: i ? "num" : "" }, c)))),
    h("tbody", {}, rows)));
}

function drawChart(canvas) {
  countEvent({}); // roll the buckets forward
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 1000;
  const hgt = canvas.clientHeight || 180;
  canvas.width = w * dpr;
  canvas.height = hgt * dpr;
  const c = canvas.getContext("2d");
  c.scale(dpr, dpr);
  c.clearRect(0, 0, w, hgt);
  const pad = { l: 36, r: 8, t: 8, b: 20 };
  const max = Math.max(4, ...rate.done, ...rate.failed);
  const x = (i) => pad.l + (i / (BUCKETS - 1)) * (w - pad.l - pad.r);
  const y = (v) => hgt - pad.b - (v / max) * (hgt - pad.t - pad.b);
  c.font = "11px system-ui, sans-serif";
  c.fillStyle = "#98a2b3";
  c.strokeStyle = "#eef0f4";
  c.lineWidth = 1;
  for (const v of [0, max / 2, max]) {
    c.beginPath(); c.moveTo(pad.l, y(v)); c.lineTo(w - pad.r, y(v)); c.stroke();
    c.fillText(String(Math.round(v)), 4, y(v) + 4);
  }
  c.fillText("5 min ago", pad.l, hgt - 4);
  c.fillText("now", w - pad.r - 22, hgt - 4);
  const line = (data, color, fill) => {
    c.beginPath();
    data.forEach((v, i) => (i ? c.lineTo(x(i), y(v)) : c.moveTo(x(i), y(v))));
    c.strokeStyle = color; c.lineWidth = 2; c.stroke();
    if (fill) {
      c.lineTo(x(BUCKETS - 1), y(0)); c.lineTo(x(0), y(0)); c.closePath();
      c.fillStyle = fill; c.fill();
    }
  };
  line(rate.done, "#1f9d55", "rgba(31,157,85,.10)");
  line(rate.failed, "#d14343");
}

function progressBar(job, big) {
  const p = job.progress || {};
  let pct = p.percent;
  if (pct === null || pct === undefined) {
    pct = p.total ? (100 * (p.current || 0)) / p.total : null;
  }
  if (job.state === "completed") pct = 100;
  const cls = job.state === "completed" ? "done" : job.state === "dead" ? "failed" : "";
  const fill = h("div", { class: "fill" });
  fill.style.width = `${Math.max(0, Math.min(100, pct || 0))}%`;
  return h("div", { class: `bar ${big ? "big" : ""} ${cls}`, "data-percent": pct === null ? "" : pct.toFixed(1) }, fill);
}

function jobDetail(job) {
  if (job.state === "active" && job.progress) {
    const p = job.progress;
    const pct = p.percent !== null && p.percent !== undefined ? `${Math.floor(p.percent)}% ` : "";
    return h("span", {}, progressBar(job), ` ${pct}${p.message || ""}`);
  }
  return job.error ? job.error.split("\n")[0] : "";
}

function jobTable(jobs, extra) {
  const rows = jobs.map((j) => h("tr", { "data-id": j.id, "data-state": j.state },
    h("td", {}, jobLink(j.id)),
    h("td", {}, j.type),
    h("td", {}, j.queue),
    h("td", {}, badge(j.state)),
    h("td", { class: "num" }, `${j.attempt}/${j.max_attempts}`),
    h("td", {}, ago(j.created_at)),
    h("td", { class: "detail" }, jobDetail(j)),
    extra ? h("td", { class: "num" }, extra(j)) : null,
  ));
  return h("table", {},
    h("thead", {}, h("tr", {}, ...["Id", "Type", "Queue", "State", "Attempt", "Created", "Detail"].map((c) => h("th", {}, c)),
      extra ? h("th", {}, "") : null)),
    h("tbody", {}, rows));
}

async function queueOptions(select, current) {
  try {
    const r = await api("/api/queues");
    select.replaceChildren(h("option", { value: "" }, "all queues"),
      ...r.queues.map((q) => h("option", { value: q.queue, selected: q.queue === current }, q.queue)));
  } catch (e) { /* the listing shows the error */ }
}

// Jobs: filters, one page, next/first page.
function jobsView(view, params) {
  const f = { queue: params.get("queue") || "", state: params.get("state") || "", type: params.get("type") || "" };
  const cursor = params.get("cursor") || "";
  const qSel = h("select", { name: "queue" }, h("option", { value: "" }, "all queues"));
  queueOptions(qSel, f.queue);
  const sSel = h("select", { name: "state" }, h("option", { value: "" }, "any state"),
    ...STATES.map((s) => h("option", { value: s, selected: s === f.state }, s)));
  const tIn = h("input", { name: "type", value: f.type, placeholder: "any type" });
  const form = h("form", { class: "filters", onsubmit: (e) => {
    e.preventDefault();
    setQuery("/jobs", { queue: qSel.value, state: sSel.value, type: tIn.value.trim() });
  } },
  h("label", {}, "Queue", qSel), h("label", {}, "State", sSel), h("label", {}, "Type", tIn),
  h("button", { type: "submit" }, "Filter"));
  qSel.addEventListener("change", () => form.requestSubmit());
  sSel.addEventListener("change", () => form.requestSubmit());
  const panel = h("div", { class: "panel flush", id: "jobs" });
  view.append(h("h1", {}, "Jobs"), form, panel);
  const load = throttle(async () => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(f)) if (v) q.set(k, v);
    if (cursor) q.set("cursor", cursor);
    q.set("limit", "25");
    try {
      const r = await api(`/api/jobs?${q}`);
      const body = r.jobs.length ? jobTable(r.jobs) : h("p", { class: "empty" }, "No jobs match these filters.");
      const pager = h("div", { class: "pager" },
        cursor ? h("a", { href: "#", onclick: (e) => { e.preventDefault(); setQuery("/jobs", f); } }, "« First page") : h("span", {}),
        r.next_cursor ? h("a", { href: "#", id: "next-page", onclick: (e) => { e.preventDefault(); setQuery("/jobs", { ...f, cursor: r.next_cursor }); } }, "Next page »") : h("span", { class: "muted" }, "last page"));
      panel.replaceChildren(body, pager);
    } catch (e) {
      panel.replaceChildren(h("p", { class: "empty error" }, e.message));
    }
  }, 700);
  load();
  listen((ev) => { if (!f.queue || ev.queue === f.queue) load(); });
}

// One job: live progress, attempts, errors, result.
function jobView(view, params, id) {
  const head = h("h1", {}, h("span", { class: "mono" }, id));
  const body = h("div", {});
  view.append(head, body);
  let job = null;
  const render = () => {
    if (!job) return;
    const canCancel = ["scheduled", "queued", "active"].includes(job.state);
    const canRetry = ["dead", "cancelled"].includes(job.state) || (job.state === "scheduled" && job.attempt > 0);
    head.replaceChildren(h("span", { class: "mono" }, job.id), badge(job.state),
      h("span", { class: "actions" },
        canRetry ? h("button", { "data-action": "retry", onclick: () => act("Retry this job?", `${job.id} is queued again now.`, "Retry",
          `/api/jobs/${encodeURIComponent(job.id)}/retry`, null, reload) }, "Retry") : null,
        canCancel ? h("button", { class: "danger", "data-action": "cancel", onclick: () => act("Cancel this job?",
          `${job.id} will not run${job.state === "active" ? " any further: its handler is stopped" : ""}.`, "Cancel job",
          `/api/jobs/${encodeURIComponent(job.id)}/cancel`, null, reload) }, "Cancel") : null));
    const p = job.progress || {};
    const pctText = p.percent !== null && p.percent !== undefined ? `${Math.floor(p.percent)}%` :
      p.total ? `${Math.floor((100 * (p.current || 0)) / p.total)}%` : job.state === "completed" ? "100%" : "";
    const count = p.current !== null && p.current !== undefined ? (p.total ? `${num(p.current)} / ${num(p.total)}` : num(p.current)) : "";
    const facts = [
      ["Type", job.type], ["Queue", job.queue], ["Attempt", `${job.attempt} of ${job.max_attempts}`],
      ["Created", when(job.created_at)],
      ["Scheduled for", job.scheduled_at && job.scheduled_at !== job.created_at ? when(job.scheduled_at) : null],
      ["Started", job.started_at ? when(job.started_at) : null],
      ["Finished", job.finished_at ? when(job.finished_at) : null],
      ["Worker", job.worker], ["Timeout", job.timeout_ms ? span(job.timeout_ms) : null],
      ["Unique key", job.unique_key], ["Recoveries", job.recoveries || null],
    ].filter(([, v]) => v !== null && v !== undefined && v !== "");
    body.replaceChildren(...[
      h("div", { class: "panel", id: "progress" },
        h("h2", {}, "Progress"),
        progressBar(job, true),
        h("div", { class: "progress-line" }, h("span", { id: "progress-text" }, [pctText, count].filter(Boolean).join("  ·  ") || "no progress reported"),
          h("span", {}, p.message || ""))),
      h("div", { class: "grid2" },
        h("div", { class: "panel" }, h("h2", {}, "Facts"),
          h("dl", { class: "facts" }, facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]))),
        h("div", {},
          h("div", { class: "panel" }, h("h2", {}, "Payload"), h("pre", {}, JSON.stringify(job.payload, null, 2))),
          job.result !== null && job.result !== undefined ?
            h("div", { class: "panel", id: "result" }, h("h2", {}, "Result"), h("pre", {}, JSON.stringify(job.result, null, 2))) : null)),
      job.errors && job.errors.length ? h("div", { class: "panel", id: "errors" }, h("h2", {}, `Errors (${job.errors.length})`),
        h("ul", { class: "errors" }, job.errors.slice().reverse().map((e) => h("li", {},
          h("strong", {}, `Attempt ${e.attempt}`), h("span", { class: "muted" }, ` · ${new Date(e.at).toLocaleString()}`),
          h("pre", {}, e.error))))) : null,
    ].filter(Boolean));
  };
  const reload = async () => {
    try { job = await api(`/api/jobs/${encodeURIComponent(id)}`); render(); follow(); }
    catch (e) { body.replaceChildren(h("p", { class: "panel error" }, e.message)); }
  };
  const refetch = throttle(reload, 300);
  let live = null;
  const follow = () => {
    if (live || !job || ["completed", "dead", "cancelled"].includes(job.state)) return;
    live = stream(`/api/jobs/${encodeURIComponent(id)}/events`, (ev) => {
      if (!job) return;
      job.state = ev.state;
      job.attempt = ev.attempt;
      if (ev.progress) job.progress = ev.progress;
      render();
      // Progress comes in the event; anything else also changes times, errors or the result.
      if (ev.event !== "progress") refetch();
      if (["completed", "dead", "cancelled"].includes(ev.state)) { live && live.close(); live = null; }
    });
  };
  onCleanup(() => live && live.close());
  reload();
}

// Workers and the jobs they run.
function workersView(view) {
  const panel = h("div", { class: "panel flush", id: "workers" });
  view.append(h("h1", {}, "Workers"), panel);
  const load = throttle(async () => {
    try {
      const ws = await api("/api/workers");
      if (!ws.length) { panel.replaceChildren(h("p", { class: "empty" }, "No live workers. Start one with jobq worker.")); return; }
      panel.replaceChildren(h("table", {},
        h("thead", {}, h("tr", {}, ...["Worker", "Host", "Pid", "Queues", "Busy", "Up", "Heartbeat", "Running jobs"].map((c) => h("th", {}, c)))),
        h("tbody", {}, ws.map((w) => {
          const fill = h("div", { class: "fill" });
          fill.style.width = `${(100 * w.jobs.length) / Math.max(1, w.concurrency)}%`;
          return h("tr", { "data-worker": w.id },
            h("td", { class: "mono" }, w.id), h("td", {}, w.host), h("td", {}, w.pid), h("td", {}, w.queues.join(", ")),
            h("td", {}, h("div", { class: "busy" }, h("div", { class: "bar" }, fill), `${w.jobs.length}/${w.concurrency}`)),
            h("td", {}, span(Date.now() - new Date(w.started_at).getTime())), h("td", {}, ago(w.heartbeat_at)),
            h("td", {}, w.jobs.length ? w.jobs.map((j) => h("div", {}, jobLink(j))) : h("span", { class: "muted" }, "idle")));
        }))));
    } catch (e) { panel.replaceChildren(h("p", { class: "empty error" }, e.message)); }
  }, 1000);
  load();
  every(2000, load);
  listen((ev) => { if (ev.event === "started" || ev.event === "completed") load(); });
}

// Dead letters: per-job retry, drain and purge, each behind a confirmation.
function dlqView(view, params) {
  const f = { queue: params.get("queue") || "", type: params.get("type") || "" };
  const cursor = params.get("cursor") || "";
  const qSel = h("select", { name: "queue" }, h("option", { value: "" }, "all queues"));
  queueOptions(qSel, f.queue);
  const tIn = h("input", { name: "type", value: f.type, placeholder: "any type" });
  const form = h("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); setQuery("/dlq", { queue: qSel.value, type: tIn.value.trim() }); } },
    h("label", {}, "Queue", qSel), h("label", {}, "Type", tIn), h("button", { type: "submit" }, "Filter"));
  qSel.addEventListener("change", () => form.requestSubmit());
  const what = () => `${f.type ? `${f.type} ` : ""}dead jobs in ${f.queue ? `queue ${f.queue}` : "every queue"}`;
  const sel = () => ({ queue: f.queue || undefined, type: f.type || undefined });
  const panel = h("div", { class: "panel flush", id: "dlq" });
  view.append(h("h1", {}, "Dead letters", h("span", { class: "actions" },
    h("button", { id: "drain", onclick: () => act("Retry all?", `Every one of the ${what()} is queued again with fresh attempts.`, "Retry all",
      "/api/dlq/drain", sel(), (r) => { toast(`${num(r.total)} jobs requeued`); load(); }) }, "Retry all"),
    h("button", { id: "purge", class: "danger", onclick: () => act("Delete all?", `Every one of the ${what()} is deleted for good.`, "Delete all",
      "/api/dlq/purge", sel(), (r) => { toast(`${num(r.total)} jobs deleted`); load(); }) }, "Delete all"))),
  form, panel);
  const load = throttle(async () => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(f)) if (v) q.set(k, v);
    if (cursor) q.set("cursor", cursor);
    q.set("limit", "25");
    try {
      const r = await api(`/api/dlq?${q}`);
      if (!r.jobs.length) { panel.replaceChildren(h("p", { class: "empty" }, `No ${what()}.`)); return; }
      const retry = (j) => h("button", { class: "small", "data-action": "retry", onclick: () => act("Retry this job?",
        `${j.id} is queued again with fresh attempts.`, "Retry", `/api/jobs/${encodeURIComponent(j.id)}/retry`, null,
        () => { toast(`${j.id} queued`); load(); }) }, "Retry");
      panel.replaceChildren(jobTable(r.jobs, retry), h("div", { class: "pager" },
        cursor ? h("a", { href: "#", onclick: (e) => { e.preventDefault(); setQuery("/dlq", f); } }, "« First page") : h("span", {}),
        r.next_cursor ? h("a", { href: "#", onclick: (e) => { e.preventDefault(); setQuery("/dlq", { ...f, cursor: r.next_cursor }); } }, "Next page »") : h("span", { class: "muted" }, "last page")));
    } catch (e) { panel.replaceChildren(h("p", { class: "empty error" }, e.message)); }
  }, 700);
  load();
  listen((ev) => { if (ev.event === "dead" || ev.event === "requeued" || ev.event === "queued") load(); });
}

route();

// critmin registry dashboard: plain JavaScript, no external libraries (works offline).
// Signing in exchanges the API token once for a session: an HttpOnly cookie this script
// cannot read, and a CSRF token kept only in memory and sent with every write. Nothing is
// stored in the browser's storage.
"use strict";

const STATUS_COLOURS = {
  met: "#2a9d8f", late: "#e9c46a", missed: "#e63946", open: "#457b9d", no_record: "#8d99ae",
};
const STATUS_WORDS = {
  met: "met", late: "late", missed: "missed", open: "open", no_record: "no record",
};
let csrfToken = null;
let me = null;

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (csrfToken && options.method && options.method !== "GET") headers["X-CSRF-Token"] = csrfToken;
  const response = await fetch(`/api${path}`,
    Object.assign({}, options, { headers, credentials: "same-origin" }));
  const body = response.status === 204 ? null : await response.json();
  if (!response.ok) {
    const detail = body && body.detail;
    const message = Array.isArray(detail)
      ? detail.map((d) => `${d.loc.slice(1).join(".")}: ${d.msg}`).join("; ")
      : String(detail);
    throw new Error(`${response.status}: ${message}`);
  }
  return body;
}

function jsonBody(method, payload) {
  return { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload) };
}

function cell(row, value, className) {
  const td = document.createElement("td");
  td.textContent = value === null || value === undefined ? "" : String(value);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function fillTable(id, rows, render) {
  const body = document.querySelector(`#${id} tbody`);
  body.replaceChildren();
  for (const item of rows) {
    const tr = document.createElement("tr");
    render(tr, item);
    body.appendChild(tr);
  }
}

function statusBadge(tr, status) {
  const td = cell(tr, "");
  const span = document.createElement("span");
  span.className = `status status-${status}`;
  span.textContent = STATUS_WORDS[status] || status;
  td.appendChild(span);
  return td;
}

function sourceLink(parent, url, title) {
  // only web links: never a javascript: or data: URL from a record
  if (/^https?:\/\//.test(url)) {
    const link = document.createElement("a");
    link.href = url;
    link.rel = "noopener noreferrer";
    link.textContent = title || url;
    parent.appendChild(link);
  } else {
    parent.appendChild(document.createTextNode(title || ""));
  }
}

function drawTimeline(items) {
  const dated = items.filter((c) => c.deadline);
  const box = document.getElementById("timeline");
  box.replaceChildren();
  if (!dated.length) { box.textContent = "No commitment has a deadline."; return; }
  const today = new Date();
  const times = dated.map((c) => Date.parse(c.deadline)).concat([today.getTime()]);
  const min = Math.min(...times) - 30 * 864e5, max = Math.max(...times) + 30 * 864e5;
  const width = 900, rowHeight = 26, height = 40 + rowHeight * dated.length, left = 60;
  const x = (t) => left + ((t - min) / (max - min)) * (width - left - 20);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const add = (tag, attrs, text) => {
    const el = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    if (text !== undefined) el.textContent = text;
    svg.appendChild(el);
    return el;
  };
  const tx = x(today.getTime());
  add("line", { x1: tx, x2: tx, y1: 10, y2: height - 5, stroke: "#888", "stroke-dasharray": "4 3" });
  add("text", { x: tx + 3, y: 20, "font-size": 11, fill: "#555" }, "today");
  dated.forEach((c, i) => {
    const y = 40 + i * rowHeight;
    const cx = x(Date.parse(c.deadline));
    add("text", { x: 4, y: y + 4, "font-size": 11 }, c.owner_party);
    add("line", { x1: left, x2: width - 20, y1: y, y2: y, stroke: "#e3e7ec" });
    add("circle", { cx, cy: y, r: 7, fill: STATUS_COLOURS[c.status], class: `marker-${c.status}` });
    const days = c.days_to_deadline;
    const when = c.status === "no_record" ? `${-days} days past, no outcome recorded`
      : days >= 0 ? `${days} days left` : `${-days} days past`;
    const label = `${c.text.slice(0, 60)}${c.text.length > 60 ? "…" : ""} — ${c.deadline} (${when})`;
    add("text", { x: Math.min(cx + 10, width - 360), y: y - 8, "font-size": 10 }, label);
  });
  box.appendChild(svg);
}

function followUp(td, commitment, events) {
  for (const event of events) {
    const line = document.createElement("div");
    line.className = "event";
    line.appendChild(document.createTextNode(`${event.occurred_on}: ${event.text} `));
    sourceLink(line, event.source_url, "source");
    td.appendChild(line);
  }
  if (commitment.status === "no_record") {
    const prompt = document.createElement("div");
    prompt.className = "prompt";
    const mine = me && me.party_code === commitment.owner_party && me.role !== "viewer";
    prompt.textContent = `The deadline passed and no outcome is recorded: the registry does not know
      whether it was met. ${mine ? "Record the outcome below." : `Ask ${commitment.owner_party} to record it.`}`;
    td.appendChild(prompt);
  }
}

async function loadCommitments() {
  const [page, events] = await Promise.all([
    api("/commitments?limit=500"), api("/commitment-events?limit=500"),
  ]);
  drawTimeline(page.items);
  const byCommitment = new Map();
  for (const event of events.items) {
    if (!byCommitment.has(event.commitment_id)) byCommitment.set(event.commitment_id, []);
    byCommitment.get(event.commitment_id).push(event);
  }
  fillTable("commitments-table", page.items, (tr, c) => {
    cell(tr, c.owner_party); cell(tr, c.text); cell(tr, c.deadline || "none");
    statusBadge(tr, c.status);
    cell(tr, c.days_to_deadline, "num");
    followUp(cell(tr, ""), c, byCommitment.get(c.id) || []);
    sourceLink(cell(tr, ""), c.source_url, c.source_title);
    cell(tr, c.entered_by); cell(tr, c.visibility);
  });
  const select = document.getElementById("outcome-commitment");
  select.replaceChildren();
  for (const c of page.items) {
    if (!me || c.owner_party !== me.party_code) continue;
    const option = document.createElement("option");
    option.value = c.id;
    option.textContent = `${STATUS_WORDS[c.status]}: ${c.text.slice(0, 80)}`;
    select.appendChild(option);
  }
  document.getElementById("outcome-panel").hidden = !me || me.role === "viewer"
    || select.options.length === 0;
}

async function recordOutcome(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const id = form.get("commitment_id"), kind = form.get("kind"), day = form.get("day");
  const result = document.getElementById("outcome-result");
  try {
    if (kind === "met" || kind === "missed") {
      await api(`/commitments/${id}`, jsonBody("PATCH", { [`${kind}_on`]: day }));
    }
    const note = String(form.get("text") || "").trim();
    if (kind === "event" || note) {
      await api("/commitment-events", jsonBody("POST", {
        commitment_id: id, occurred_on: day, text: note || `recorded as ${kind}`,
        source_url: String(form.get("source_url") || "").trim(),
        source_title: String(form.get("source_url") || "").trim(),
      }));
    }
    result.className = "";
    result.textContent = "recorded";
    event.target.reset();
    await loadCommitments();
  } catch (error) {
    result.className = "error";
    result.textContent = error.message;
  }
}

async function loadProjects() {
  const form = new FormData(document.getElementById("project-filters"));
  const params = new URLSearchParams({ limit: "500" });
  for (const [key, value] of form.entries()) if (value.trim()) params.set(key, value.trim());
  const page = await api(`/projects?${params}`);
  fillTable("projects-table", page.items, (tr, p) => {
    cell(tr, p.name); cell(tr, p.country_iso3); cell(tr, p.stage);
    cell(tr, p.commodity); cell(tr, p.status); cell(tr, p.owner_party); cell(tr, p.entered_by);
    cell(tr, p.visibility);
  });
  document.getElementById("projects-count").textContent = `${page.total} projects`;
}

async function loadFinancing() {
  const totals = await api("/financing-totals");
  const top = Math.max(1, ...totals.map((t) => t.amount));
  fillTable("financing-table", totals, (tr, t) => {
    cell(tr, t.party_code); cell(tr, t.instrument); cell(tr, t.currency);
    cell(tr, t.amount.toLocaleString("en-US"), "num"); cell(tr, t.decisions, "num");
    const bar = document.createElement("div");
    bar.className = "bar";
    bar.style.width = `${Math.round((200 * t.amount) / top)}px`;
    cell(tr, "").appendChild(bar);
  });
}

async function loadStockpiles() {
  const page = await api("/stockpiles?limit=500");
  fillTable("stockpiles-table", page.items, (tr, s) => {
    cell(tr, s.owner_party); cell(tr, s.material);
    cell(tr, s.tonnes.toLocaleString("en-US"), "num"); cell(tr, s.as_of); cell(tr, s.entered_by);
    cell(tr, s.visibility);
  });
}

let plotlyLoading = null;

function loadPlotly() {
  // Plotly's JS comes from the server's own plotly package (no CDN), only when needed.
  if (window.Plotly) return Promise.resolve();
  if (plotlyLoading === null) {
    plotlyLoading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = "/api/simulation/plotly.min.js";
      script.onload = resolve;
      script.onerror = () => reject(new Error("could not load the chart library"));
      document.head.appendChild(script);
    });
  }
  return plotlyLoading;
}

function bandTraces(months, band, name, colour, dash) {
  return [
    { x: months, y: band.p95, mode: "lines", line: { width: 0 }, showlegend: false,
      hoverinfo: "skip" },
    { x: months, y: band.p5, mode: "lines", line: { width: 0 }, fill: "tonexty",
      fillcolor: colour.replace("rgb", "rgba").replace(")", ",0.2)"), name: `${name} P5-P95` },
    { x: months, y: band.p50, mode: "lines", line: { color: colour, width: 2.5, dash },
      name: `${name} median` },
  ];
}

async function loadSimulation() {
  const status = await api("/simulation/status");
  document.getElementById("simulation-status").textContent = status.detail;
  const form = document.getElementById("simulation-form");
  form.hidden = !status.installed;
  if (!status.installed) return;
  const scenarios = await api("/simulation/scenarios");
  const select = document.getElementById("simulation-scenario");
  if (select.options.length === 0) {
    for (const item of scenarios) {
      const option = document.createElement("option");
      option.value = item.name;
      option.textContent = item.title;
      option.dataset.description = item.description;
      select.appendChild(option);
    }
  }
}

async function runSimulation(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const query = new URLSearchParams({
    scenario: form.get("scenario"), samples: form.get("samples"), seed: form.get("seed"),
  });
  const result = document.getElementById("simulation-result");
  result.className = "";
  result.textContent = "running...";
  try {
    const [run] = await Promise.all([api(`/simulation/run?${query}`), loadPlotly()]);
    document.getElementById("simulation-description").textContent = run.description;
    const shortfall = {
      p5: run.alliance_shortfall_share.p5.map((v) => (v === null ? null : 100 * v)),
      p50: run.alliance_shortfall_share.p50.map((v) => (v === null ? null : 100 * v)),
      p95: run.alliance_shortfall_share.p95.map((v) => (v === null ? null : 100 * v)),
    };
    const layout = (title, axis) => ({
      title: { text: title }, yaxis: { title: { text: axis }, rangemode: "tozero" },
      margin: { t: 50, l: 60, r: 20, b: 40 }, legend: { orientation: "h" },
    });
    window.Plotly.newPlot("simulation-shortfall",
      bandTraces(run.months, shortfall, run.alliance, "rgb(0,158,115)", "solid"),
      layout(`${run.alliance} shortfall at ${run.stage} (% of final use)`, "% unmet"),
      { displaylogo: false, responsive: true });
    const prices = bandTraces(run.months, run.alliance_price_index, run.alliance,
      "rgb(0,158,115)", "solid");
    if (run.china_price_index) {
      prices.push(...bandTraces(run.months, run.china_price_index, "China", "rgb(213,94,0)",
        "dash"));
    }
    window.Plotly.newPlot("simulation-price", prices,
      layout(`Price index at ${run.stage} (base = 1)`, "price / base price"),
      { displaylogo: false, responsive: true });
    result.textContent = `${run.scenario}: ${run.samples} draws, seed ${run.seed}, ` +
      `stage ${run.stage}`;
  } catch (error) {
    result.className = "error";
    result.textContent = error.message;
  }
}

document.getElementById("simulation-form").addEventListener("submit", runSimulation);

const LOADERS = {
  commitments: loadCommitments, projects: loadProjects, financing: loadFinancing,
  stockpiles: loadStockpiles, simulation: loadSimulation,
};

function showTab(name) {
  for (const button of document.querySelectorAll("nav button[data-tab]")) {
    button.classList.toggle("active", button.dataset.tab === name);
  }
  for (const section of document.querySelectorAll(".tab")) {
    section.hidden = section.id !== `tab-${name}`;
  }
  return LOADERS[name]();
}

function showSignedIn(user) {
  me = user;
  document.getElementById("who").textContent = `${me.name} (${me.party_code}, ${me.role})`;
  document.getElementById("login-panel").hidden = true;
  document.getElementById("app").hidden = false;
}

function showSignedOut(message) {
  me = null;
  csrfToken = null;
  document.getElementById("who").textContent = "not signed in";
  document.getElementById("login-panel").hidden = false;
  document.getElementById("app").hidden = true;
  document.getElementById("login-error").textContent = message || "";
}

async function start() {
  // a page reloaded during a session: the cookie still holds it
  try {
    const session = await api("/session");
    csrfToken = session.csrf_token;
    showSignedIn(session.user);
    await showTab("commitments");
  } catch (error) {
    showSignedOut("");
  }
}

document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("token");
  const token = input.value.trim();
  input.value = "";  // the API token is used once and kept nowhere
  try {
    const session = await api("/session", jsonBody("POST", { token }));
    csrfToken = session.csrf_token;
    showSignedIn(session.user);
    await showTab("commitments");
  } catch (error) {
    showSignedOut(`sign-in failed: ${error.message}`);
  }
});

document.getElementById("logout").addEventListener("click", async () => {
  try { await api("/session", { method: "DELETE" }); } catch (error) { /* already ended */ }
  showSignedOut("");
});

for (const button of document.querySelectorAll("nav button[data-tab]")) {
  button.addEventListener("click", () => showTab(button.dataset.tab));
}

document.getElementById("project-filters").addEventListener("submit", (event) => {
  event.preventDefault();
  loadProjects();
});

document.getElementById("outcome-form").addEventListener("submit", recordOutcome);

document.getElementById("project-create").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const payload = Object.fromEntries(new FormData(form).entries());
  payload.country_iso3 = payload.country_iso3.toUpperCase();
  const result = document.getElementById("project-create-result");
  try {
    const created = await api("/projects", jsonBody("POST", payload));
    result.className = "";
    result.textContent = `added project: ${created.name}`;
    form.reset();
    await loadProjects();
  } catch (error) {
    result.className = "error";
    result.textContent = error.message;
  }
});

start();

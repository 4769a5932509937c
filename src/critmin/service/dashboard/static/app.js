// critmin registry dashboard: plain JavaScript, no external libraries (works offline).
"use strict";

const STATUS_COLOURS = { met: "#2a9d8f", on_track: "#457b9d", late: "#e9c46a", overdue: "#e63946" };
const TOKEN_KEY = "critmin-token";

function token() { return window.localStorage.getItem(TOKEN_KEY); }

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: `Bearer ${token()}` }, options.headers || {});
  const response = await fetch(`/api${path}`, Object.assign({}, options, { headers }));
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
  span.textContent = status.replace("_", " ");
  td.appendChild(span);
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
    add("text", { x: 4, y: y + 4, "font-size": 11 }, c.party_code);
    add("line", { x1: left, x2: width - 20, y1: y, y2: y, stroke: "#e3e7ec" });
    add("circle", { cx, cy: y, r: 7, fill: STATUS_COLOURS[c.status], class: `marker-${c.status}` });
    const days = c.days_to_deadline;
    const label = `${c.text.slice(0, 60)}${c.text.length > 60 ? "…" : ""} — ${c.deadline} (${
      days >= 0 ? `${days} days left` : `${-days} days past`})`;
    add("text", { x: Math.min(cx + 10, width - 360), y: y - 8, "font-size": 10 }, label);
  });
  box.appendChild(svg);
}

async function loadCommitments() {
  const page = await api("/commitments?limit=500");
  drawTimeline(page.items);
  fillTable("commitments-table", page.items, (tr, c) => {
    cell(tr, c.party_code); cell(tr, c.text); cell(tr, c.deadline || "none");
    statusBadge(tr, c.status);
    cell(tr, c.days_to_deadline, "num"); cell(tr, c.source_title); cell(tr, c.visibility);
  });
}

async function loadProjects() {
  const form = new FormData(document.getElementById("project-filters"));
  const params = new URLSearchParams({ limit: "500" });
  for (const [key, value] of form.entries()) if (value.trim()) params.set(key, value.trim());
  const page = await api(`/projects?${params}`);
  fillTable("projects-table", page.items, (tr, p) => {
    cell(tr, p.id, "num"); cell(tr, p.name); cell(tr, p.country_iso3); cell(tr, p.stage);
    cell(tr, p.commodity); cell(tr, p.status); cell(tr, p.owner_party); cell(tr, p.visibility);
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
    cell(tr, s.party_code); cell(tr, s.material); cell(tr, s.tonnes.toLocaleString("en-US"), "num");
    cell(tr, s.as_of); cell(tr, s.visibility);
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

async function start() {
  try {
    const me = await api("/me");
    document.getElementById("who").textContent = `${me.name} (${me.party_code}, ${me.role})`;
    document.getElementById("login-panel").hidden = true;
    document.getElementById("app").hidden = false;
    await showTab("commitments");
  } catch (error) {
    window.localStorage.removeItem(TOKEN_KEY);
    document.getElementById("login-panel").hidden = false;
    document.getElementById("app").hidden = true;
    if (token() !== null) document.getElementById("login-error").textContent = error.message;
  }
}

document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  window.localStorage.setItem(TOKEN_KEY, document.getElementById("token").value.trim());
  try {
    await api("/me");
    document.getElementById("login-error").textContent = "";
  } catch (error) {
    document.getElementById("login-error").textContent = `sign-in failed: ${error.message}`;
  }
  await start();
});

document.getElementById("logout").addEventListener("click", () => {
  window.localStorage.removeItem(TOKEN_KEY);
  document.getElementById("who").textContent = "not signed in";
  start();
});

for (const button of document.querySelectorAll("nav button[data-tab]")) {
  button.addEventListener("click", () => showTab(button.dataset.tab));
}

document.getElementById("project-filters").addEventListener("submit", (event) => {
  event.preventDefault();
  loadProjects();
});

document.getElementById("project-create").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const payload = Object.fromEntries(new FormData(form).entries());
  payload.country_iso3 = payload.country_iso3.toUpperCase();
  const result = document.getElementById("project-create-result");
  try {
    const created = await api("/projects", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    });
    result.className = "";
    result.textContent = `added project ${created.id}: ${created.name}`;
    form.reset();
    await loadProjects();
  } catch (error) {
    result.className = "error";
    result.textContent = error.message;
  }
});

if (token()) start();

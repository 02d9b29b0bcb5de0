// Brook console: polls /api/overview and redraws the page. No framework,
// no build step; every value from the broker goes in through textContent.
"use strict";

let refreshMs = 2000; // until /api/info says otherwise
let timer = null;
const COLORS = ["#1f6feb", "#d9480f", "#2f9e44", "#ae3ec9", "#e67700", "#0c8599", "#c2255c", "#5c940d"];
const SVG_NS = "http://www.w3.org/2000/svg";

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}

function num(n) { return Number(n).toLocaleString("en-US"); }

function cell(v, cls) { return el("td", cls ? { class: cls } : {}, v); }

function renderTopics(topics) {
  const body = document.querySelector("#topics tbody");
  const rows = [];
  for (const t of topics) {
    t.partitions.forEach((p, i) => {
      rows.push(el("tr", { "data-topic": t.name },
        cell(i === 0 ? t.name : ""), cell(p.partition, "num"), cell(num(p.first_offset), "num"),
        cell(num(p.next_offset), "num"), cell(num(p.next_offset - p.first_offset), "num"), cell(bytes(p.bytes), "num")));
    });
  }
  if (rows.length === 0) rows.push(el("tr", {}, el("td", { colspan: 6, class: "empty" }, "no topics")));
  body.replaceChildren(...rows);
}

function renderGroups(groups, info) {
  const box = document.getElementById("groups");
  if (groups.length === 0) { box.replaceChildren(el("p", { class: "empty" }, "no consumer groups")); return; }
  box.replaceChildren(...groups.map((g) => {
    const head = el("div", { class: "group-head" }, el("h3", {}, g.id),
      el("span", { class: "meta" }, `generation ${g.generation} · ${g.members.length} member(s) · lag `,
        el("span", { class: "group-lag", "data-group": g.id }, num(g.lag))));
    if (!info.read_only) {
      const reset = el("button", { class: "danger reset", type: "button" }, "Reset offsets…");
      reset.addEventListener("click", () => openReset(g));
      const del = el("button", { class: "danger delete", type: "button" }, "Delete group");
      del.addEventListener("click", () => deleteGroup(g.id));
      head.append(reset, del);
    }
    const members = g.members.length === 0 ? el("p", { class: "empty" }, "no members") :
      el("ul", { class: "members" }, ...g.members.map((m) => el("li", {}, m.id + ": " +
        (m.assigned.length ? m.assigned.map((a) => a.topic + "/" + a.partition).join(", ") : "nothing assigned"))));
    const rows = g.partitions.map((p) => el("tr", {},
      cell(p.topic), cell(p.partition, "num"), cell(p.owner || "—"),
      cell(p.committed < 0 ? "—" : num(p.committed), "num"), cell(num(p.end), "num"),
      cell(num(p.lag), p.lag > 0 ? "num lag-pos" : "num")));
    const table = el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Topic"), el("th", { class: "num" }, "Partition"),
      el("th", {}, "Owner"), el("th", { class: "num" }, "Committed"), el("th", { class: "num" }, "End"),
      el("th", { class: "num" }, "Lag"))), el("tbody", {}, ...rows));
    return el("div", { class: "group", "data-group": g.id }, head, members, table);
  }));
}

function ago(ms) {
  const s = Math.round(ms / 1000);
  return s < 120 ? "-" + s + " s" : "-" + Math.round(s / 60) + " min";
}

function renderChart(history, now) {
  const chart = document.getElementById("chart");
  const W = Math.max(300, Math.round(chart.clientWidth || 800)), H = 220, L = 56, R = 10, T = 10, B = 24;
  chart.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const samples = history.samples || [];
  const ids = [...new Set(samples.flatMap((s) => Object.keys(s.lag)))].sort();
  const span = Math.max(5000 * history.interval_seconds, samples.length ? now - samples[0].time : 0);
  let maxLag = 1;
  for (const s of samples) for (const v of Object.values(s.lag)) maxLag = Math.max(maxLag, v);
  const x = (t) => L + (W - L - R) * (1 - (now - t) / span);
  const y = (v) => T + (H - T - B) * (1 - v / maxLag);
  const parts = [
    svg("line", { class: "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }),
    svg("line", { class: "axis", x1: L, y1: T, x2: L, y2: H - B }),
    svg("text", { x: L - 6, y: T + 10, "text-anchor": "end" }, num(maxLag)),
    svg("text", { x: L - 6, y: H - B, "text-anchor": "end" }, "0"),
    svg("text", { x: L, y: H - 6 }, ago(span)),
    svg("text", { x: W - R, y: H - 6, "text-anchor": "end" }, "now"),
  ];
  ids.forEach((id, i) => {
    const pts = samples.filter((s) => id in s.lag).map((s) => x(s.time).toFixed(1) + "," + y(s.lag[id]).toFixed(1));
    if (pts.length === 1) pts.push((W - R) + "," + pts[0].split(",")[1]);
    parts.push(svg("polyline", { points: pts.join(" "), fill: "none", stroke: COLORS[i % COLORS.length], "stroke-width": 2, "data-group": id }));
  });
  chart.replaceChildren(...parts);
  const last = samples.length ? samples[samples.length - 1].lag : {};
  document.getElementById("legend").replaceChildren(...ids.map((id, i) => {
    const s = el("span", {}, id + " (" + num(last[id] ?? 0) + ")");
    s.style.setProperty("--c", COLORS[i % COLORS.length]);
    return s;
  }));
}

async function deleteGroup(id) {
  if (!window.confirm(`Delete consumer group "${id}" and its committed offsets? Its consumers must be closed.`)) return;
  const r = await fetch("/api/groups/" + encodeURIComponent(id) + "?confirm=" + encodeURIComponent(id), { method: "DELETE" });
  const body = await r.json().catch(() => ({}));
  setStatus(r.ok ? `deleted group ${id}` : `delete ${id}: ${body.error || r.status}`, !r.ok);
  refresh();
}

// The reset dialog sits outside the groups, so a refresh leaves it as it is.
let topicNames = [];
let resetGroup = "";

function openReset(g) {
  resetGroup = g.id;
  const own = [...new Set(g.partitions.map((p) => p.topic))];
  const names = own.length ? own : topicNames;
  document.getElementById("reset-group").textContent = g.id;
  document.getElementById("reset-topic").replaceChildren(...names.map((n) => el("option", { value: n }, n)));
  for (const id of ["reset-value", "reset-partitions", "reset-confirm"]) document.getElementById(id).value = "";
  document.getElementById("reset-error").textContent = "";
  document.getElementById("reset-apply").disabled = true;
  document.getElementById("reset-dialog").showModal();
}

function resetBody() {
  const body = { confirm: document.getElementById("reset-confirm").value, topic: document.getElementById("reset-topic").value };
  const parts = document.getElementById("reset-partitions").value.trim();
  if (parts !== "") body.partitions = parts.split(",").map((p) => Number(p.trim()));
  const to = document.getElementById("reset-to").value, v = document.getElementById("reset-value").value.trim();
  if (to === "earliest" || to === "latest") body[to] = true;
  else if (to === "offset") body.offset = Number(v);
  else {
    const d = new Date(v);
    if (isNaN(d)) throw new Error(`"${v}" is not a time such as 2026-12-01T09:00:00Z`);
    body.time = d.toISOString();
  }
  return body;
}

async function submitReset(ev) {
  ev.preventDefault();
  const err = document.getElementById("reset-error");
  let body;
  try { body = resetBody(); } catch (e) { err.textContent = e.message; return; }
  const r = await fetch("/api/groups/" + encodeURIComponent(resetGroup) + "/reset",
    { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const out = await r.json().catch(() => ({}));
  if (!r.ok) { err.textContent = out.error || "error " + r.status; return; }
  document.getElementById("reset-dialog").close();
  setStatus(`reset group ${out.group} on ${out.topic} to ${out.to}`);
  refresh();
}

document.getElementById("reset-form").addEventListener("submit", submitReset);
document.getElementById("reset-cancel").addEventListener("click", () => document.getElementById("reset-dialog").close());
document.getElementById("reset-confirm").addEventListener("input", (ev) => {
  document.getElementById("reset-apply").disabled = ev.target.value !== resetGroup;
});

function setStatus(text, err) {
  const s = document.getElementById("status");
  s.textContent = text;
  s.classList.toggle("err", !!err);
}

async function refresh() {
  try {
    const r = await fetch("/api/overview", { cache: "no-store" });
    if (!r.ok) {
      const body = await r.json().catch(() => ({}));
      setStatus("error " + r.status + (body.error ? ": " + body.error : ""), true);
      return;
    }
    const ov = await r.json();
    schedule(Math.max(100, ov.info.refresh_seconds * 1000));
    const mode = document.getElementById("mode");
    mode.textContent = ov.info.read_only ? "read-only" : "writes enabled";
    mode.classList.toggle("rw", !ov.info.read_only);
    topicNames = ov.topics.map((t) => t.name);
    renderTopics(ov.topics);
    renderGroups(ov.groups, ov.info);
    renderChart(ov.history, ov.time);
    setStatus("updated " + new Date(ov.time).toLocaleTimeString("en-GB"));
  } catch (e) {
    setStatus("unreachable: " + e.message, true);
  }
}

function schedule(ms) {
  if (timer !== null && ms === refreshMs) return;
  refreshMs = ms;
  clearInterval(timer);
  timer = setInterval(refresh, refreshMs);
}

refresh();
schedule(refreshMs);

// vlmcsc live dashboard: draws the snapshots the receiving process pushes over /ws (4 Hz).
// Plain canvas drawing, no library and no network beyond this page's own server.
"use strict";

function axes(ctx, w, h) { ctx.clearRect(0, 0, w, h); ctx.strokeStyle = "#ccc"; ctx.strokeRect(0.5, 0.5, w - 1, h - 1); }

// ys may contain null: the line breaks there (a lost frame is a gap, not a joined line)
function linePlot(id, xs, ys, opts) {
  const c = document.getElementById(id), ctx = c.getContext("2d"), w = c.width, h = c.height, pad = 28;
  axes(ctx, w, h);
  const vals = ys.filter(v => v !== null && isFinite(v));
  if (!vals.length) return;
  let lo = opts.min !== undefined ? opts.min : Math.min(...vals), hi = opts.max !== undefined ? opts.max : Math.max(...vals);
  if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
  const X = x => pad + (x - x0) / (x1 - x0) * (w - pad - 6), Y = y => h - 14 - (y - lo) / (hi - lo) * (h - 22);
  ctx.fillStyle = "#555"; ctx.font = "10px sans-serif";
  ctx.fillText(hi.toFixed(opts.digits || 1), 2, 10); ctx.fillText(lo.toFixed(opts.digits || 1), 2, h - 14);
  ctx.fillText(String(x0), pad, h - 2); ctx.fillText(String(x1), w - 30, h - 2);
  ctx.strokeStyle = opts.color || "#1f77b4"; ctx.lineWidth = 1.5; ctx.beginPath();
  let pen = false;
  for (let i = 0; i < xs.length; i++) {
    const y = ys[i];
    if (y === null || !isFinite(y)) { pen = false; continue; }
    if (pen) ctx.lineTo(X(xs[i]), Y(y)); else ctx.moveTo(X(xs[i]), Y(y));
    pen = true;
  }
  ctx.stroke();
  ctx.fillStyle = opts.color || "#1f77b4";
  for (let i = 0; i < xs.length; i++) if (ys[i] !== null && isFinite(ys[i])) ctx.fillRect(X(xs[i]) - 1.5, Y(ys[i]) - 1.5, 3, 3);
}

function spectrum(s) {
  if (!s.spectrum) return;
  const n = s.spectrum.length, fs = s.sample_rate || 1;
  const xs = s.spectrum.map((_, i) => Math.round((i - n / 2) / n * fs / 1e3));
  linePlot("spectrum", xs, s.spectrum, {color: "#2a7", digits: 0});
}

function colour(v, lo, hi) {
  const t = Math.max(0, Math.min(1, (v - lo) / (hi - lo)));
  return [Math.round(255 * Math.min(1, 2 * t)), Math.round(255 * t * t), Math.round(255 * (1 - t) * 0.6 + 40 * t)];
}

function waterfall(s) {
  const rows = s.waterfall; if (!rows || !rows.length) return;
  const c = document.getElementById("waterfall"), ctx = c.getContext("2d");
  const n = rows[0].length, img = ctx.createImageData(n, rows.length);
  const all = rows.flat(), lo = Math.min(...all), hi = Math.max(...all, lo + 1);
  rows.slice().reverse().forEach((row, r) => row.forEach((v, i) => {
    const [R, G, B] = colour(v, lo, hi), k = 4 * (r * n + i);
    img.data[k] = R; img.data[k + 1] = G; img.data[k + 2] = B; img.data[k + 3] = 255;
  }));
  const off = document.createElement("canvas"); off.width = n; off.height = rows.length;
  off.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false; ctx.clearRect(0, 0, c.width, c.height);
  ctx.drawImage(off, 0, 0, c.width, c.height * rows.length / 60);
}

function constellation(s) {
  const c = document.getElementById("constellation"), ctx = c.getContext("2d"), w = c.width;  // square axes
  axes(ctx, w, w);
  ctx.strokeStyle = "#eee"; ctx.beginPath(); ctx.moveTo(w / 2, 0); ctx.lineTo(w / 2, w); ctx.moveTo(0, w / 2); ctx.lineTo(w, w / 2); ctx.stroke();
  if (!s.constellation) return;
  const lim = 2.0, S = v => (v + lim) / (2 * lim) * w;
  ctx.fillStyle = "rgba(31,119,180,0.6)";
  for (const [re, im] of s.constellation) ctx.fillRect(S(re) - 1, w - S(im) - 1, 2, 2);
}

function esc(t) { return String(t === null || t === undefined ? "" : t).replace(/[&<>"]/g, ch => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[ch])); }
function num(v, d) { return v === null || v === undefined ? "" : Number(v).toFixed(d); }

function table(s) {
  const body = document.querySelector("#frames tbody");
  body.innerHTML = s.frames.slice().reverse().map(r => r.type === "missed"
    ? `<tr class="missed"><td>${r.seq}</td><td>lost</td><td>${esc(r.sent)}</td><td></td><td>0.00</td><td></td><td></td><td></td><td></td></tr>`
    : `<tr class="frame"><td>${r.seq}</td><td>${esc(r.status)}</td><td>${esc(r.sent)}</td><td>${esc(r.received)}</td>` +
      `<td>${num(r.bleu1, 2)}</td><td>${num(r.similarity, 2)}</td><td>${num(r.snr_db, 1)}</td><td>${num(r.cfo_hz, 0)}</td>` +
      `<td>${r.image ? `<img src="${esc(r.image)}" alt="regenerated">` : ""}</td></tr>`).join("");
}

function draw(s) {
  document.getElementById("title").textContent = s.title;
  const c = s.counts;
  document.getElementById("counts").textContent =
    `frames ok ${c.ok} · failed ${c.failed} · lost ${c.lost} · sample drops ${(s.stats || {}).sample_drops || 0} · t ${s.time_s} s`;
  spectrum(s); waterfall(s); constellation(s);
  const seq = s.series.map(p => p.seq);
  linePlot("snr", seq, s.series.map(p => p.snr_db), {color: "#1f77b4"});
  linePlot("cfo", seq, s.series.map(p => p.cfo_hz === null ? null : p.cfo_hz / 1e3), {color: "#d62728", digits: 2});
  linePlot("loss", seq, s.series.map(p => p.bleu1), {color: "#2ca02c", min: 0, max: 1, digits: 1});
  const lossCanvas = document.getElementById("loss").getContext("2d");
  lossCanvas.save(); linePlotOverlay("loss", seq, s.series.map(p => p.loss)); lossCanvas.restore();
  linePlot("drops", s.drops.map(p => p[0]), s.drops.map(p => p[1]), {color: "#9467bd", digits: 0});
  table(s);
}

// frame loss over the BLEU-1 plot, same 0..1 scale, without clearing it
function linePlotOverlay(id, xs, ys) {
  const c = document.getElementById(id), ctx = c.getContext("2d"), w = c.width, h = c.height, pad = 28;
  if (!xs.length) return;
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
  const X = x => pad + (x - x0) / (x1 - x0) * (w - pad - 6), Y = y => h - 14 - y * (h - 22);
  ctx.strokeStyle = "#ff7f0e"; ctx.setLineDash([4, 3]); ctx.beginPath();
  xs.forEach((x, i) => (i ? ctx.lineTo(X(x), Y(ys[i])) : ctx.moveTo(X(x), Y(ys[i]))));
  ctx.stroke(); ctx.setLineDash([]);
}

function connect() {
  const ws = new WebSocket(`ws://${location.host}/ws`);
  const conn = document.getElementById("conn");
  ws.onopen = () => { conn.textContent = "live"; conn.className = "ok"; };
  ws.onmessage = ev => draw(JSON.parse(ev.data));
  ws.onclose = () => { conn.textContent = "receiver gone (last state shown)"; conn.className = "bad"; setTimeout(connect, 2000); };
}
connect();

// The course site's only script: replays recorded dashboards, sizes and starts the step
// players (iframes of `eoslib animate` pages), marks a prediction. No network, no kernel.
"use strict";

function eosCountsLine(box, frame, labels) {
  const counts = box.querySelector(".eos-counts");
  counts.textContent = "";
  Object.keys(frame.counts).forEach((key, i) => {
    if (i) counts.appendChild(document.createTextNode(" · "));
    const span = document.createElement("span");
    span.className = "eos-count";
    span.dataset.key = key;
    span.dataset.value = String(frame.counts[key]);
    const b = document.createElement("b");
    b.textContent = (labels[key] || key) + ": ";
    span.appendChild(b);
    span.appendChild(document.createTextNode(String(frame.counts[key])));
    counts.appendChild(span);
  });
}

function eosLoadPack(box, D) {
  // A dashboard recorded over a named subset keeps its frames in a script of its own
  // (data/<id>.js: gzip-compressed JSON, base64), unpacked with the browser's
  // DecompressionStream: no request to another host, no fetch (works from file:// too).
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = box.dataset.pack;
    s.onload = resolve;
    s.onerror = () => reject(new Error("cannot load the recorded runs: " + box.dataset.pack));
    document.head.appendChild(s);
  }).then(() => {
    const b64 = (window.eosPacks || {})[box.dataset.packId];
    if (!b64) throw new Error("the recorded runs file holds no pack " + box.dataset.packId);
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text();
  }).then(text => Object.assign(D, JSON.parse(text)));
}

function eosDashboard(box) {
  const D = JSON.parse(box.querySelector("script.eos-data").textContent);
  box.eosData = D;  // what the page shows, for the tests
  const form = box.querySelector(".eos-controls");
  form.addEventListener("submit", e => e.preventDefault());
  const inputs = [];
  D.controls.forEach(c => {
    const label = document.createElement("label");
    label.className = "eos-control";
    // a checkbox when both values are recorded and the notebook offers nothing else
    const boolean = c.values.length === 2 && c.values[0] === false && c.values[1] === true &&
      (!c.options || c.options.every(o => o.index !== null));
    let input;
    if (boolean) {
      input = document.createElement("input");
      input.type = "checkbox";
      input.checked = c.default === true;
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + c.name));
    } else {
      label.appendChild(document.createTextNode(c.name + " "));
      input = document.createElement("select");
      const options = c.options || c.values.map((v, i) => (
        {label: v === null ? "none" : String(v), index: i}));
      options.forEach(opt => {
        const o = document.createElement("option");
        o.textContent = opt.label;
        if (opt.index === null) {  // offered by the notebook, not recorded here
          o.disabled = true;
          o.value = "";
          o.className = "eos-unrecorded";
        } else {
          o.value = String(opt.index);
          if (c.values[opt.index] === c.default) o.selected = true;
        }
        input.appendChild(o);
      });
      label.appendChild(input);
      if (c.values.length === 1) label.classList.add("eos-fixed");
    }
    if (c.added) label.classList.add("eos-added");
    label.title = c.why || "";
    input.name = c.name;
    input.dataset.control = c.name;
    input.addEventListener("change", show);
    form.appendChild(label);
    inputs.push({input: input, boolean: boolean});
  });
  function indices() {
    return inputs.map(x => x.boolean ? (x.input.checked ? 1 : 0) : Number(x.input.value));
  }
  function recorded(idx) {
    return Object.prototype.hasOwnProperty.call(D.frames, idx.join("."));
  }
  function mark() {
    // grey out a value whose combination with the others (as they stand) is not recorded
    const now = indices();
    inputs.forEach((x, k) => {
      if (x.boolean) return;
      [...x.input.options].forEach(o => {
        if (o.value === "") return;
        const idx = now.slice();
        idx[k] = Number(o.value);
        o.disabled = !recorded(idx);
      });
    });
  }
  function show() {
    const idx = indices();
    const k = idx.join(".");
    box.dataset.combination = k;
    const pics = box.querySelector(".eos-pictures");
    pics.textContent = "";
    if (!recorded(idx)) {  // never a run of other settings: say so, show nothing
      box.dataset.recorded = "0";
      box.querySelector(".eos-error").textContent = "This combination is not recorded on " +
        "this page: run it in the live notebook.";
      box.querySelector(".eos-verdict").textContent = "";
      box.querySelector(".eos-counts").textContent = "";
      box.querySelector(".eos-note").textContent = "";
      mark();
      return;
    }
    box.dataset.recorded = "1";
    const frame = D.frames_list[D.frames[k]];
    box.querySelector(".eos-error").textContent = frame.error || "";
    box.querySelector(".eos-verdict").textContent = frame.verdict ? "checker: " + frame.verdict : "";
    eosCountsLine(box, frame, D.labels);
    frame.pictures.forEach(p => {
      const img = document.createElement("img");
      img.className = "eos-picture";
      img.dataset.view = p.view;
      img.dataset.svg = String(p.svg);
      img.alt = p.alt;
      img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(D.svgs[p.svg]);
      pics.appendChild(img);
    });
    box.querySelector(".eos-note").textContent = [frame.caption, frame.note].filter(Boolean).join(" ");
    mark();
  }
  const loading = box.dataset.pack ? eosLoadPack(box, D) : Promise.resolve();
  inputs.forEach(x => { x.input.disabled = Boolean(box.dataset.pack); });
  return loading.then(() => {
    inputs.forEach(x => { x.input.disabled = false; });
    const note = box.querySelector(".eos-loading");
    if (note) note.remove();
    show();
    box.dataset.ready = "1";
  }, err => {
    const note = box.querySelector(".eos-loading");
    if (note) note.textContent = String(err.message || err) + ": run the live notebook.";
    throw err;
  });
}

function eosPlayer(frame) {
  // The player page opens at the notebook's step itself (its src ends in #step=N).
  function fit() {
    try {
      const doc = frame.contentDocument;
      if (!doc || !doc.documentElement) return;
      // the body's own bottom: the document's scrollHeight never falls below the frame's height
      const body = doc.body, margin = parseFloat(frame.contentWindow.getComputedStyle(body).marginBottom);
      frame.style.height = Math.ceil(body.getBoundingClientRect().bottom + (margin || 0) + 8) + "px";
    } catch (e) { /* another origin (a page opened from file://): keep the fixed height */ }
  }
  function ready() {
    try {
      if (window.ResizeObserver && frame.contentDocument) {
        new ResizeObserver(fit).observe(frame.contentDocument.body);
      }
    } catch (e) { /* file:// pages cannot reach into each other: keep the fixed height */ }
    fit();
    frame.dataset.ready = "1";
  }
  let loaded;
  try {
    loaded = frame.contentDocument.readyState === "complete" &&
      frame.contentWindow.location.href !== "about:blank";
  } catch (e) { loaded = false; }
  if (loaded) ready();
  else frame.addEventListener("load", ready);
}

// A guess matches an answer as eoslib.lessons.predict.same does: as numbers when both are
// numbers, else as words (case and spacing ignored).
function eosNumber(v) {
  const t = String(v).trim().replace(/[,_]/g, "");
  if (t === "" || !/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(t)) return null;
  return Number(t);
}
function eosWords(v) { return String(v).trim().toLowerCase().split(/\s+/).join(" "); }
function eosSame(guess, answer) {
  const g = eosNumber(guess), a = eosNumber(answer);
  return g !== null && a !== null ? g === a : eosWords(guess) === eosWords(answer);
}

function eosPrediction(box) {
  function answer(guess) {
    box.dataset.guess = guess;
    if (box.dataset.answer === undefined || !String(guess).trim()) return;
    const out = box.querySelector(".eos-answer");
    const right = eosSame(guess, box.dataset.answer);
    box.dataset.right = right ? "1" : "0";
    if (right) {
      out.textContent = "You predicted " + guess + ": right (the recorded run says " +
        box.dataset.actual + ").";
      return;
    }
    const why = JSON.parse(box.dataset.why || "{}");
    const key = Object.keys(why).find(k => k !== "*" && eosSame(k, guess));
    const text = key !== undefined ? why[key] : (why["*"] || "");
    out.textContent = "You predicted " + guess + ": not what happened. The recorded run says " +
      box.dataset.actual + (eosSame(box.dataset.actual, box.dataset.answer) ? "" :
        " (answer: " + box.dataset.answer + ")") + "." + (text ? " " + text : "");
  }
  box.querySelectorAll(".eos-choice").forEach(b => b.addEventListener("click", () => {
    box.querySelectorAll(".eos-choice").forEach(o => o.setAttribute("aria-pressed", "false"));
    b.setAttribute("aria-pressed", "true");
    answer(b.textContent);
  }));
  const typed = box.querySelector(".eos-guess");
  if (typed) typed.addEventListener("change", () => answer(typed.value));
}

const eosDashboards = [...document.querySelectorAll(".eos-dashboard")].map(eosDashboard);
document.querySelectorAll("iframe.eos-player").forEach(eosPlayer);
document.querySelectorAll(".eos-prediction").forEach(eosPrediction);
Promise.all(eosDashboards).finally(() => { document.body.dataset.eosReady = "1"; });

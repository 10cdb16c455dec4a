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

function eosDashboard(box) {
  const D = JSON.parse(box.querySelector("script.eos-data").textContent);
  const form = box.querySelector(".eos-controls");
  form.addEventListener("submit", e => e.preventDefault());
  const inputs = [];
  D.controls.forEach((c, k) => {
    const label = document.createElement("label");
    label.className = "eos-control";
    const boolean = c.values.length === 2 && c.values[0] === false && c.values[1] === true;
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
      c.values.forEach((v, i) => {
        const o = document.createElement("option");
        o.value = String(i);
        o.textContent = v === null ? "none" : String(v);
        if (v === c.default) o.selected = true;
        input.appendChild(o);
      });
      label.appendChild(input);
    }
    input.name = c.name;
    input.dataset.control = c.name;
    input.addEventListener("change", show);
    form.appendChild(label);
    inputs.push({input: input, boolean: boolean});
  });
  function key() {
    return inputs.map(x => x.boolean ? (x.input.checked ? 1 : 0) : Number(x.input.value)).join(".");
  }
  function show() {
    const k = key();
    const frame = D.frames_list[D.frames[k]];
    box.dataset.combination = k;
    box.querySelector(".eos-error").textContent = frame.error || "";
    box.querySelector(".eos-verdict").textContent = frame.verdict ? "checker: " + frame.verdict : "";
    eosCountsLine(box, frame, D.labels);
    const pics = box.querySelector(".eos-pictures");
    pics.textContent = "";
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
  }
  show();
  box.dataset.ready = "1";
}

function eosPlayer(frame) {
  // The player page opens at the notebook's step itself (its src ends in #step=N).
  function fit() {
    try {
      const doc = frame.contentDocument;
      if (!doc || !doc.documentElement) return;
      frame.style.height = (doc.documentElement.scrollHeight + 8) + "px";
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

function eosPrediction(box) {
  box.querySelectorAll(".eos-choice").forEach(b => b.addEventListener("click", () => {
    box.querySelectorAll(".eos-choice").forEach(o => o.setAttribute("aria-pressed", "false"));
    b.setAttribute("aria-pressed", "true");
    box.dataset.guess = b.textContent;
  }));
}

document.querySelectorAll(".eos-dashboard").forEach(eosDashboard);
document.querySelectorAll("iframe.eos-player").forEach(eosPlayer);
document.querySelectorAll(".eos-prediction").forEach(eosPrediction);
document.body.dataset.eosReady = "1";

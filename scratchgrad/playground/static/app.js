// scratchgrad playground: the page. Plain JavaScript, no build step, no third-party code.
//
// The server owns the model. This page creates a session, sends settings and
// Play / Pause / Step / Reset, and draws what the server streams (server-sent events):
// "state" when the data or the network is rebuilt, "update" after every epoch.
"use strict";

(function () {
  const POS = [8, 119, 189];    // positive class / weight: blue
  const NEG = [245, 147, 34];   // negative class / weight: orange

  const app = {
    options: null,      // GET /api/options: choices, bounds, defaults
    sessionId: null,
    state: null,        // the last "state": config, data, domain, layer sizes
    latest: null,       // the last update: epoch, losses, boundary, weights
    history: [],        // [epoch, train loss, test loss] rows
    playing: false,
    selected: null,     // {split, index} of the point whose graph is shown
    source: null,       // the EventSource
    drawQueued: false,
    updateTimes: [],    // arrival times of recent updates, for the updates/s readout
    lostTimer: null,    // pending "connection lost" message
    connectionLost: false,
    networkEdges: [],   // drawn edges and nodes, for the hover tooltip
  };

  const $ = (id) => document.getElementById(id);

  // ---- talking to the server -------------------------------------------------------------

  async function api(method, path, body) {
    const init = { method, headers: {} };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (err) {
      throw new Error("cannot reach the playground server (is it still running?)");
    }
    let data = null;
    try {
      data = await response.json();
    } catch (err) {
      data = null;
    }
    if (!response.ok) {
      const message = data && data.error ? data.error : `${method} ${path} failed with HTTP ${response.status}`;
      const error = new Error(message);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  function sessionPath(suffix) {
    return `/api/sessions/${encodeURIComponent(app.sessionId)}${suffix || ""}`;
  }

  async function startSession(config, note) {
    const state = await api("POST", "/api/sessions", config || {});
    app.sessionId = state.session_id;
    applyState(state);
    connect();
    if (note) showMessage(note, "info");
  }

  function connect() {
    if (app.source) app.source.close();
    const source = new EventSource(sessionPath("/events"));
    app.source = source;
    source.addEventListener("state", (e) => {
      clearTimeout(app.lostTimer);
      app.lostTimer = null;
      if (app.connectionLost) {
        app.connectionLost = false;
        clearMessage();
      }
      applyState(JSON.parse(e.data));
    });
    source.addEventListener("update", (e) => applyUpdate(JSON.parse(e.data)));
    source.addEventListener("closed", () => {
      source.close();
      recover("This session was closed; started a new one with the same settings.");
    });
    source.onerror = () => {
      if (app.source !== source) return;
      // CLOSED: the server refused the stream (the session expired, or the server restarted).
      if (source.readyState === EventSource.CLOSED) {
        recover("The server no longer knew this session (idle too long, or restarted); started a new one with the same settings.");
        return;
      }
      // CONNECTING: the browser reconnects by itself (streams end every few minutes);
      // say so only if it takes a while, e.g. because the server was stopped.
      if (app.lostTimer) return; // retries fail every second: keep the first deadline
      app.lostTimer = setTimeout(() => {
        app.lostTimer = null;
        if (app.source === source && source.readyState !== EventSource.OPEN) {
          app.connectionLost = true;
          showMessage("Lost the connection to the playground server (was it stopped?); reconnecting\u2026");
        }
      }, 3000);
    };
  }

  async function recover(note) {
    if (app.source) app.source.close();
    app.source = null;
    app.connectionLost = false; // the note below replaces the "connection lost" message
    try {
      await startSession(app.state ? app.state.config : {}, note);
    } catch (err) {
      showMessage(err.message);
      setTimeout(() => recover(note), 3000);
    }
  }

  // Runs a control's request; a vanished session is re-created, other errors are shown.
  async function control(method, suffix, body) {
    try {
      return await api(method, sessionPath(suffix), body);
    } catch (err) {
      if (err.status === 404 && /session/.test(err.message)) {
        await recover("The server no longer knew this session; started a new one with the same settings.");
        return null;
      }
      showMessage(err.message);
      return null;
    }
  }

  // ---- applying what the server says --------------------------------------------------------

  function applyState(state) {
    app.state = state;
    app.latest = state.latest;
    app.history = state.history.slice();
    app.playing = state.playing;
    if (app.selected) {
      const count = state.data[app.selected.split].x.length;
      if (app.selected.index >= count) clearGraph();
    }
    showControls(state.config);
    showStatus(state);
    $("param-count").textContent = `${state.n_parameters} parameters, ${state.engine_label}.`;
    $("data-summary").textContent =
      `${state.data.train.x.length} training points (filled), ${state.data.test.x.length} test points (ringed).`;
    queueDraw();
    if (app.selected) refreshGraph();
  }

  function applyUpdate(update) {
    if (!app.state || update.state_version !== app.state.state_version) return; // a "state" follows
    app.latest = update.latest;
    if (update.history_replace) app.history = update.history.slice();
    else app.history.push(...update.history);
    app.playing = update.playing;
    showStatus(update);
    const now = performance.now();
    app.updateTimes.push(now);
    while (app.updateTimes.length && now - app.updateTimes[0] > 2000) app.updateTimes.shift();
    queueDraw();
  }

  function showStatus(status) {
    const playButton = $("play");
    playButton.innerHTML = status.playing ? "&#x275A;&#x275A; Pause" : "&#x25B6; Play";
    playButton.setAttribute("aria-pressed", status.playing ? "true" : "false");
    if (status.error) showMessage(status.error, /^paused: nobody/.test(status.error) ? "info" : "error");
  }

  function showMessage(text, kind) {
    const box = $("message");
    box.textContent = text;
    box.className = "message" + (kind === "info" ? " info" : "");
    box.hidden = false;
  }

  function clearMessage() {
    $("message").hidden = true;
  }

  function formatLoss(x) {
    if (x === null || x === undefined) return "diverged";
    return x < 1e-3 && x > 0 ? x.toExponential(2) : x.toFixed(4);
  }

  function showReadout() {
    const latest = app.latest;
    if (!latest) return;
    $("epoch").textContent = latest.epoch.toLocaleString("en-US");
    $("train-loss").textContent = formatLoss(latest.train_loss);
    $("test-loss").textContent = formatLoss(latest.test_loss);
    $("accuracy").textContent =
      `${(100 * latest.train_accuracy).toFixed(0)}% / ${(100 * latest.test_accuracy).toFixed(0)}%`;
    const times = app.updateTimes;
    $("rate").textContent = app.playing && times.length > 1
      ? ((times.length - 1) / ((times[times.length - 1] - times[0]) / 1000)).toFixed(0)
      : "\u2013";
  }

  // ---- controls -----------------------------------------------------------------------------

  function fillSelect(id, choices) {
    const select = $(id);
    select.innerHTML = "";
    for (const choice of choices) {
      const option = document.createElement("option");
      option.value = choice;
      option.textContent = choice;
      select.appendChild(option);
    }
  }

  function showControls(config) {
    for (const radio of document.querySelectorAll('input[name="dataset"]')) {
      radio.checked = radio.value === config.dataset;
    }
    for (const id of ["noise", "n_points", "test_fraction", "seed", "learning_rate", "batch_size",
                      "activation", "loss", "optimizer", "engine"]) {
      const element = $(id);
      if (document.activeElement !== element || element.type === "range") element.value = config[id];
      element.classList.remove("invalid");
    }
    $("noise-value").textContent = Number(config.noise).toFixed(2);
    $("test-fraction-value").textContent = `${Math.round(config.test_fraction * 100)}%`;
    showLayerWidths(config.hidden);
  }

  function showLayerWidths(hidden) {
    $("layer-count").textContent = hidden.length;
    const box = $("layer-widths");
    box.innerHTML = "";
    hidden.forEach((width, index) => {
      const cell = document.createElement("div");
      cell.className = "width";
      const input = document.createElement("input");
      input.type = "number";
      input.min = "1";
      input.max = String(app.options.bounds.neurons[1]);
      input.value = width;
      input.id = `layer-${index}`;
      input.setAttribute("aria-label", `neurons in hidden layer ${index + 1}`);
      input.addEventListener("change", () => {
        const widths = currentWidths();
        sendConfig({ hidden: widths }, input);
      });
      const caption = document.createElement("span");
      caption.textContent = `layer ${index + 1}`;
      cell.append(input, caption);
      box.appendChild(cell);
    });
    const max = app.options.bounds.hidden_layers[1];
    $("add-layer").disabled = hidden.length >= max;
    $("remove-layer").disabled = hidden.length === 0;
  }

  function currentWidths() {
    return Array.from(document.querySelectorAll("#layer-widths input")).map(parseNumber);
  }

  function parseNumber(input) {
    // An empty or unparsable field is sent as null, so the server's message names the field.
    if (input.value.trim() === "") return null;
    const number = Number(input.value);
    return Number.isFinite(number) ? number : null;
  }

  async function sendConfig(changes, element) {
    const state = await control("PUT", "/config", changes);
    if (state) {
      clearMessage();
      clearGraph();
      applyState(state);
    } else if (element) {
      element.classList.add("invalid");
    }
  }

  function bindControls() {
    fillSelect("activation", app.options.choices.activation);
    fillSelect("loss", app.options.choices.loss);
    fillSelect("optimizer", app.options.choices.optimizer);
    fillSelect("engine", app.options.choices.engine);

    for (const radio of document.querySelectorAll('input[name="dataset"]')) {
      radio.addEventListener("change", () => sendConfig({ dataset: radio.value }));
    }
    for (const id of ["activation", "loss", "optimizer", "engine"]) {
      $(id).addEventListener("change", () => sendConfig({ [id]: $(id).value }, $(id)));
    }
    for (const id of ["noise", "n_points", "test_fraction", "seed", "learning_rate", "batch_size"]) {
      $(id).addEventListener("change", () => sendConfig({ [id]: parseNumber($(id)) }, $(id)));
    }
    $("noise").addEventListener("input", () => {
      $("noise-value").textContent = Number($("noise").value).toFixed(2);
    });
    $("test_fraction").addEventListener("input", () => {
      $("test-fraction-value").textContent = `${Math.round($("test_fraction").value * 100)}%`;
    });
    $("reseed").addEventListener("click", () => {
      sendConfig({ seed: Math.floor(Math.random() * 1000000) });
    });
    $("add-layer").addEventListener("click", () => {
      const widths = currentWidths();
      widths.push(widths.length ? widths[widths.length - 1] : 4);
      sendConfig({ hidden: widths });
    });
    $("remove-layer").addEventListener("click", () => {
      sendConfig({ hidden: currentWidths().slice(0, -1) });
    });

    $("play").addEventListener("click", togglePlay);
    $("step").addEventListener("click", step);
    $("reset").addEventListener("click", reset);
    document.addEventListener("keydown", (e) => {
      const tag = e.target.tagName;
      if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === " ") { e.preventDefault(); togglePlay(); }
      else if (e.key === "s") step();
      else if (e.key === "r") reset();
    });

    $("show-test").addEventListener("change", queueDraw);
    $("discretize").addEventListener("change", queueDraw);
    $("boundary").addEventListener("click", onBoundaryClick);
    $("network").addEventListener("mousemove", onNetworkHover);
    $("network").addEventListener("mouseleave", () => { $("network-tip").hidden = true; });
    $("graph-refresh").addEventListener("click", refreshGraph);
    $("graph-fit").addEventListener("change", () => {
      $("graph").classList.toggle("fit", $("graph-fit").checked);
      fitGraphHeight();
    });
    window.addEventListener("resize", fitGraphHeight);
    $("graph").addEventListener("click", zoomGraph);
    window.addEventListener("pagehide", () => {
      // Free the server's model now rather than when the session times out.
      if (app.sessionId) fetch(sessionPath(""), { method: "DELETE", keepalive: true }).catch(() => {});
    });
  }

  async function togglePlay() {
    const status = await control("POST", app.playing ? "/pause" : "/play");
    if (status) {
      app.playing = status.playing;
      if (status.playing) clearMessage();
      showStatus(status);
    }
  }

  async function step() {
    const result = await control("POST", "/step", { epochs: 1 });
    if (result) {
      app.playing = false;
      showStatus(result);
      if (app.selected) refreshGraph();
    }
  }

  async function reset() {
    const state = await control("POST", "/reset");
    if (state) {
      clearMessage();
      applyState(state);
    }
  }

  // ---- drawing ------------------------------------------------------------------------------

  function queueDraw() {
    if (app.drawQueued) return;
    app.drawQueued = true;
    requestAnimationFrame(() => {
      app.drawQueued = false;
      if (!app.state || !app.latest) return;
      showReadout();
      drawBoundary();
      drawNetwork();
      drawLossChart();
    });
  }

  function mix(color, t) {
    // White at t = 0, ``color`` at t = 1.
    return color.map((c) => Math.round(255 + (c - 255) * t));
  }

  function colorOf(value) {
    return value >= 0 ? mix(POS, Math.min(1, value)) : mix(NEG, Math.min(1, -value));
  }

  function rgb(color, alpha) {
    return alpha === undefined ? `rgb(${color.join(",")})` : `rgba(${color.join(",")},${alpha})`;
  }

  function toCanvas(point, canvas) {
    const [xmin, xmax, ymin, ymax] = app.state.domain;
    return {
      x: ((point[0] - xmin) / (xmax - xmin)) * canvas.width,
      y: ((ymax - point[1]) / (ymax - ymin)) * canvas.height,
    };
  }

  function drawBoundary() {
    const canvas = $("boundary");
    const ctx = canvas.getContext("2d");
    const n = app.state.resolution;
    const values = app.latest.boundary;
    const discretize = $("discretize").checked;
    const image = new ImageData(n, n);
    for (let i = 0; i < n * n; i++) {
      let v = values[i] === null ? 0 : values[i];
      if (discretize) v = v >= 0 ? 1 : -1;
      const c = colorOf(v * 0.6); // lighter than the points, so they stand out
      image.data[4 * i] = c[0];
      image.data[4 * i + 1] = c[1];
      image.data[4 * i + 2] = c[2];
      image.data[4 * i + 3] = 255;
    }
    const small = drawBoundary.small || (drawBoundary.small = document.createElement("canvas"));
    small.width = n;
    small.height = n;
    small.getContext("2d").putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = !discretize;
    ctx.drawImage(small, 0, 0, canvas.width, canvas.height);

    drawAxes(ctx, canvas);
    const showTest = $("show-test").checked;
    for (const split of showTest ? ["train", "test"] : ["train"]) {
      const data = app.state.data[split];
      for (let i = 0; i < data.x.length; i++) {
        const p = toCanvas(data.x[i], canvas);
        ctx.beginPath();
        ctx.arc(p.x, p.y, 4, 0, 2 * Math.PI);
        ctx.fillStyle = rgb(data.y[i] > 0 ? POS : NEG);
        ctx.fill();
        ctx.lineWidth = split === "train" ? 1 : 1.6;
        ctx.strokeStyle = split === "train" ? "#fff" : "#222";
        ctx.stroke();
      }
    }
    if (app.selected) {
      const data = app.state.data[app.selected.split];
      const p = toCanvas(data.x[app.selected.index], canvas);
      ctx.beginPath();
      ctx.arc(p.x, p.y, 9, 0, 2 * Math.PI);
      ctx.lineWidth = 2.5;
      ctx.strokeStyle = "#111";
      ctx.stroke();
    }
  }

  function drawAxes(ctx, canvas) {
    const [xmin, xmax, ymin, ymax] = app.state.domain;
    ctx.save();
    ctx.strokeStyle = "rgba(0,0,0,0.18)";
    ctx.lineWidth = 1;
    const origin = toCanvas([0, 0], canvas);
    ctx.beginPath();
    if (xmin < 0 && xmax > 0) { ctx.moveTo(origin.x, 0); ctx.lineTo(origin.x, canvas.height); }
    if (ymin < 0 && ymax > 0) { ctx.moveTo(0, origin.y); ctx.lineTo(canvas.width, origin.y); }
    ctx.stroke();
    ctx.fillStyle = "rgba(0,0,0,0.55)";
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillText(xmin.toFixed(1), 4, canvas.height - 5);
    const right = xmax.toFixed(1);
    ctx.fillText(right, canvas.width - ctx.measureText(right).width - 4, canvas.height - 5);
    ctx.fillText(ymax.toFixed(1), 4, 12);
    ctx.restore();
  }

  function onBoundaryClick(event) {
    if (!app.state) return;
    const canvas = $("boundary");
    const rect = canvas.getBoundingClientRect();
    const x = ((event.clientX - rect.left) / rect.width) * canvas.width;
    const y = ((event.clientY - rect.top) / rect.height) * canvas.height;
    let best = null;
    const splits = $("show-test").checked ? ["train", "test"] : ["train"];
    for (const split of splits) {
      const data = app.state.data[split];
      for (let i = 0; i < data.x.length; i++) {
        const p = toCanvas(data.x[i], canvas);
        const d = Math.hypot(p.x - x, p.y - y);
        if (d <= 10 && (!best || d < best.d)) best = { split, index: i, d };
      }
    }
    if (!best) {
      showMessage("No data point there: click on a dot to see its computation graph.", "info");
      return;
    }
    app.selected = { split: best.split, index: best.index };
    queueDraw();
    refreshGraph();
  }

  function drawNetwork() {
    const canvas = $("network");
    const ctx = canvas.getContext("2d");
    const sizes = app.state.layer_sizes;
    const { weights, biases } = app.latest.network;
    const width = canvas.width;
    const height = canvas.height;
    ctx.clearRect(0, 0, width, height);
    const maxNodes = Math.max(...sizes);
    const radius = Math.max(2.5, Math.min(11, (height - 30) / (2.6 * maxNodes)));
    const left = 34;
    const right = width - 52;
    const column = (l) => left + ((right - left) * l) / (sizes.length - 1);
    const position = (l, j) => {
      const n = sizes[l];
      const gap = Math.min((height - 30) / n, 4 * radius);
      return { x: column(l), y: height / 2 + (j - (n - 1) / 2) * gap };
    };
    const edges = [];
    const denseness = Math.max(1, Math.sqrt(maxNodes / 8));
    for (let l = 0; l < weights.length; l++) {
      const matrix = weights[l];
      for (let j = 0; j < matrix.length; j++) {
        const to = position(l + 1, j);
        for (let i = 0; i < matrix[j].length; i++) {
          const w = matrix[j][i];
          const from = position(l, i);
          const size = Math.min(1, Math.abs(w) / 2);
          ctx.strokeStyle = rgb(w >= 0 ? POS : NEG, 0.25 + 0.75 * size);
          ctx.lineWidth = (0.4 + 5.5 * size) / denseness;
          ctx.beginPath();
          ctx.moveTo(from.x, from.y);
          ctx.lineTo(to.x, to.y);
          ctx.stroke();
          edges.push({ from, to, text: `w = ${w.toFixed(4)}  (layer ${l + 1}: neuron ${j} \u2190 ${l === 0 ? "x" + i : "neuron " + i})` });
        }
      }
    }
    const nodes = [];
    ctx.font = "12px system-ui, sans-serif";
    for (let l = 0; l < sizes.length; l++) {
      for (let j = 0; j < sizes[l]; j++) {
        const p = position(l, j);
        const bias = l > 0 ? biases[l - 1][j] : null;
        ctx.beginPath();
        ctx.arc(p.x, p.y, radius, 0, 2 * Math.PI);
        ctx.fillStyle = bias === null ? "#eee" : rgb(colorOf(Math.tanh(bias)));
        ctx.fill();
        ctx.lineWidth = 1;
        ctx.strokeStyle = "#555";
        ctx.stroke();
        if (l === 0) {
          ctx.fillStyle = "#222";
          ctx.fillText(`x${j}`, p.x - radius - 20, p.y + 4);
          nodes.push({ p, text: `input x${j}` });
        } else {
          nodes.push({ p, text: `b = ${bias.toFixed(4)}  (layer ${l}, neuron ${j})` });
        }
      }
    }
    const out = position(sizes.length - 1, 0);
    ctx.fillStyle = "#222";
    ctx.fillText("score", out.x + radius + 4, out.y + 4);
    app.networkEdges = { edges, nodes, radius };
  }

  function onNetworkHover(event) {
    const canvas = $("network");
    const tip = $("network-tip");
    if (!app.networkEdges.edges) return;
    const rect = canvas.getBoundingClientRect();
    const x = ((event.clientX - rect.left) / rect.width) * canvas.width;
    const y = ((event.clientY - rect.top) / rect.height) * canvas.height;
    let text = null;
    for (const node of app.networkEdges.nodes) {
      if (Math.hypot(node.p.x - x, node.p.y - y) <= app.networkEdges.radius + 2) text = node.text;
    }
    if (!text) {
      let best = 4;
      for (const edge of app.networkEdges.edges) {
        const d = segmentDistance(x, y, edge.from, edge.to);
        if (d < best) { best = d; text = edge.text; }
      }
    }
    if (!text) { tip.hidden = true; return; }
    tip.textContent = text;
    tip.hidden = false;
    const panel = canvas.parentElement.getBoundingClientRect();
    tip.style.left = `${event.clientX - panel.left + 12}px`;
    tip.style.top = `${event.clientY - panel.top + 12}px`;
  }

  function segmentDistance(x, y, a, b) {
    const dx = b.x - a.x;
    const dy = b.y - a.y;
    const t = Math.max(0, Math.min(1, ((x - a.x) * dx + (y - a.y) * dy) / (dx * dx + dy * dy || 1)));
    return Math.hypot(x - (a.x + t * dx), y - (a.y + t * dy));
  }

  function drawLossChart() {
    const canvas = $("loss-chart");
    const ctx = canvas.getContext("2d");
    const w = canvas.width;
    const h = canvas.height;
    ctx.clearRect(0, 0, w, h);
    const rows = app.history;
    if (!rows.length) return;
    let top = 0;
    for (const row of rows) {
      for (const v of [row[1], row[2]]) if (v !== null && Number.isFinite(v)) top = Math.max(top, v);
    }
    top = top > 0 ? top * 1.05 : 1;
    const first = rows[0][0];
    const last = Math.max(rows[rows.length - 1][0], first + 1);
    const pad = { l: 40, r: 8, t: 8, b: 18 };
    const px = (epoch) => pad.l + ((epoch - first) / (last - first)) * (w - pad.l - pad.r);
    const py = (v) => h - pad.b - (Math.min(v, top) / top) * (h - pad.t - pad.b);
    ctx.strokeStyle = "#ccc";
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(pad.l, pad.t);
    ctx.lineTo(pad.l, h - pad.b);
    ctx.lineTo(w - pad.r, h - pad.b);
    ctx.stroke();
    ctx.fillStyle = "#666";
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillText(top.toPrecision(2), 4, pad.t + 8);
    ctx.fillText("0", pad.l - 12, h - pad.b);
    const label = `epoch ${last.toLocaleString("en-US")}`;
    ctx.fillText(label, w - pad.r - ctx.measureText(label).width, h - 4);
    for (const [column, color, dash] of [[2, "#9b59b6", [5, 4]], [1, "#333", []]]) {
      ctx.strokeStyle = color;
      ctx.setLineDash(dash);
      ctx.lineWidth = 1.6;
      ctx.beginPath();
      let drawing = false;
      for (const row of rows) {
        const v = row[column];
        if (v === null || !Number.isFinite(v)) { drawing = false; continue; }
        if (drawing) ctx.lineTo(px(row[0]), py(v));
        else ctx.moveTo(px(row[0]), py(v));
        drawing = true;
      }
      ctx.stroke();
    }
    ctx.setLineDash([]);
  }

  // ---- the computation graph of one point -----------------------------------------------------

  let graphRequest = 0;

  async function refreshGraph() {
    if (!app.selected) return;
    const { split, index } = app.selected;
    const ticket = ++graphRequest;
    const box = $("graph");
    box.classList.add("loading");
    $("graph-refresh").disabled = false;
    $("graph-caption").textContent = `Drawing the graph of ${split} point #${index}\u2026`;
    const result = await control("GET", `/graph?split=${split}&index=${index}`);
    if (ticket !== graphRequest) return; // a newer click won
    box.classList.remove("loading");
    if (!result) {
      $("graph-caption").textContent = "The graph could not be drawn (see the message above).";
      return;
    }
    const svg = new DOMParser().parseFromString(result.svg, "image/svg+xml").documentElement;
    box.replaceChildren(document.importNode(svg, true));
    fitGraphHeight();
    const sign = result.label > 0 ? "+1" : "\u22121";
    $("graph-caption").textContent =
      `${split} point #${index}: x = (${result.x[0].toFixed(3)}, ${result.x[1].toFixed(3)}), label ${sign}, ` +
      `score ${result.score.toFixed(4)}, loss ${result.loss.toFixed(4)} at epoch ${result.epoch}` +
      ` \u2014 ${result.values} values${result.compact ? " (compact view)" : ""}.`;
  }

  // In "fit" view the panel is as tall as the graph needs at the panel's width (at most 75% of the window).
  function fitGraphHeight() {
    const box = $("graph");
    const svg = box.querySelector("svg");
    if (!svg || !svg.viewBox.baseVal || !svg.viewBox.baseVal.width) {
      box.style.height = "";
      return;
    }
    const view = svg.viewBox.baseVal;
    const wanted = Math.ceil((box.clientWidth * view.height) / view.width) + 4;
    box.style.height = box.classList.contains("fit") ? `${Math.max(120, Math.min(wanted, 0.75 * window.innerHeight))}px` : "";
  }

  // In "fit" view a click shows the graph at its actual size, centred where it was clicked.
  function zoomGraph(event) {
    const box = $("graph");
    const svg = box.querySelector("svg");
    if (!svg || !box.classList.contains("fit") || !svg.viewBox.baseVal) return;
    const view = svg.viewBox.baseVal;
    const rect = svg.getBoundingClientRect();
    const scale = Math.min(rect.width / view.width, rect.height / view.height);
    const fx = (event.clientX - rect.left - (rect.width - view.width * scale) / 2) / (view.width * scale);
    const fy = (event.clientY - rect.top - (rect.height - view.height * scale) / 2) / (view.height * scale);
    $("graph-fit").checked = false;
    box.classList.remove("fit");
    fitGraphHeight();
    const full = svg.getBoundingClientRect();
    box.scrollLeft = fx * full.width - box.clientWidth / 2;
    box.scrollTop = fy * full.height - box.clientHeight / 2;
  }

  function clearGraph() {
    app.selected = null;
    graphRequest++;
    $("graph").replaceChildren();
    fitGraphHeight();
    $("graph-refresh").disabled = true;
    $("graph-caption").textContent =
      "Click a data point to see the graph of its prediction and loss, with data and gradients (the seed's draw_dot).";
  }

  // ---- start --------------------------------------------------------------------------------

  async function main() {
    try {
      app.options = await api("GET", "/api/options");
      bindControls();
      await startSession({});
    } catch (err) {
      showMessage(err.message);
    }
    setInterval(showReadout, 1000); // keeps the updates/s readout honest when updates stop
  }

  // A small read-only window for tests and the curious: where a data point is drawn.
  window.playground = {
    get sessionId() { return app.sessionId; },
    get state() { return app.state; },
    get latest() { return app.latest; },
    pointOnCanvas(split, index) {
      const canvas = $("boundary");
      const p = toCanvas(app.state.data[split].x[index], canvas);
      const rect = canvas.getBoundingClientRect();
      return { x: rect.left + (p.x / canvas.width) * rect.width, y: rect.top + (p.y / canvas.height) * rect.height };
    },
  };

  main();
})();

// scratchgrad playground: the page. Plain JavaScript, no build step, no third-party code.
//
// The server owns the data and the model and does every calculation. This page creates a
// session, sends settings and controls, and draws what the server sends: the "state" when
// the data or the network is rebuilt, an "update" after every epoch (server-sent events),
// and one point's forward and backward pass when asked. It computes nothing about the
// model itself: it lays out, colours and labels the numbers it is given.
"use strict";

(function () {
  const POS = [8, 119, 189];    // +1, positive values and weights: blue
  const NEG = [245, 147, 34];   // -1, negative values and weights: orange
  const LEARNING_RATES = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
  const REGULARIZATION_RATES = [0, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
  const ACTIVATION_SHORT = { tanh: "tanh", relu: "ReLU", sigmoid: "sigm", linear: "lin" };
  const UI_SETTINGS = ["show_test", "discretize"]; // page-only settings kept in the URL too
  const TRACE_PLAY_MS = 1400;

  const app = {
    options: null,      // GET /api/options: choices, labels, formulas, bounds, defaults
    sessionId: null,
    state: null,        // the last "state": config, data, domain, layer sizes, feature maps
    latest: null,       // the last update: epoch, losses, pictures, weights
    history: [],        // [epoch, train loss, test loss] rows
    playing: false,
    source: null,       // the EventSource
    drawQueued: false,
    pendingUpdate: false,
    draws: [],          // times of recent draws of a new update, for the updates/s readout
    drawnUpdates: 0,
    lostTimer: null,
    connectionLost: false,
    hidden: [],         // controls a teacher hid through the URL (hide=...)
    layout: null,       // the network's drawn positions
    trace: null,        // {data, step, timer}: the point being traced
    cursor: null,       // {split, index}: the point picked with the keyboard
    graphView: { k: 1, x: 0, y: 0 },
  };

  const $ = (id) => document.getElementById(id);
  const svgNS = "http://www.w3.org/2000/svg";

  // ---- talking to the server -------------------------------------------------------------

  async function api(method, path, body, raw) {
    const init = { method, headers: {} };
    if (raw !== undefined) {
      init.body = raw;
      init.headers["Content-Type"] = "application/octet-stream";
    } else if (body !== undefined) {
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
      if (source.readyState === EventSource.CLOSED) {
        recover("The server no longer knew this session (idle too long, or restarted); started a new one with the same settings.");
        return;
      }
      if (app.lostTimer) return;
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
    app.connectionLost = false;
    let config = app.state ? { ...app.state.config } : {};
    if (config.dataset === "csv") config = withoutUpload(config);
    try {
      await startSession(config, note);
    } catch (err) {
      showMessage(err.message);
      setTimeout(() => recover(note), 3000);
    }
  }

  function withoutUpload(config) {
    const problem = config.problem || app.options.defaults.problem;
    return { ...config, dataset: app.options.choices.datasets[problem][0] };
  }

  // Runs a control's request; a vanished session is re-created, other errors are shown.
  async function control(method, suffix, body, raw) {
    try {
      return await api(method, sessionPath(suffix), body, raw);
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
    const structureChanged = !app.state || JSON.stringify(app.state.layer_sizes) !== JSON.stringify(state.layer_sizes) ||
      JSON.stringify(app.state.config.features) !== JSON.stringify(state.config.features) ||
      JSON.stringify(app.state.config.activations) !== JSON.stringify(state.config.activations);
    app.state = state;
    app.latest = state.latest;
    app.history = state.history.slice();
    app.playing = state.playing;
    app.featureMaps = decode(state.feature_maps);
    app.maps = decode(state.latest.heatmaps);
    app.boundary = decode(state.latest.boundary);
    endTrace();
    app.cursor = null;
    showControls(state.config);
    showStatus(state);
    $("param-count").textContent = `${state.n_parameters} parameters \u00b7 ${state.engine_label}`;
    const train = state.data.train.x.length;
    const test = state.data.test.x.length;
    $("data-summary").textContent = `${train} training points, ${test} test points` +
      (state.config.dataset === "csv" ? " from your file." : ".");
    $("trace-index").max = String(Math.max(train, test) - 1);
    writeUrl();
    if (structureChanged) buildNetwork();
    queueDraw();
  }

  function applyUpdate(update) {
    if (!app.state || update.state_version !== app.state.state_version) return; // a "state" follows
    app.latest = update.latest;
    app.maps = decode(update.latest.heatmaps);
    app.boundary = decode(update.latest.boundary);
    if (update.history_replace) app.history = update.history.slice();
    else app.history.push(...update.history);
    app.playing = update.playing;
    showStatus(update);
    app.pendingUpdate = true;
    queueDraw();
  }

  function decode(text) {
    const raw = atob(text || "");
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
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

  function num(x, digits) {
    if (x === null || x === undefined || !Number.isFinite(x)) return "\u2013";
    const d = digits === undefined ? 4 : digits;
    if (x !== 0 && Math.abs(x) < Math.pow(10, -d)) return x.toExponential(1).replace("-", "\u2212");
    return x.toFixed(d).replace("-", "\u2212");
  }

  function showReadout() {
    const latest = app.latest;
    if (!latest) return;
    $("epoch").textContent = latest.epoch.toLocaleString("en-US");
    $("train-loss").textContent = formatLoss(latest.train_loss);
    $("test-loss").textContent = formatLoss(latest.test_loss);
    $("accuracy").textContent = latest.train_accuracy === null ? "\u2013 (regression)" :
      `${(100 * latest.train_accuracy).toFixed(0)}% / ${(100 * latest.test_accuracy).toFixed(0)}%`;
    const now = performance.now();
    while (app.draws.length && now - app.draws[0] > 2000) app.draws.shift();
    const times = app.draws;
    $("rate").textContent = app.playing && times.length > 1
      ? ((times.length - 1) / ((times[times.length - 1] - times[0]) / 1000)).toFixed(0)
      : "\u2013";
  }

  // ---- settings, controls and the URL ---------------------------------------------------------

  // Options of a select; `summary` (from the library's registries) becomes each option's tooltip.
  function fillSelect(id, values, label, summary) {
    const select = $(id);
    select.innerHTML = "";
    for (const value of values) {
      const option = document.createElement("option");
      option.value = String(value);
      option.textContent = label ? label(value) : String(value);
      if (summary) option.title = summary(value);
      select.appendChild(option);
    }
  }

  // The selected option's tooltip on the select itself (what a loss or optimizer name means).
  function showSummary(select) {
    const option = select.options[select.selectedIndex];
    select.title = option && option.title ? option.title : "";
  }

  function ensureOption(select, value) {
    const text = String(value);
    if (![...select.options].some((o) => o.value === text)) {
      const option = document.createElement("option");
      option.value = text;
      option.textContent = text;
      select.appendChild(option);
    }
    select.value = text;
  }

  function showControls(config) {
    const choices = app.options.choices;
    const sets = choices.datasets[config.problem];
    for (const button of document.querySelectorAll("[data-dataset]")) {
      const name = button.dataset.dataset;
      button.hidden = !(sets.includes(name) || name === "csv");
      button.setAttribute("aria-pressed", String(name === config.dataset));
      button.classList.toggle("selected", name === config.dataset);
    }
    $("problem").value = config.problem;
    for (const option of $("loss").options) option.disabled = !choices.losses[config.problem].includes(option.value);
    for (const id of ["loss", "optimizer", "regularization", "engine"]) $(id).value = config[id];
    for (const id of ["loss", "optimizer"]) showSummary($(id));
    ensureOption($("learning_rate"), config.learning_rate);
    ensureOption($("regularization_rate"), config.regularization_rate);
    $("regularization_rate").disabled = config.regularization === "none";
    for (const id of ["noise", "n_points", "test_fraction", "seed", "batch_size"]) {
      const element = $(id);
      if (id === "batch_size") element.max = String(Math.max(100, config.batch_size));
      if (document.activeElement !== element || element.type === "range") element.value = config[id];
      element.classList.remove("invalid");
    }
    $("n_points").disabled = config.dataset === "csv";
    $("noise-value").textContent = Number(config.noise).toFixed(2);
    $("test-fraction-value").textContent = `${Math.round(config.test_fraction * 100)}%`;
    $("batch-size-value").textContent = String(config.batch_size);
    $("layer-count").textContent = config.hidden.length;
    $("add-layer").disabled = config.hidden.length >= app.options.bounds.hidden_layers[1];
    $("remove-layer").disabled = config.hidden.length === 0;
  }

  function parseNumber(input) {
    if (input.value.trim() === "") return null;
    const number = Number(input.value);
    return Number.isFinite(number) ? number : null;
  }

  // A request that answers with a new state (settings, data, network): show it, with `note(state)` if given.
  async function changeState(method, suffix, body, raw, note) {
    const state = await control(method, suffix, body, raw);
    if (state) {
      if (note) showMessage(note(state), "info");
      else clearMessage();
      applyState(state);
    }
    return state;
  }

  async function sendConfig(changes, element) {
    const state = await changeState("PUT", "/config", changes);
    if (!state && element) element.classList.add("invalid");
    return state;
  }

  function switchProblem(problem) {
    const config = app.state.config;
    if (problem === config.problem) return;
    const choices = app.options.choices;
    sendConfig({ problem, dataset: choices.datasets[problem][0], loss: choices.default_loss[problem] }, $("problem"));
  }

  function changeLayers(hidden, activations) {
    sendConfig({ hidden, activations });
  }

  // The URL holds every setting (and the seed): a copied link reproduces the run.
  function writeUrl() {
    if (!app.state) return;
    const config = app.state.config;
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(config)) params.set(key, Array.isArray(value) ? value.join(",") : String(value));
    params.set("show_test", $("show-test").checked ? "1" : "0");
    params.set("discretize", $("discretize").checked ? "1" : "0");
    if (app.hidden.length) params.set("hide", app.hidden.join(","));
    const hash = "#" + params.toString();
    if (location.hash !== hash) history.replaceState(null, "", hash);
  }

  function readUrl() {
    const params = new URLSearchParams(location.hash.replace(/^#/, ""));
    const defaults = app.options.defaults;
    const config = {};
    for (const [key, text] of params) {
      if (key === "hide") {
        app.hidden = text.split(",").filter(Boolean);
      } else if (key === "show_test") {
        $("show-test").checked = text !== "0";
      } else if (key === "discretize") {
        $("discretize").checked = text === "1";
      } else if (key in defaults) {
        const kind = defaults[key];
        if (Array.isArray(kind)) {
          const items = text === "" ? [] : text.split(",");
          config[key] = key === "hidden" ? items.map(Number) : items;
        } else if (typeof kind === "number") {
          config[key] = Number(text);
        } else {
          config[key] = text;
        }
      }
    }
    return config;
  }

  function applyHidden() {
    for (const element of document.querySelectorAll("[data-control]")) {
      element.hidden = app.hidden.includes(element.dataset.control);
    }
    document.body.classList.toggle("lesson", app.hidden.length > 0);
  }

  // The training settings in the bar at the top, each a select filled from the options: [id, label].
  const SETTINGS = [["problem", "Problem"], ["loss", "Loss"], ["optimizer", "Optimizer"], ["learning_rate", "Learning rate"],
    ["regularization", "Regularization"], ["regularization_rate", "Regularization rate"], ["engine", "Engine"]];

  function buildSettings() {
    const share = $("settings").querySelector('[data-control="share"]');
    for (const [id, text] of SETTINGS) {
      const label = document.createElement("label");
      label.className = "setting";
      label.dataset.control = id;
      const select = document.createElement("select");
      select.id = id;
      label.append(`${text} `, select);
      share.before(label);
    }
  }

  function bindControls() {
    const o = app.options;
    buildSettings();
    fillSelect("problem", o.choices.problem);
    fillSelect("loss", o.choices.loss, null, (v) => o.labels.loss[v]);
    fillSelect("optimizer", o.choices.optimizer, null, (v) => o.labels.optimizer[v]);
    fillSelect("regularization", o.choices.regularization, (v) => (v === "none" ? "none" : v.toUpperCase()));
    fillSelect("engine", o.choices.engine, (v) => o.labels.engine[v]);
    fillSelect("learning_rate", LEARNING_RATES);
    fillSelect("regularization_rate", REGULARIZATION_RATES);
    // One button per data set of the library's registry the page can draw, then "your CSV".
    const group = document.querySelector(".datasets");
    group.replaceChildren(...o.choices.dataset.map((name) => {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.dataset = name;
      button.textContent = name === "csv" ? "your CSV" : name.replace(/_/g, " ");
      button.title = o.labels.dataset[name] || name;
      return button;
    }));
    for (const button of document.querySelectorAll("[data-dataset]")) {
      button.addEventListener("click", () => {
        if (button.dataset.dataset === "csv" && !(app.state && app.state.config.dataset === "csv")) {
          $("csv-file").click();
          return;
        }
        sendConfig({ dataset: button.dataset.dataset });
      });
    }
    $("problem").addEventListener("change", () => switchProblem($("problem").value));
    for (const id of ["loss", "optimizer", "regularization", "engine"]) {
      $(id).addEventListener("change", () => sendConfig({ [id]: $(id).value }, $(id)));
    }
    for (const id of ["learning_rate", "regularization_rate"]) {
      $(id).addEventListener("change", () => sendConfig({ [id]: Number($(id).value) }, $(id)));
    }
    for (const id of ["noise", "n_points", "test_fraction", "seed", "batch_size"]) {
      $(id).addEventListener("change", () => sendConfig({ [id]: parseNumber($(id)) }, $(id)));
    }
    $("noise").addEventListener("input", () => { $("noise-value").textContent = Number($("noise").value).toFixed(2); });
    $("test_fraction").addEventListener("input", () => {
      $("test-fraction-value").textContent = `${Math.round($("test_fraction").value * 100)}%`;
    });
    $("batch_size").addEventListener("input", () => { $("batch-size-value").textContent = $("batch_size").value; });
    $("regenerate").addEventListener("click", () => sendConfig({ seed: Math.floor(Math.random() * 1000000) }));
    $("add-layer").addEventListener("click", () => {
      const c = app.state.config;
      const last = c.hidden.length ? c.hidden[c.hidden.length - 1] : 4;
      const act = c.activations.length ? c.activations[c.activations.length - 1] : "tanh";
      changeLayers([...c.hidden, last], [...c.activations, act]);
    });
    $("remove-layer").addEventListener("click", () => {
      const c = app.state.config;
      changeLayers(c.hidden.slice(0, -1), c.activations.slice(0, -1));
    });
    $("csv-file").addEventListener("change", uploadCsv);
    $("model-file").addEventListener("change", uploadModel);
    for (const fmt of ["json", "npz", "onnx"]) {
      const link = $(`download-${fmt}`);
      link.hidden = !o.choices.model_formats.includes(fmt);
      link.addEventListener("click", (e) => { e.preventDefault(); downloadModel(fmt); });
    }
    $("copy-link").addEventListener("click", async () => {
      writeUrl();
      try {
        await navigator.clipboard.writeText(location.href);
        showMessage("Copied a link to this run: the settings and the random seed are in it.", "info");
      } catch (err) {
        showMessage(`The link to this run: ${location.href}`, "info");
      }
    });

    $("play").addEventListener("click", togglePlay);
    $("step").addEventListener("click", step);
    $("reset").addEventListener("click", reset);
    document.addEventListener("keydown", (e) => {
      const tag = e.target.tagName;
      if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.target.closest && e.target.closest(".neuron-graph, #boundary, .editor")) return;
      if (e.key === " ") {
        if (tag === "BUTTON" || e.target.getAttribute("role") === "button") return; // space presses the button
        e.preventDefault();
        togglePlay();
      }
      else if (e.key === "s") step();
      else if (e.key === "r") reset();
    });
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape") { closeEditor(); hideTip(); }
    });

    $("show-test").addEventListener("change", () => { writeUrl(); queueDraw(); });
    $("discretize").addEventListener("change", () => { writeUrl(); queueDraw(); });
    $("boundary").addEventListener("click", onBoundaryClick);
    $("boundary").addEventListener("keydown", onBoundaryKey);
    $("links").addEventListener("mousemove", onLinkHover);
    $("links").addEventListener("mouseleave", hideTip);
    $("links").addEventListener("click", onLinkClick);
    window.addEventListener("resize", () => { if (app.state) { buildNetwork(); queueDraw(); drawNeuronGraph(); } });

    $("trace-start").addEventListener("click", () => startTrace($("trace-split").value, parseNumber($("trace-index"))));
    $("trace-prev").addEventListener("click", () => traceStep(-1));
    $("trace-next").addEventListener("click", () => traceStep(1));
    $("trace-play").addEventListener("click", toggleTracePlay);
    $("trace-exit").addEventListener("click", () => { endTrace(); queueDraw(); });
    bindGraphView();
    window.addEventListener("pagehide", () => {
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
      if (app.trace) startTrace(app.trace.data.split, app.trace.data.index, app.trace.step);
    }
  }

  async function reset() {
    await changeState("POST", "/reset");
  }

  // ---- files: your points, model files ------------------------------------------------------------

  // The file chosen in a file input, read, and the input cleared (so the same file can be chosen again).
  async function chosenFile(id) {
    const input = $(id);
    const file = input.files && input.files[0];
    if (!file) return null;
    const content = await file.arrayBuffer();
    input.value = "";
    return { name: file.name, content };
  }

  async function uploadCsv() {
    const file = await chosenFile("csv-file");
    if (!file) return;
    const query = `?filename=${encodeURIComponent(file.name)}&problem=${app.state.config.problem}`;
    await changeState("POST", "/data" + query, undefined, file.content,
      (state) => `Training on ${file.name}: ${state.config.n_points} points.`);
  }

  async function uploadModel() {
    const file = await chosenFile("model-file");
    if (!file) return;
    await changeState("POST", `/model?filename=${encodeURIComponent(file.name)}`, undefined, file.content,
      (state) => `Loaded ${file.name}: hidden layers ${JSON.stringify(state.config.hidden)}; Reset starts over from fresh weights.`);
  }

  async function downloadModel(fmt) {
    let response;
    try {
      response = await fetch(sessionPath(`/model?format=${fmt}`));
    } catch (err) {
      showMessage("cannot reach the playground server (is it still running?)");
      return;
    }
    if (!response.ok) {
      let message = `download failed with HTTP ${response.status}`;
      try { message = (await response.json()).error || message; } catch (err) { /* keep */ }
      showMessage(message);
      return;
    }
    const blob = await response.blob();
    const url = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = url;
    link.download = `playground-model.${fmt}`;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  // ---- colours ------------------------------------------------------------------------------

  function mix(color, t) {
    return color.map((c) => Math.round(255 + (c - 255) * t));
  }

  function colorOf(value) {
    return value >= 0 ? mix(POS, Math.min(1, value)) : mix(NEG, Math.min(1, -value));
  }

  function rgb(color, alpha) {
    return alpha === undefined ? `rgb(${color.join(",")})` : `rgba(${color.join(",")},${alpha})`;
  }

  // byte -> RGBA for the pictures: 0..254 is -1..+1, 255 is "not a number" (grey).
  function palette(strength, discrete) {
    const table = new Uint8ClampedArray(256 * 4);
    for (let b = 0; b < 256; b++) {
      let c = [170, 170, 170];
      if (b < 255) {
        let v = b / 127 - 1;
        if (discrete) v = v >= 0 ? 1 : -1;
        c = colorOf(v * strength);
      }
      table.set([c[0], c[1], c[2], 255], 4 * b);
    }
    return table;
  }
  const PALETTES = { node: palette(1, false), nodeDiscrete: palette(1, true), output: palette(0.65, false), outputDiscrete: palette(0.65, true) };

  function paint(canvas, bytes, offset, n, table) {
    if (canvas.width !== n) { canvas.width = n; canvas.height = n; }
    const ctx = canvas.getContext("2d");
    const image = ctx.createImageData(n, n);
    const data = image.data;
    for (let i = 0; i < n * n; i++) {
      const b = bytes[offset + i];
      data[4 * i] = table[4 * b];
      data[4 * i + 1] = table[4 * b + 1];
      data[4 * i + 2] = table[4 * b + 2];
      data[4 * i + 3] = 255;
    }
    ctx.putImageData(image, 0, 0);
  }

  // ---- the network diagram ------------------------------------------------------------------

  function nodeName(layer, j) {
    const sizes = app.state.layer_sizes;
    if (layer === 0) return app.options.labels.features[app.state.config.features[j]];
    if (layer === sizes.length - 1) return "output";
    return `h${layer}.${j}`;
  }

  function buildNetwork() {
    const box = $("network");
    const links = $("links");
    for (const old of box.querySelectorAll(".node, .column-head")) old.remove();
    links.replaceChildren();
    const config = app.state.config;
    const sizes = app.state.layer_sizes;
    const allFeatures = app.options.choices.features;
    const width = Math.max(280, box.clientWidth);
    const columns = sizes.length; // features, hidden layers, output
    const size = Math.max(22, Math.min(40, Math.floor((width - 16) / (columns * 1.75))));
    const head = 64;
    const rowH = size + 22;
    const rows = Math.max(allFeatures.length, ...sizes.slice(1));
    const height = head + rows * rowH + 8;
    const left = 4;
    const right = width - size - 4;
    const gap = columns > 1 ? (right - left) / (columns - 1) : 0;
    const colX = (c) => left + c * gap;
    const top = (count) => head + ((rows - count) * rowH) / 2;
    box.style.height = `${height}px`;
    links.setAttribute("width", width);
    links.setAttribute("height", height);
    links.setAttribute("viewBox", `0 0 ${width} ${height}`);
    const layout = { size, nodes: [], links: [], position: {} };

    // Column 0: every feature; the selected ones feed the network.
    const featureTop = top(allFeatures.length);
    allFeatures.forEach((name, f) => {
      const selected = config.features.indexOf(name);
      const x = colX(0);
      const y = featureTop + f * rowH;
      const node = makeNode(x, y, size, "feature");
      node.dataset.feature = name;
      node.setAttribute("aria-pressed", String(selected >= 0));
      node.classList.toggle("off", selected < 0);
      node.title = `${app.options.labels.features[name]}: ${selected >= 0 ? "an input (click to remove)" : "not used (click to add)"}`;
      node.querySelector(".node-label").textContent = app.options.labels.features[name];
      node.addEventListener("click", () => toggleFeature(name));
      node.addEventListener("mouseenter", (e) => showNodeTip(e, 0, selected, name));
      node.addEventListener("mouseleave", hideTip);
      box.appendChild(node);
      if (selected >= 0) layout.position[`0:${selected}`] = { x, y, node };
      layout.nodes.push({ layer: 0, j: selected, feature: f, node });
    });
    addColumnHead(box, colX(0), size, "features", null);

    for (let l = 1; l < sizes.length; l++) {
      const x = colX(l);
      const t = top(sizes[l]);
      for (let j = 0; j < sizes[l]; j++) {
        const y = t + j * rowH;
        const node = makeNode(x, y, size, l === sizes.length - 1 ? "output" : "hidden");
        node.dataset.layer = String(l);
        node.dataset.neuron = String(j);
        node.setAttribute("aria-label", `${nodeName(l, j)}: show its formula, bias and weights`);
        node.querySelector(".node-label").textContent = l === sizes.length - 1 ? "output" : "";
        node.addEventListener("click", () => onNodeClick(l, j));
        node.addEventListener("mouseenter", (e) => showNodeTip(e, l, j));
        node.addEventListener("mouseleave", hideTip);
        node.addEventListener("focus", (e) => showNodeTip(e, l, j));
        node.addEventListener("blur", hideTip);
        box.appendChild(node);
        layout.position[`${l}:${j}`] = { x, y, node };
        layout.nodes.push({ layer: l, j, node });
      }
      addColumnHead(box, x, size, l === sizes.length - 1 ? "output" : null, l);
    }

    // Links: one visible path and one wide invisible one (easier to hover and click) each.
    for (let l = 1; l < sizes.length; l++) {
      for (let j = 0; j < sizes[l]; j++) {
        const to = layout.position[`${l}:${j}`];
        for (let i = 0; i < sizes[l - 1]; i++) {
          const from = layout.position[`${l - 1}:${i}`];
          if (!from) continue;
          const x1 = from.x + size, y1 = from.y + size / 2, x2 = to.x, y2 = to.y + size / 2;
          const mid = (x1 + x2) / 2;
          const d = `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`;
          const path = document.createElementNS(svgNS, "path");
          path.setAttribute("d", d);
          path.setAttribute("class", "link");
          const hit = document.createElementNS(svgNS, "path");
          hit.setAttribute("d", d);
          hit.setAttribute("class", "hit");
          hit.dataset.layer = String(l);
          hit.dataset.neuron = String(j);
          hit.dataset.input = String(i);
          links.appendChild(path);
          layout.links.push({ l, j, i, path, hit });
        }
      }
    }
    for (const link of layout.links) links.appendChild(link.hit); // on top, for the pointer
    app.layout = layout;
  }

  function makeNode(x, y, size, kind) {
    const node = document.createElement("button");
    node.type = "button";
    node.className = `node ${kind}`;
    node.style.left = `${x}px`;
    node.style.top = `${y}px`;
    node.style.width = `${size}px`;
    node.style.height = `${size}px`;
    const canvas = document.createElement("canvas");
    canvas.width = app.state.heatmap_resolution;
    canvas.height = app.state.heatmap_resolution;
    const label = document.createElement("span");
    label.className = "node-label";
    const value = document.createElement("span");
    value.className = "node-value";
    node.append(canvas, value, label);
    return node;
  }

  function addColumnHead(box, x, size, title, layer) {
    const head = document.createElement("div");
    head.className = "column-head";
    head.style.left = `${x + size / 2}px`;
    if (layer === null || title === "output") {
      head.textContent = title;
      box.appendChild(head);
      return;
    }
    const config = app.state.config;
    const index = layer - 1;
    const count = config.hidden[index];
    const max = app.options.bounds.neurons[1];
    const plus = document.createElement("button");
    plus.type = "button";
    plus.className = "tiny";
    plus.textContent = "+";
    plus.disabled = count >= max;
    plus.setAttribute("aria-label", `Add a neuron to hidden layer ${layer}`);
    plus.dataset.addNeuron = String(layer);
    plus.addEventListener("click", () => {
      const hidden = config.hidden.slice();
      hidden[index] += 1;
      changeLayers(hidden, config.activations);
    });
    const minus = document.createElement("button");
    minus.type = "button";
    minus.className = "tiny";
    minus.textContent = "\u2212";
    minus.disabled = count <= 1;
    minus.setAttribute("aria-label", `Remove a neuron from hidden layer ${layer}`);
    minus.dataset.removeNeuron = String(layer);
    minus.addEventListener("click", () => {
      const hidden = config.hidden.slice();
      hidden[index] -= 1;
      changeLayers(hidden, config.activations);
    });
    const row = document.createElement("div");
    row.className = "neuron-buttons";
    row.append(plus, minus);
    const text = document.createElement("div");
    text.className = "count";
    text.textContent = `${count} neuron${count === 1 ? "" : "s"}`;
    const select = document.createElement("select");
    select.className = "layer-activation";
    select.dataset.layer = String(layer);
    select.setAttribute("aria-label", `Activation of hidden layer ${layer}`);
    for (const name of app.options.choices.activation) {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = ACTIVATION_SHORT[name] || name;
      select.appendChild(option);
    }
    select.value = config.activations[index];
    select.addEventListener("change", () => {
      const activations = config.activations.slice();
      activations[index] = select.value;
      sendConfig({ activations }, select);
    });
    head.append(row, text, select);
    box.appendChild(head);
  }

  function toggleFeature(name) {
    const features = app.state.config.features.slice();
    const at = features.indexOf(name);
    if (at >= 0) features.splice(at, 1);
    else {
      // Keep the page's order, so a link's features read the same way every time.
      features.push(name);
      const order = app.options.choices.features;
      features.sort((a, b) => order.indexOf(a) - order.indexOf(b));
    }
    sendConfig({ features });
  }

  function drawNetwork() {
    const layout = app.layout;
    if (!layout) return;
    const res = app.state.heatmap_resolution;
    const area = res * res;
    const discrete = $("discretize").checked;
    // Features: their pictures never change; hidden and output: from the latest update.
    for (const entry of layout.nodes) {
      const canvas = entry.node.querySelector("canvas");
      if (entry.layer === 0) {
        paint(canvas, app.featureMaps, entry.feature * area, res, PALETTES.node);
      } else {
        const offset = mapOffset(entry.layer, entry.j) * area;
        const last = entry.layer === app.state.layer_sizes.length - 1;
        paint(canvas, app.maps, offset, res, last && discrete ? PALETTES.nodeDiscrete : PALETTES.node);
      }
    }
    const trace = app.trace;
    const { weights } = app.latest.network;
    let scale = 1;
    if (trace && trace.phase === "backward") {
      scale = 1e-12;
      for (const link of layout.links) {
        const g = trace.data.layers[link.l - 1].grad_w[link.j][link.i];
        if (link.l === trace.layer && Number.isFinite(g)) scale = Math.max(scale, Math.abs(g));
      }
    }
    for (const link of layout.links) {
      const w = weights[link.l - 1][link.j][link.i];
      let value = w, size = Math.min(1, Math.abs(w) / 2), dim = false;
      if (trace) {
        if (trace.phase === "backward") {
          const g = trace.data.layers[link.l - 1].grad_w[link.j][link.i];
          if (link.l === trace.layer) { value = -g; size = Math.abs(g) / scale; }
          else dim = true;
        } else if (trace.phase === "forward") {
          dim = link.l !== trace.layer;
        } else {
          dim = true;
        }
      }
      link.path.setAttribute("stroke", dim ? "#d6d6d6" : rgb(value >= 0 ? POS : NEG));
      link.path.setAttribute("stroke-width", dim ? "1" : (0.6 + 5 * size).toFixed(2));
      link.path.setAttribute("stroke-opacity", dim ? "0.55" : (0.35 + 0.65 * size).toFixed(2));
    }
    drawNodeValues();
  }

  function mapOffset(layer, j) {
    const sizes = app.state.layer_sizes;
    let offset = 0;
    for (let l = 1; l < layer; l++) offset += sizes[l];
    return offset + j;
  }

  // While tracing: each neuron's value (forward) or gradient (backward) under it.
  function drawNodeValues() {
    const layout = app.layout;
    const trace = app.trace;
    for (const entry of layout.nodes) {
      const label = entry.node.querySelector(".node-value");
      let text = "";
      entry.node.classList.remove("active");
      if (trace && entry.j >= 0) {
        const data = trace.data;
        if (entry.layer === 0) {
          if (trace.phase === "backward" && trace.layer === 1) text = `\u2202 ${num(data.grad_inputs[entry.j], 3)}`;
          else text = num(data.inputs[entry.j], 2);
          entry.node.classList.toggle("active", trace.phase === "input");
        } else {
          const layer = data.layers[entry.layer - 1];
          if (trace.phase === "forward" || trace.phase === "loss") {
            if (entry.layer <= trace.layer || trace.phase === "loss") text = num(layer.a[entry.j], 3);
            entry.node.classList.toggle("active", trace.phase === "forward" && entry.layer === trace.layer);
          } else if (trace.phase === "backward") {
            if (entry.layer >= trace.layer) text = `\u2202 ${num(layer.grad_a[entry.j], 3)}`;
            entry.node.classList.toggle("active", entry.layer === trace.layer);
          } else if (trace.phase === "input") {
            text = "";
          }
        }
      }
      label.textContent = text;
    }
  }

  // ---- tooltips and the weight editor ------------------------------------------------------------

  function formula(l, j) {
    const w = app.latest.network.weights[l - 1][j];
    const b = app.latest.network.biases[l - 1][j];
    const activation = app.state.layer_activations[l - 1];
    const z = (w.map((wi, i) => `${num(wi, 2)}\u00b7${nodeName(l - 1, i)}`).join(" + ") + ` + ${num(b, 2)}`)
      .replace(/\+ \u2212/g, "\u2212 ");
    return `${nodeName(l, j)} = ${applyFormula(activation, z)}`;
  }

  // The activation's formula of z (from the library's ACTIVATIONS) with z spelled out.
  function applyFormula(activation, z) {
    const f = app.options.formulas.activation[activation] || `${activation}(z)`;
    return f.replace(/\bz\b/g, (match, offset) => {
      const before = f[offset - 1];
      const after = f[offset + 1];
      const bare = (before === undefined || before === "(" || before === " ") && (after === undefined || after === ")");
      return bare ? z : `(${z})`;
    });
  }

  function showNodeTip(event, l, j, featureName) {
    const tip = $("network-tip");
    let text;
    if (l === 0) {
      const name = featureName || app.state.config.features[j];
      const used = app.state.config.features.includes(name);
      const scale = app.state.feature_scales[app.options.choices.features.indexOf(name)];
      text = `${app.options.labels.features[name]} over the input plane (colour scale \u00b1${num(scale, 2)})` +
        (used ? ": an input; click to remove it" : ": not an input; click to add it");
    } else {
      const scale = app.latest.heatmap_scales[mapOffset(l, j)];
      text = formula(l, j) + `\ncolour: its output over the input plane (scale \u00b1${num(scale, 2)})`;
      if (app.trace) {
        const layer = app.trace.data.layers[l - 1];
        text += `\nthis point: z = ${num(layer.z[j])}, a = ${num(layer.a[j])}, \u2202L/\u2202a = ${num(layer.grad_a[j])}, \u2202L/\u2202z = ${num(layer.grad_z[j])}`;
      }
    }
    placeTip(tip, text, event.currentTarget.getBoundingClientRect());
  }

  function placeTip(tip, text, rect) {
    tip.textContent = text;
    tip.hidden = false;
    const panel = $("network").parentElement.getBoundingClientRect();
    const left = Math.min(rect.right - panel.left + 8, panel.width - tip.offsetWidth - 8);
    tip.style.left = `${Math.max(4, left)}px`;
    tip.style.top = `${rect.bottom - panel.top + 6}px`;
  }

  function hideTip() {
    $("network-tip").hidden = true;
  }

  function linkText(l, j, i) {
    const w = app.latest.network.weights[l - 1][j][i];
    let text = `w = ${num(w)}  (${nodeName(l - 1, i)} \u2192 ${nodeName(l, j)})`;
    if (app.trace) text += `\n\u2202L/\u2202w = ${num(app.trace.data.layers[l - 1].grad_w[j][i])} for this point`;
    return text + "\nclick to edit";
  }

  function onLinkHover(event) {
    const target = event.target;
    if (!target.dataset || target.dataset.layer === undefined) { hideTip(); return; }
    const l = Number(target.dataset.layer), j = Number(target.dataset.neuron), i = Number(target.dataset.input);
    const tip = $("network-tip");
    placeTip(tip, linkText(l, j, i), { right: event.clientX, bottom: event.clientY });
    for (const link of app.layout.links) link.path.classList.toggle("hover", link.hit === target);
  }

  function onLinkClick(event) {
    const target = event.target;
    if (!target.dataset || target.dataset.layer === undefined) return;
    openEditor(Number(target.dataset.layer), Number(target.dataset.neuron), Number(target.dataset.input), event);
  }

  function onNodeClick(l, j) {
    if (app.trace) { showNeuronDetail(l - 1, j); return; }
    openEditor(l, j, null);
  }

  // One weight (input i) or a whole neuron (i null: its bias and every incoming weight).
  function openEditor(l, j, i, event) {
    const editor = $("editor");
    editor.replaceChildren();
    const title = document.createElement("h3");
    const fields = [];
    const weights = app.latest.network.weights[l - 1][j];
    const addField = (label, value, input) => {
      const row = document.createElement("label");
      row.className = "edit-row";
      row.textContent = label;
      const box = document.createElement("input");
      box.type = "number";
      box.step = "any";
      box.value = String(value);
      box.dataset.input = input === null ? "bias" : String(input);
      row.appendChild(box);
      editor.appendChild(row);
      fields.push({ box, input, original: String(value) });
    };
    if (i !== null) {
      title.textContent = `Weight ${nodeName(l - 1, i)} \u2192 ${nodeName(l, j)}`;
      editor.appendChild(title);
      addField("w =", weights[i], i);
    } else {
      title.textContent = `Neuron ${nodeName(l, j)}`;
      editor.appendChild(title);
      const f = document.createElement("p");
      f.className = "formula";
      f.textContent = formula(l, j);
      editor.appendChild(f);
      addField("bias b =", app.latest.network.biases[l - 1][j], null);
      weights.forEach((w, k) => addField(`w from ${nodeName(l - 1, k)} =`, w, k));
    }
    const buttons = document.createElement("div");
    buttons.className = "edit-buttons";
    const save = document.createElement("button");
    save.type = "button";
    save.className = "primary-small";
    save.textContent = "Set";
    save.id = "editor-set";
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.textContent = "Cancel";
    buttons.append(save, cancel);
    editor.appendChild(buttons);
    const submit = async () => {
      for (const field of fields) {
        if (field.box.value === field.original) continue;
        const value = Number(field.box.value);
        if (field.box.value.trim() === "" || !Number.isFinite(value)) {
          field.box.classList.add("invalid");
          showMessage(`not a number: ${field.box.value}`);
          return;
        }
        const result = await control("PUT", "/weight", { layer: l - 1, neuron: j, input: field.input, value });
        if (!result) { field.box.classList.add("invalid"); return; }
        applyUpdate({ ...result, state_version: app.state.state_version, history: [], history_replace: false });
      }
      closeEditor();
    };
    save.addEventListener("click", submit);
    cancel.addEventListener("click", closeEditor);
    editor.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && e.target.tagName === "INPUT") { e.preventDefault(); submit(); }
      if (e.key === "Escape") closeEditor();
    });
    editor.hidden = false;
    const panel = $("network").parentElement.getBoundingClientRect();
    const anchor = event ? { x: event.clientX, y: event.clientY } : (() => {
      const r = app.layout.position[`${l}:${j}`].node.getBoundingClientRect();
      return { x: r.right, y: r.top };
    })();
    editor.style.left = `${Math.max(4, Math.min(anchor.x - panel.left + 8, panel.width - editor.offsetWidth - 8))}px`;
    editor.style.top = `${anchor.y - panel.top + 8}px`;
    editor.dataset.opener = i === null ? `${l}:${j}` : "";
    fields[0].box.focus();
    fields[0].box.select();
  }

  function closeEditor() {
    const editor = $("editor");
    if (editor.hidden) return;
    editor.hidden = true;
    const opener = editor.dataset.opener && app.layout && app.layout.position[editor.dataset.opener];
    if (opener) opener.node.focus();
  }

  // ---- the output: decision surface, points, loss curve ---------------------------------------------

  function queueDraw() {
    if (app.drawQueued) return;
    app.drawQueued = true;
    requestAnimationFrame(() => {
      app.drawQueued = false;
      if (!app.state || !app.latest) return;
      if (app.pendingUpdate) {
        app.pendingUpdate = false;
        app.draws.push(performance.now());
        app.drawnUpdates += 1;
      }
      showReadout();
      drawBoundary();
      drawNetwork();
      drawLossChart();
    });
  }

  function toCanvas(point, canvas) {
    const [xmin, xmax, ymin, ymax] = app.state.domain;
    return {
      x: ((point[0] - xmin) / (xmax - xmin)) * canvas.width,
      y: ((ymax - point[1]) / (ymax - ymin)) * canvas.height,
    };
  }

  function pointColor(y) {
    if (app.state.config.problem === "regression") return rgb(colorOf(Math.max(-1, Math.min(1, y))));
    return rgb(y > 0 ? POS : NEG);
  }

  function drawBoundary() {
    const canvas = $("boundary");
    const ctx = canvas.getContext("2d");
    const n = app.state.resolution;
    const discrete = $("discretize").checked;
    const small = drawBoundary.small || (drawBoundary.small = document.createElement("canvas"));
    paint(small, app.boundary, 0, n, discrete ? PALETTES.outputDiscrete : PALETTES.output);
    ctx.imageSmoothingEnabled = !discrete;
    ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
    drawAxes(ctx, canvas);
    const showTest = $("show-test").checked;
    for (const split of showTest ? ["train", "test"] : ["train"]) {
      const data = app.state.data[split];
      for (let i = 0; i < data.x.length; i++) {
        const p = toCanvas(data.x[i], canvas);
        ctx.beginPath();
        ctx.arc(p.x, p.y, 3.6, 0, 2 * Math.PI);
        ctx.fillStyle = pointColor(data.y[i]);
        ctx.fill();
        ctx.lineWidth = split === "train" ? 1 : 1.8;
        ctx.strokeStyle = split === "train" ? "#ffffff" : "#1b1b1b";
        ctx.stroke();
      }
    }
    const marked = app.trace ? { split: app.trace.data.split, index: app.trace.data.index } : app.cursor;
    if (marked) {
      const data = app.state.data[marked.split];
      if (marked.index < data.x.length) {
        const p = toCanvas(data.x[marked.index], canvas);
        ctx.beginPath();
        ctx.arc(p.x, p.y, 8, 0, 2 * Math.PI);
        ctx.lineWidth = 2.5;
        ctx.strokeStyle = "#111";
        ctx.stroke();
      }
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
    ctx.fillStyle = "rgba(0,0,0,0.7)";
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillText(`x\u2081 ${xmin.toFixed(1)}`, 4, canvas.height - 5);
    const right = xmax.toFixed(1);
    ctx.fillText(right, canvas.width - ctx.measureText(right).width - 4, canvas.height - 5);
    ctx.fillText(`x\u2082 ${ymax.toFixed(1)}`, 4, 12);
    ctx.restore();
  }

  function nearestPoint(x, y, canvas) {
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
    return best;
  }

  function onBoundaryClick(event) {
    if (!app.state) return;
    const canvas = $("boundary");
    const rect = canvas.getBoundingClientRect();
    const x = ((event.clientX - rect.left) / rect.width) * canvas.width;
    const y = ((event.clientY - rect.top) / rect.height) * canvas.height;
    const best = nearestPoint(x, y, canvas);
    if (!best) {
      showMessage("No data point there: click on a dot to watch its forward and backward pass.", "info");
      return;
    }
    startTrace(best.split, best.index);
  }

  function onBoundaryKey(event) {
    if (!app.state) return;
    const splits = $("show-test").checked ? ["train", "test"] : ["train"];
    const order = [];
    for (const split of splits) app.state.data[split].x.forEach((_, i) => order.push({ split, index: i }));
    let at = app.cursor ? order.findIndex((p) => p.split === app.cursor.split && p.index === app.cursor.index) : -1;
    if (event.key === "ArrowRight" || event.key === "ArrowDown") at = (at + 1) % order.length;
    else if (event.key === "ArrowLeft" || event.key === "ArrowUp") at = (at - 1 + order.length) % order.length;
    else if (event.key === "Enter" && app.cursor) { startTrace(app.cursor.split, app.cursor.index); return; }
    else return;
    event.preventDefault();
    app.cursor = order[at];
    $("trace-split").value = app.cursor.split;
    $("trace-index").value = String(app.cursor.index);
    queueDraw();
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
    ctx.strokeStyle = "#bbb";
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(pad.l, pad.t);
    ctx.lineTo(pad.l, h - pad.b);
    ctx.lineTo(w - pad.r, h - pad.b);
    ctx.stroke();
    ctx.fillStyle = "#444";
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillText(top.toPrecision(2), 4, pad.t + 8);
    ctx.fillText("0", pad.l - 12, h - pad.b);
    const label = `epoch ${last.toLocaleString("en-US")}`;
    ctx.fillText(label, w - pad.r - ctx.measureText(label).width, h - 4);
    for (const [column, color, dash] of [[2, "#8e44ad", [5, 4]], [1, "#222", []]]) {
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

  // ---- backprop you can watch: one point, step by step ------------------------------------------------

  let traceTicket = 0;

  async function startTrace(split, index, keepStep) {
    if (!app.state || index === null || index === undefined) return;
    const ticket = ++traceTicket;
    const data = await control("GET", `/trace?split=${split}&index=${index}`);
    if (!data || ticket !== traceTicket) return;
    stopTracePlay();
    const layers = data.layers.length;
    // Steps: the inputs, each layer forward, the loss, each layer backward (last to first).
    const steps = [{ phase: "input", layer: 0 }];
    for (let l = 1; l <= layers; l++) steps.push({ phase: "forward", layer: l });
    steps.push({ phase: "loss", layer: layers });
    for (let l = layers; l >= 1; l--) steps.push({ phase: "backward", layer: l });
    const step = keepStep !== undefined ? Math.min(keepStep, steps.length - 1) : 0;
    app.trace = { data, steps, step, ...steps[step] };
    app.cursor = { split, index };
    $("trace-split").value = split;
    $("trace-index").value = String(index);
    for (const id of ["trace-prev", "trace-next", "trace-play", "trace-exit"]) $(id).disabled = false;
    showTraceStep();
    drawNeuronGraph(true);
  }

  function endTrace() {
    stopTracePlay();
    app.trace = null;
    traceTicket++;
    for (const id of ["trace-prev", "trace-next", "trace-play", "trace-exit"]) $(id).disabled = true;
    $("trace-caption").textContent = "Click a data point in the output (or pick one above) to watch its forward pass, layer by layer, and then its backward pass on the network.";
    $("neuron-graph").replaceChildren();
    $("neuron-detail").hidden = true;
  }

  function traceStep(delta) {
    const trace = app.trace;
    if (!trace) return;
    const next = Math.max(0, Math.min(trace.steps.length - 1, trace.step + delta));
    trace.step = next;
    Object.assign(trace, trace.steps[next]);
    showTraceStep();
    if (next === trace.steps.length - 1 && trace.timer) stopTracePlay();
  }

  function toggleTracePlay() {
    const trace = app.trace;
    if (!trace) return;
    if (trace.timer) { stopTracePlay(); return; }
    if (trace.step === trace.steps.length - 1) { trace.step = -1; }
    traceStep(1);
    trace.timer = setInterval(() => traceStep(1), TRACE_PLAY_MS);
    $("trace-play").innerHTML = "&#x275A;&#x275A; Pause";
  }

  function stopTracePlay() {
    if (app.trace && app.trace.timer) clearInterval(app.trace.timer);
    if (app.trace) app.trace.timer = null;
    $("trace-play").innerHTML = "&#x25B6; Play";
  }

  function showTraceStep() {
    const trace = app.trace;
    const data = trace.data;
    const total = trace.steps.length;
    const n = data.layers.length;
    const layerName = (l) => (l === n ? "the output" : `hidden layer ${l}`);
    const lossName = `${data.loss_name} (${app.options.labels.loss[data.loss_name]})`;
    const label = app.state.config.problem === "regression" ? `target ${num(data.label, 3)}` : `label ${data.label > 0 ? "+1" : "\u22121"}`;
    let text = `Step ${trace.step + 1} of ${total} \u2014 `;
    if (trace.phase === "input") {
      text += `${data.split} point #${data.index} at (${num(data.x[0], 3)}, ${num(data.x[1], 3)}), ${label}. ` +
        `Its features enter the network: ` + data.feature_names.map((f, i) => `${f} = ${num(data.inputs[i], 3)}`).join(", ") + ".";
    } else if (trace.phase === "forward") {
      const layer = data.layers[trace.layer - 1];
      const f = app.options.formulas.activation[layer.activation];
      const top = layer.a.map((a, j) => `${nodeName(trace.layer, j)}: z = ${num(layer.z[j], 3)}, a = ${num(a, 3)}`).slice(0, 4).join("; ");
      text += `forward, ${layerName(trace.layer)}: each neuron sums its weighted inputs, z = w\u00b7a + b, then a = ${f}. ${top}${layer.a.length > 4 ? "; \u2026" : ""}.`;
    } else if (trace.phase === "loss") {
      text += `the output is ${num(data.output)}; the loss ${lossName} for ${label} is L = ${num(data.loss)}.` +
        ` Now backward: \u2202L/\u2202(output) = ${num(data.layers[n - 1].grad_a[0])}.`;
    } else {
      const layer = data.layers[trace.layer - 1];
      let best = { g: 0, j: 0, i: 0 };
      layer.grad_w.forEach((row, j) => row.forEach((g, i) => { if (Math.abs(g) > Math.abs(best.g)) best = { g, j, i }; }));
      const chain = layer.activation === "linear" ? "\u2202L/\u2202z = \u2202L/\u2202a (no activation)" :
        `\u2202L/\u2202z = \u2202L/\u2202a \u00b7 ${layer.activation}\u2032(z)`;
      text += `backward, ${layerName(trace.layer)}: ${chain}, then \u2202L/\u2202w = \u2202L/\u2202z \u00b7 (its input) on every link. ` +
        `Links show \u2202L/\u2202w (thicker: larger; blue: the update w \u2212 lr\u00b7\u2202L/\u2202w raises w, orange: lowers it). ` +
        `Largest: ${num(best.g)} on ${nodeName(trace.layer - 1, best.i)} \u2192 ${nodeName(trace.layer, best.j)}.`;
    }
    $("trace-caption").textContent = text;
    $("trace-prev").disabled = trace.step === 0;
    $("trace-next").disabled = trace.step === total - 1;
    queueDraw();
    highlightGraph();
  }

  // ---- the point's graph, one box per neuron, with pan and zoom ---------------------------------------

  const BOX = { w: 190, h: 66, gapY: 8, gapX: 44, pad: 20 };

  function drawNeuronGraph(fit) {
    const box = $("neuron-graph");
    const trace = app.trace;
    if (!trace) { box.replaceChildren(); return; }
    const data = trace.data;
    const columns = [data.inputs.map((v, i) => ({ layer: 0, j: i }))];
    data.layers.forEach((layer, l) => columns.push(layer.a.map((_, j) => ({ layer: l + 1, j }))));
    columns.push([{ loss: true }]);
    const rows = Math.max(...columns.map((c) => c.length));
    const width = BOX.pad * 2 + columns.length * BOX.w + (columns.length - 1) * BOX.gapX;
    const height = BOX.pad * 2 + rows * BOX.h + (rows - 1) * BOX.gapY;
    const svg = document.createElementNS(svgNS, "svg");
    svg.setAttribute("class", "graph-svg");
    svg.setAttribute("width", "100%");
    svg.setAttribute("height", "100%");
    const world = document.createElementNS(svgNS, "g");
    world.setAttribute("class", "world");
    svg.appendChild(world);
    const pos = {};
    columns.forEach((column, c) => {
      const x = BOX.pad + c * (BOX.w + BOX.gapX);
      const top = BOX.pad + ((rows - column.length) * (BOX.h + BOX.gapY)) / 2;
      column.forEach((item, r) => { item.x = x; item.y = top + r * (BOX.h + BOX.gapY); pos[item.loss ? "loss" : `${item.layer}:${item.j}`] = item; });
    });
    const edges = document.createElementNS(svgNS, "g");
    world.appendChild(edges);
    const weights = app.latest.network.weights;
    data.layers.forEach((layer, l) => {
      layer.a.forEach((_, j) => {
        const to = pos[`${l + 1}:${j}`];
        const incoming = l === 0 ? data.inputs.length : data.layers[l - 1].a.length;
        for (let i = 0; i < incoming; i++) {
          const from = pos[`${l}:${i}`];
          const line = document.createElementNS(svgNS, "line");
          line.setAttribute("x1", from.x + BOX.w);
          line.setAttribute("y1", from.y + BOX.h / 2);
          line.setAttribute("x2", to.x);
          line.setAttribute("y2", to.y + BOX.h / 2);
          const w = weights[l] && weights[l][j] ? weights[l][j][i] : 0;
          line.setAttribute("stroke", rgb(w >= 0 ? POS : NEG));
          line.setAttribute("stroke-opacity", (0.25 + 0.5 * Math.min(1, Math.abs(w) / 2)).toFixed(2));
          line.setAttribute("stroke-width", "1.2");
          line.dataset.layer = String(l + 1);
          edges.appendChild(line);
        }
      });
    });
    const out = pos[`${data.layers.length}:0`];
    const lossBox = pos.loss;
    const lastEdge = document.createElementNS(svgNS, "line");
    lastEdge.setAttribute("x1", out.x + BOX.w); lastEdge.setAttribute("y1", out.y + BOX.h / 2);
    lastEdge.setAttribute("x2", lossBox.x); lastEdge.setAttribute("y2", lossBox.y + BOX.h / 2);
    lastEdge.setAttribute("stroke", "#555");
    edges.appendChild(lastEdge);

    const addBox = (item, lines, kind, onClick) => {
      const g = document.createElementNS(svgNS, "g");
      g.setAttribute("class", `gbox ${kind}`);
      g.setAttribute("transform", `translate(${item.x},${item.y})`);
      const rect = document.createElementNS(svgNS, "rect");
      rect.setAttribute("width", BOX.w);
      rect.setAttribute("height", BOX.h);
      rect.setAttribute("rx", "6");
      g.appendChild(rect);
      lines.forEach((line, k) => {
        const t = document.createElementNS(svgNS, "text");
        t.setAttribute("x", "8");
        t.setAttribute("y", String(16 + k * 15));
        if (k === 0) t.setAttribute("class", "title");
        t.textContent = line;
        g.appendChild(t);
      });
      if (onClick) {
        g.setAttribute("tabindex", "0");
        g.setAttribute("role", "button");
        g.addEventListener("click", (e) => { if (!app.graphView.dragged) onClick(); e.stopPropagation(); });
        g.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); onClick(); } });
      }
      world.appendChild(g);
      return g;
    };
    data.inputs.forEach((v, i) => {
      const item = pos[`0:${i}`];
      item.g = addBox(item, [`${data.feature_names[i]}  (input)`, `a = ${num(v)}`, `\u2202L/\u2202a = ${num(data.grad_inputs[i])}`], "input");
    });
    data.layers.forEach((layer, l) => {
      layer.a.forEach((a, j) => {
        const item = pos[`${l + 1}:${j}`];
        const name = nodeName(l + 1, j);
        item.g = addBox(item, [
          `${name} = ${layer.activation === "linear" ? "z" : `${layer.activation}(z)`}`,
          `z = ${num(layer.z[j])}\u2003a = ${num(a)}`,
          `\u2202L/\u2202a = ${num(layer.grad_a[j])}`,
          `\u2202L/\u2202z = ${num(layer.grad_z[j])}`,
        ], l + 1 === data.layers.length ? "out" : "hidden", () => showNeuronDetail(l, j));
        item.g.dataset.layer = String(l + 1);
        item.g.dataset.neuron = String(j);
      });
    });
    const target = app.state.config.problem === "regression" ? `target ${num(data.label, 3)}` : `label ${data.label > 0 ? "+1" : "\u22121"}`;
    lossBox.g = addBox(lossBox, [`loss: ${data.loss_name}`, app.options.labels.loss[data.loss_name], `${target}`, `L = ${num(data.loss)}\u2003\u2202L/\u2202L = 1`], "loss");
    box.replaceChildren(svg);
    app.graphSize = { width, height };
    const room = Math.max(300, window.innerHeight - 140);
    // Actual size when the graph fits the width; narrower screens zoom out only as far as
    // text stays readable (70%) and pan for the rest; "Fit" shows it all.
    const widthFit = (box.clientWidth - 8) / width;
    const k = fit === "all" ? Math.min(1, widthFit, (room - 8) / height) : Math.min(1, Math.max(0.7, widthFit));
    box.style.height = `${Math.min(height * (fit === "all" ? k : Math.max(k, 0.7)) + 12, room)}px`;
    if (fit) app.graphView = { k, x: Math.max(4, (box.clientWidth - width * k) / 2), y: 4 };
    applyGraphView();
    highlightGraph();
  }

  function highlightGraph() {
    const trace = app.trace;
    const box = $("neuron-graph");
    if (!trace) return;
    for (const g of box.querySelectorAll(".gbox")) {
      const l = g.dataset.layer === undefined ? (g.classList.contains("input") ? 0 : -1) : Number(g.dataset.layer);
      const on = (trace.phase === "input" && g.classList.contains("input")) ||
        ((trace.phase === "forward" || trace.phase === "backward") && l === trace.layer) ||
        (trace.phase === "loss" && g.classList.contains("loss"));
      g.classList.toggle("current", on);
    }
  }

  function applyGraphView() {
    const world = $("neuron-graph").querySelector(".world");
    const v = app.graphView;
    if (world) world.setAttribute("transform", `translate(${v.x.toFixed(1)},${v.y.toFixed(1)}) scale(${v.k.toFixed(4)})`);
  }

  function zoomGraph(factor, cx, cy) {
    const v = app.graphView;
    const box = $("neuron-graph");
    const x = cx === undefined ? box.clientWidth / 2 : cx;
    const y = cy === undefined ? box.clientHeight / 2 : cy;
    const k = Math.max(0.15, Math.min(4, v.k * factor));
    v.x = x - ((x - v.x) * k) / v.k;
    v.y = y - ((y - v.y) * k) / v.k;
    v.k = k;
    applyGraphView();
  }

  function bindGraphView() {
    const box = $("neuron-graph");
    box.addEventListener("wheel", (e) => {
      if (!app.trace) return;
      e.preventDefault();
      const r = box.getBoundingClientRect();
      zoomGraph(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    let drag = null;
    box.addEventListener("pointerdown", (e) => {
      if (!app.trace || e.button !== 0) return;
      drag = { x: e.clientX, y: e.clientY, vx: app.graphView.x, vy: app.graphView.y };
      app.graphView.dragged = false;
    });
    window.addEventListener("pointermove", (e) => {
      if (!drag) return;
      const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 4) app.graphView.dragged = true;
      if (!app.graphView.dragged) return;
      app.graphView.x = drag.vx + dx;
      app.graphView.y = drag.vy + dy;
      applyGraphView();
    });
    window.addEventListener("pointerup", () => { drag = null; setTimeout(() => { app.graphView.dragged = false; }, 0); });
    box.addEventListener("keydown", (e) => {
      if (!app.trace || e.target !== box) return;
      const moves = { ArrowLeft: [40, 0], ArrowRight: [-40, 0], ArrowUp: [0, 40], ArrowDown: [0, -40] };
      if (moves[e.key]) { app.graphView.x += moves[e.key][0]; app.graphView.y += moves[e.key][1]; applyGraphView(); }
      else if (e.key === "+" || e.key === "=") zoomGraph(1.2);
      else if (e.key === "-") zoomGraph(1 / 1.2);
      else if (e.key === "0") drawNeuronGraph("all");
      else return;
      e.preventDefault();
    });
    $("graph-zoom-in").addEventListener("click", () => zoomGraph(1.2));
    $("graph-zoom-out").addEventListener("click", () => zoomGraph(1 / 1.2));
    $("graph-fit").addEventListener("click", () => drawNeuronGraph("all"));
    $("graph-actual").addEventListener("click", () => {
      app.graphView = { k: 1, x: 4, y: 4 };
      applyGraphView();
    });
    $("neuron-detail-close").addEventListener("click", () => { $("neuron-detail").hidden = true; });
  }

  // A neuron's scalar operations: the tutorial's draw_dot of that neuron, from the server.
  async function showNeuronDetail(layer, neuron) {
    const trace = app.trace;
    if (!trace) return;
    const data = trace.data;
    const result = await control("GET", `/neuron?split=${data.split}&index=${data.index}&layer=${layer}&neuron=${neuron}`);
    if (!result) return;
    const svg = new DOMParser().parseFromString(result.svg, "image/svg+xml").documentElement;
    $("neuron-detail-svg").replaceChildren(document.importNode(svg, true));
    const name = nodeName(layer + 1, neuron);
    $("neuron-detail-title").textContent = `${name}, its scalar operations (draw_dot)`;
    $("neuron-detail-caption").textContent =
      `The tutorial's picture of ${name} for ${data.split} point #${data.index}: its inputs and weights, the weighted sum ` +
      `and the activation, each with data and grad. The rest of the network enters as numbers: the inputs' values, and ` +
      `\u2202L/\u2202${name} = ${num(result.upstream_grad)} arriving from the layers after it.`;
    $("neuron-detail").hidden = false;
    $("neuron-detail").scrollIntoView({ block: "nearest" });
  }

  // ---- start --------------------------------------------------------------------------------

  async function main() {
    try {
      app.options = await api("GET", "/api/options");
      bindControls();
      let config = readUrl();
      applyHidden();
      let note = null;
      if (config.dataset === "csv") {
        config = withoutUpload(config);
        note = "This link was made with an uploaded CSV file, which is not in the link: upload it again (Data \u2192 your points).";
      }
      try {
        await startSession(config, note);
      } catch (err) {
        if (Object.keys(config).length) {
          await startSession({}, `The link's settings were refused (${err.message}); started with the defaults.`);
        } else {
          throw err;
        }
      }
    } catch (err) {
      showMessage(err.message);
    }
    setInterval(showReadout, 1000);
  }

  // A small read-only window for tests and the curious.
  window.playground = {
    get sessionId() { return app.sessionId; },
    get state() { return app.state; },
    get latest() { return app.latest; },
    get trace() { return app.trace ? { step: app.trace.step, steps: app.trace.steps.length, phase: app.trace.phase, layer: app.trace.layer, data: app.trace.data } : null; },
    get graphView() { return { ...app.graphView }; },
    stats() { return { drawnUpdates: app.drawnUpdates, now: performance.now() }; },
    pointOnCanvas(split, index) {
      const canvas = $("boundary");
      const p = toCanvas(app.state.data[split].x[index], canvas);
      const rect = canvas.getBoundingClientRect();
      return { x: rect.left + (p.x / canvas.width) * rect.width, y: rect.top + (p.y / canvas.height) * rect.height };
    },
    linkStyle(l, j, i) {
      const link = app.layout.links.find((k) => k.l === l && k.j === j && k.i === i);
      return link ? { stroke: link.path.getAttribute("stroke"), width: Number(link.path.getAttribute("stroke-width")) } : null;
    },
  };

  main();
})();

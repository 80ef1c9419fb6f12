// Quick test: images dropped or picked go to the worker at once; the answer is drawn as probability bars
// beside each image as the model saw it. Without JavaScript the form posts and the page shows the same.
// When the worker takes longer than the server waits, the answer is 202 with a status URL: poll it.
(function () {
  "use strict";
  const form = document.getElementById("quick-form");
  if (!form) return;
  const input = document.getElementById("quick-input");
  const zone = document.getElementById("quick-drop");
  const status = document.getElementById("quick-status");
  const out = document.getElementById("quick-answer");
  const maxFiles = parseInt(form.dataset.maxFiles, 10) || 10;
  const POLL_MS = 250;
  const GIVE_UP_MS = 120000;

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function percent(p) { return (p * 100).toFixed(p >= 0.995 || p < 0.001 ? 0 : 1) + "%"; }

  function draw(answer) {
    out.replaceChildren();
    for (const image of answer.images) {
      const article = el("article", { class: "cl-answer" });
      if (image.preview) {
        article.append(el("img", { class: "cl-preview", src: image.preview, width: 160, height: 160,
          alt: image.name + " as the model sees it" }));
      }
      const body = el("div", { class: "cl-answer-body" });
      body.append(el("h3", { class: "cl-answer-name" }, image.name));
      if (image.error) {
        body.append(el("p", { class: "field-error" }, image.error));
      } else {
        const list = el("ol", { class: "cl-bars" });
        for (const t of image.top) {
          const li = el("li");
          const bar = el("span", { class: "cl-bar" });
          const fill = el("span");
          fill.style.width = (t.probability * 100).toFixed(2) + "%";
          bar.append(fill);
          li.append(el("span", { class: "cl-bar-label", title: t.name }, t.name), bar,
            el("span", { class: "cl-bar-value" }, percent(t.probability)));
          list.append(li);
        }
        body.append(list);
      }
      article.append(body);
      out.append(article);
    }
    const m = answer.model;
    out.append(el("p", { class: "muted small" }, m.label + " · " + m.image_size + " px · " + answer.device + " · " +
      (answer.cache.hit ? "model already loaded" : "model loaded now") + " · answered in " +
      Math.round(answer.seconds.round_trip * 1000) + " ms"));
  }

  function send(files) {
    if (!form.elements.model.value) { status.textContent = "Choose a model first."; status.className = "field-error"; return; }
    const list = Array.from(files).slice(0, maxFiles);
    if (!list.length) return;
    const data = new FormData();
    data.append("model", form.elements.model.value);
    list.forEach((f) => data.append("images", f, f.name));
    status.className = "muted small";
    status.textContent = "Classifying " + list.length + " image" + (list.length > 1 ? "s" : "") + "…" +
      (files.length > maxFiles ? " (only the first " + maxFiles + ")" : "");
    form.classList.add("busy");
    const started = Date.now();
    Lux.fetch(form.action, { method: "POST", body: data, headers: { Accept: "application/json" } })
      .then(read)
      .then((answer) => (answer.status === "pending" ? wait(answer.status_url, started) : answer))
      .then((answer) => {
        if (answer.error) { status.className = "field-error"; status.textContent = answer.error; return; }
        status.textContent = "";
        draw(answer);
      })
      .catch(() => { status.className = "field-error"; status.textContent = "The request failed: is the server running?"; })
      .finally(() => { form.classList.remove("busy"); input.value = ""; });
  }

  function read(r) { return r.json().catch(() => ({ error: "The server answered " + r.status + "." })); }

  // Ask the status URL until the answer (or an error) comes, or give up after GIVE_UP_MS.
  function wait(url, started) {
    status.textContent = "The worker is busy; waiting for its answer…";
    return new Promise((resolve, reject) => {
      function tick() {
        Lux.fetch(url, { headers: { Accept: "application/json" } }).then(read).then((answer) => {
          if (answer.status !== "pending") { resolve(answer); return; }
          if (Date.now() - started > GIVE_UP_MS) { resolve({ error: "No answer after 2 minutes: try again later." }); return; }
          setTimeout(tick, POLL_MS);
        }).catch(reject);
      }
      setTimeout(tick, POLL_MS);
    });
  }

  input.addEventListener("change", () => send(input.files));
  ["dragenter", "dragover"].forEach((type) => zone.addEventListener(type, (e) => { e.preventDefault(); zone.classList.add("over"); }));
  ["dragleave", "drop"].forEach((type) => zone.addEventListener(type, () => zone.classList.remove("over")));
  zone.addEventListener("drop", (e) => { e.preventDefault(); send(e.dataTransfer.files); });
  zone.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); } });
})();

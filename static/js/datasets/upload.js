// The upload page: files dropped or picked go up in sequential batches (Django takes at most
// `data-max-files` files per request), with a progress bar and one result line per file.
(function () {
  "use strict";
  const form = document.getElementById("upload-form");
  if (!form) return;
  const input = document.getElementById("file-input");
  const zone = document.getElementById("dropzone");
  const maxFiles = parseInt(form.dataset.maxFiles, 10) || 100;
  const maxBytes = parseInt(form.dataset.maxBytes, 10) || 50 * 1024 * 1024;
  const batchBytes = 32 * 1024 * 1024; // keep each request small enough to retry cheaply
  const el = (id) => document.getElementById(id);
  const counts = { accepted: 0, duplicate: 0, conflict: 0, rejected: 0, skipped: 0 };
  const queue = []; // [{file, label, split}]
  let total = 0, done = 0, busy = false, startedAt = 0;

  function humanBytes(n) {
    const units = ["B", "KB", "MB", "GB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : n) + " " + units[i];
  }

  function enqueue(files) {
    const label = form.elements.label.value, split = form.elements.split.value;
    const fresh = Array.from(files).filter((f) => f && f.size !== undefined);
    if (!fresh.length) return;
    el("upload-progress").hidden = false;
    el("upload-results-card").hidden = false;
    el("upload-next").hidden = true;
    for (const file of fresh) {
      if (file.size > maxBytes) {
        total++; done++;
        report([{ name: file.name, outcome: "rejected", reason: "too_large",
          message: "The file is " + humanBytes(file.size) + "; the limit is " + humanBytes(maxBytes) + "." }]);
      } else {
        queue.push({ file: file, label: label, split: split });
        total++;
      }
    }
    showProgress();
    if (!busy) next();
  }

  function takeBatch() {
    const batch = [];
    let bytes = 0;
    while (queue.length && batch.length < maxFiles) {
      const head = queue[0];
      // One batch has one class and split, and stays under batchBytes unless a single file is larger.
      if (batch.length && (head.label !== batch[0].label || head.split !== batch[0].split)) break;
      if (batch.length && bytes + head.file.size > batchBytes) break;
      batch.push(queue.shift());
      bytes += head.file.size;
    }
    return batch;
  }

  function next() {
    const batch = takeBatch();
    if (!batch.length) { busy = false; finish(); return; }
    busy = true;
    if (!startedAt) startedAt = Date.now();
    send(batch, 0);
  }

  function send(batch, attempt) {
    const data = new FormData();
    data.append("label", batch[0].label);
    data.append("split", batch[0].split);
    for (const item of batch) data.append("files", item.file, item.file.name);
    Lux.fetch(form.action, { method: "POST", body: data, headers: { Accept: "application/json" } })
      .then((r) => {
        // A redirect means the session ended (the sign-in page answered): stop like a refusal.
        if (r.redirected) return { ok: false, status: 403, body: { error: "You were signed out: reload the page and sign in again." } };
        return r.json().catch(() => ({ error: "The server answered " + r.status + " without details." }))
          .then((body) => ({ ok: r.ok, status: r.status, body: body }));
      })
      .then((res) => {
        if (res.ok) {
          done += batch.length;
          report(res.body.files || []);
        } else if (res.status === 403) {
          failAll(batch.concat(queue.splice(0)), res.body.error || "Permission denied.");
          el("upload-message").textContent = res.body.error || "Permission denied: reload the page.";
        } else {
          failAll(batch, res.body.error || "The server refused this batch.");
        }
        showProgress();
        next();
      })
      .catch(() => {
        if (attempt < 2) { setTimeout(() => send(batch, attempt + 1), 1000 * (attempt + 1)); return; }
        failAll(batch, "The connection failed while sending this file.");
        showProgress();
        next();
      });
  }

  function failAll(batch, message) {
    done += batch.length;
    report(batch.map((item) => ({ name: item.file.name, outcome: "rejected", reason: "upload_failed", message: message })));
  }

  function describe(r) {
    const frag = document.createDocumentFragment();
    const link = (img) => { const a = document.createElement("a"); a.href = img.url; a.textContent = img.name; return a; };
    if (r.outcome === "accepted" && r.image) {
      frag.append("stored as "); frag.append(link(r.image)); frag.append(" in " + (r.image.label || "unlabelled"));
    }
    else if (r.outcome === "duplicate") {
      frag.append("duplicate of "); frag.append(r.image ? link(r.image) : "an image already here"); frag.append(", not stored twice");
    }
    else if (r.outcome === "conflict") {
      frag.append("label conflict: same file as "); frag.append(r.image ? link(r.image) : "an image");
      frag.append(" in “" + ((r.image && r.image.label) || "another class") + "”, not stored twice");
    } else frag.append(r.message || r.reason || r.outcome);
    return frag;
  }

  function report(results) {
    const list = el("upload-results");
    const frag = document.createDocumentFragment();
    for (const r of results) {
      counts[r.outcome] = (counts[r.outcome] || 0) + 1;
      const li = document.createElement("li");
      li.className = "file-result " + r.outcome;
      const pill = document.createElement("span");
      pill.className = "status " + r.outcome;
      pill.textContent = r.outcome;
      const name = document.createElement("span");
      name.className = "file-name";
      name.textContent = r.name;
      const what = document.createElement("span");
      what.className = "file-what muted";
      what.append(describe(r));
      li.append(pill, name, what);
      frag.append(li);
    }
    list.append(frag);
    for (const k of ["accepted", "duplicate", "conflict", "rejected"]) el("count-" + k).textContent = counts[k] || 0;
  }

  function showProgress() {
    const percent = total ? Math.round((100 * done) / total) : 0;
    el("upload-bar").style.width = percent + "%";
    el("upload-bar").parentElement.setAttribute("aria-valuenow", percent);
    el("upload-done").textContent = done + " of " + total + " files";
    if (done && done < total && startedAt) {
      const left = ((Date.now() - startedAt) / done) * (total - done) / 1000;
      el("upload-eta").textContent = "about " + (left < 60 ? Math.ceil(left) + " s" : Math.ceil(left / 60) + " min") + " left";
    } else el("upload-eta").textContent = "";
    el("upload-message").textContent = done < total ? "Uploading… keep this page open." : "";
  }

  function finish() {
    if (!total) return;
    startedAt = 0;
    const n = (k, word) => k + " " + word + (k === 1 ? "" : "s");
    el("upload-message").textContent = "Done: " + n(counts.accepted, "file") + " stored, " +
      n(counts.duplicate + counts.conflict, "duplicate") + ", " + counts.rejected + " rejected.";
    el("upload-progress").classList.add("finished");
    el("upload-next").hidden = false;
  }

  // Folders dropped from the file manager: walk them (Chrome, Firefox and Safari support entries).
  function filesFromEntries(items) {
    const entries = Array.from(items).map((i) => i.webkitGetAsEntry && i.webkitGetAsEntry()).filter(Boolean);
    if (!entries.length || entries.every((e) => e.isFile)) return null;
    const out = [];
    function walk(entry) {
      if (entry.isFile) return new Promise((res) => entry.file((f) => { out.push(f); res(); }, res));
      if (!entry.isDirectory) return Promise.resolve();
      const reader = entry.createReader();
      return new Promise((res) => {
        const batch = () => reader.readEntries((list) => {
          if (!list.length) return res();
          Promise.all(list.map(walk)).then(batch);
        }, res);
        batch();
      });
    }
    return Promise.all(entries.map(walk)).then(() => out);
  }

  input.addEventListener("change", () => { enqueue(input.files); input.value = ""; });
  ["dragenter", "dragover"].forEach((t) => zone.addEventListener(t, (e) => { e.preventDefault(); zone.classList.add("over"); }));
  ["dragleave", "dragend"].forEach((t) => zone.addEventListener(t, () => zone.classList.remove("over")));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    const dt = e.dataTransfer;
    const walked = dt.items ? filesFromEntries(dt.items) : null;
    if (walked) walked.then(enqueue); else enqueue(dt.files);
  });
  zone.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); } });
  el("only-problems").addEventListener("change", (e) => el("upload-results").classList.toggle("only-problems", e.target.checked));
  form.addEventListener("submit", (e) => e.preventDefault());
  window.addEventListener("beforeunload", (e) => { if (busy) { e.preventDefault(); e.returnValue = ""; } });
})();

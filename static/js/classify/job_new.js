// New batch job: show the fields of the chosen source; for images from this computer, make the job first,
// send the files in batches of at most 100, then start it and open its page.
(function () {
  "use strict";
  const form = document.getElementById("job-form");
  if (!form) return;
  const maxFiles = 100;
  const batchBytes = 32 * 1024 * 1024;
  const el = (id) => document.getElementById(id);
  const fileInput = form.elements.files;
  let picked = [];

  function source() { const c = form.querySelector("input[name=source]:checked"); return c ? c.value : "upload"; }
  function showPanels() {
    form.querySelectorAll(".cl-source-panel").forEach((p) => { p.hidden = p.dataset.source !== source(); });
  }
  form.querySelectorAll("input[name=source]").forEach((r) => r.addEventListener("change", showPanels));
  showPanels();

  function setPicked(files) {
    picked = Array.from(files);
    el("job-picked").textContent = picked.length ? picked.length + " image" + (picked.length > 1 ? "s" : "") + " chosen" : "";
  }
  fileInput.addEventListener("change", () => setPicked(fileInput.files));
  const zone = el("job-drop");
  ["dragenter", "dragover"].forEach((t) => zone.addEventListener(t, (e) => { e.preventDefault(); zone.classList.add("over"); }));
  ["dragleave", "drop"].forEach((t) => zone.addEventListener(t, () => zone.classList.remove("over")));
  zone.addEventListener("drop", (e) => { e.preventDefault(); setPicked(e.dataTransfer.files); });

  function post(url, data) {
    return Lux.fetch(url, { method: "POST", body: data, headers: { Accept: "application/json" } })
      .then((r) => r.json().catch(() => ({ error: "The server answered " + r.status + "." }))
        .then((body) => ({ ok: r.ok, body: body })));
  }

  function fail(message) {
    el("job-upload-message").textContent = message;
    el("job-upload-message").className = "field-error";
    el("job-submit").disabled = false;
  }

  function batches(files) {
    const out = [];
    let current = [], bytes = 0;
    for (const f of files) {
      if (current.length && (current.length >= maxFiles || bytes + f.size > batchBytes)) { out.push(current); current = []; bytes = 0; }
      current.push(f); bytes += f.size;
    }
    if (current.length) out.push(current);
    return out;
  }

  form.addEventListener("submit", (event) => {
    if (source() !== "upload" || !picked.length) return; // archives and versions: a plain form post
    event.preventDefault();
    el("job-submit").disabled = true;
    const data = new FormData(form);
    data.delete("files");
    data.set("defer_files", "on");
    el("job-upload").hidden = false;
    let sent = 0, refused = 0;
    const total = picked.length;
    const show = () => {
      el("job-upload-bar").style.width = (100 * sent / total).toFixed(1) + "%";
      el("job-upload-done").textContent = sent + " of " + total + " files";
      el("job-upload-refused").textContent = refused ? refused + " refused" : "";
    };
    show();
    post(form.action, data).then((res) => {
      if (!res.ok) {
        const fields = res.body.fields || {};
        const first = Object.keys(fields)[0];
        throw new Error(first ? first + ": " + fields[first][0] : (res.body.error || "The job could not be made."));
      }
      const job = res.body;
      return batches(picked).reduce((chain, batch) => chain.then(() => {
        const fd = new FormData();
        batch.forEach((f) => fd.append("files", f, f.name));
        return post(job.files_url, fd).then((r) => {
          if (!r.ok) throw new Error(r.body.error || "A batch of files was refused.");
          sent += batch.length;
          refused += r.body.files.filter((f) => !f.accepted).length;
          show();
        });
      }), Promise.resolve()).then(() => post(job.start_url, new FormData())).then((r) => {
        if (!r.ok) throw new Error(r.body.error || "The job could not start.");
        window.location.href = job.url;
      });
    }).catch((e) => fail(e.message));
  });
})();

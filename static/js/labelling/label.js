// The labelling desk: one image at a time; number and letter keys label, Enter accepts the model's suggestion,
// Z undoes, S or → skips, ← goes back. The next image is preloaded so that labelling never waits on the network,
// and keys pressed while the next images are still on their way are kept and applied in order once they come.
(function () {
  "use strict";
  pollPrelabel();
  const desk = document.getElementById("label-desk");
  if (!desk) return;
  const img = document.getElementById("label-image");
  const nameEl = document.getElementById("label-name");
  const doneEl = document.getElementById("label-done");
  const messageEl = document.getElementById("label-message");
  const remainingEl = document.getElementById("label-remaining");
  const rateEl = document.getElementById("label-rate");
  const undoButton = document.getElementById("label-undo");
  const openLink = document.getElementById("label-open");
  const suggestionEl = document.getElementById("label-suggestion");
  const acceptButton = document.getElementById("label-accept");
  const buttons = Array.from(desk.querySelectorAll(".label-class"));
  const byKey = {};
  buttons.forEach(function (b) { if (b.dataset.key) byKey[b.dataset.key] = b.dataset.class; });
  const review = desk.dataset.review ? Number(desk.dataset.review) : null;

  const queue = [];        // entries {id, name, label, file, page}, in the order shown
  const seen = new Set();  // image ids already queued
  const undoStack = [];    // {event, index}
  let index = 0;
  let remaining = Number(remainingEl.textContent.replace(/\D/g, "")) || 0;
  let exhausted = false;
  let loading = null;
  let changes = 0;         // labels and undos answered: a queue answer older than one of them has a stale count
  const labelTimes = [];
  const buffered = [];     // keys pressed while no image was there yet (the queue still loading), in order

  function say(text) { messageEl.textContent = text || ""; messageEl.hidden = !text; }
  function setRemaining(n) { remaining = Math.max(0, n); remainingEl.textContent = remaining.toLocaleString(); }

  function fetchMore() {
    if (exhausted) return Promise.resolve();
    if (loading) return loading;
    const last = queue.length ? queue[queue.length - 1].id : 0;
    const changesAtStart = changes;
    let url = desk.dataset.queueUrl + "?scope=" + encodeURIComponent(desk.dataset.scope) + "&after=" + last +
      "&order=" + encodeURIComponent(desk.dataset.order || "");
    if (desk.dataset.job) url += "&job=" + encodeURIComponent(desk.dataset.job);
    if (desk.dataset.filter) url += "&" + desk.dataset.filter;  // already a query string (the suggestion filter)
    loading = Lux.fetch(url).then(function (r) { return r.json(); }).then(function (data) {
      if (!data.images.length) exhausted = true;
      data.images.forEach(function (e) { if (!seen.has(e.id)) { seen.add(e.id); queue.push(e); } });
      if (!pending && changes === changesAtStart) setRemaining(data.remaining);
    }).catch(function () { say("Could not load more images; check the connection."); })
      .finally(function () { loading = null; });
    return loading;
  }

  function preload(i) { if (queue[i]) { const p = new Image(); p.src = queue[i].file; } }

  function show() {
    const entry = queue[index];
    if (!entry) {
      img.hidden = true; nameEl.textContent = ""; doneEl.hidden = !exhausted;
      desk.dataset.current = "";
      suggestionEl.hidden = true; acceptButton.disabled = true;
      // Several shows may wait on the same fetch: each shows what came, and only the end of the queue drops keys.
      if (exhausted) buffered.length = 0;
      else fetchMore().then(function () { if (queue[index] || exhausted) show(); });
      return;
    }
    doneEl.hidden = true;
    img.hidden = false;
    img.src = entry.file;
    img.alt = entry.name;
    nameEl.textContent = entry.name;
    openLink.href = entry.page;
    desk.dataset.current = String(entry.id);
    buttons.forEach(function (b) { b.classList.toggle("current", Number(b.dataset.class) === entry.label); });
    const hint = entry.suggestion;
    buttons.forEach(function (b) { b.classList.toggle("suggested", !!hint && Number(b.dataset.class) === hint.label); });
    suggestionEl.hidden = !hint;
    acceptButton.disabled = !(hint && hint.label);
    if (hint) {
      suggestionEl.textContent = "The model suggests " + hint.label_name + " (" + Math.round(hint.confidence * 100) +
        "% sure" + (hint.label ? "" : "; not a class of this dataset") + ") · " + hint.model;
    }
    preload(index + 1);
    preload(index + 2);
    if (queue.length - index < 6) fetchMore();
    drain();
  }

  // Keys that came before their image: applied now, in the order they were pressed.
  let draining = false;
  function drain() {
    if (draining) return;  // one loop at a time: a label's show must not apply the next key before its own save
    draining = true;
    try {
      while (buffered.length && queue[index]) command(buffered.shift());
    } finally {
      draining = false;
    }
  }

  function move(step) { index = Math.max(0, Math.min(queue.length, index + step)); say(""); show(); }

  function rate() {
    const now = Date.now();
    while (labelTimes.length && now - labelTimes[0] > 60000) labelTimes.shift();
    rateEl.textContent = labelTimes.length + " labels per minute";
  }

  // Labels and undos go to the server one after another, in key order; the page moves on at once and only
  // steps back (with the server's message) when one is refused, so labelling never waits on the network.
  let chain = Promise.resolve();
  let pending = 0;
  function send(url, body) {
    pending += 1;
    const answer = chain.then(function () {
      return Lux.fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body()) })
        .then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); })
        .catch(function () { return { ok: false, data: { detail: "Not saved; check the connection." } }; });
    });
    chain = answer.then(function () { pending -= 1; changes += 1; });
    return answer;
  }

  function leaves(was, now) { return review === null ? (!was && !!now) : (was === review && now !== review); }

  function label(classId, hint) {
    const entry = queue[index];
    if (!entry) return;
    const at = index;
    const was = entry.label;
    const now = Number(classId);
    entry.label = now;
    if (leaves(was, now)) setRemaining(remaining - 1);
    labelTimes.push(Date.now());
    rate();
    const saved = send(desk.dataset.labelUrl, function () {
      const body = { image: entry.id, label: now };
      if (was) body.expected = was;
      if (hint) { body.origin = "suggestion"; body.model = hint.model; }
      return body;
    });
    move(1);  // after the save is in line, so that saves keep the order of the keys
    saved.then(function (answer) {
      if (answer.ok) {
        undoStack.push({ event: answer.data.event, index: at, was: was });
        undoButton.disabled = false;
        return;
      }
      if (entry.label === now) entry.label = was;
      if (leaves(was, now)) setRemaining(remaining + 1);
      labelTimes.pop();
      rate();
      say((answer.data.detail || "That label was not saved.") + " (" + entry.name + ")");
    });
  }

  function undo() {
    let last = null;
    send(desk.dataset.undoUrl, function () {
      last = undoStack.pop();
      return { event: last ? last.event : 0 };
    }).then(function (answer) {
      undoButton.disabled = !undoStack.length;
      if (!last) return;
      if (!answer.ok) { say(answer.data.detail || "Could not undo."); return; }
      const entry = queue[last.index];
      const now = entry.label;
      entry.label = answer.data.label;
      if (leaves(last.was, now)) setRemaining(remaining + 1);
      labelTimes.pop();
      rate();
      index = last.index;
      say("Undone.");
      show();
    });
  }

  function accept() {
    const entry = queue[index];
    if (entry && entry.suggestion && entry.suggestion.label) label(entry.suggestion.label, entry.suggestion);
  }

  // One key's command; a label or skip pressed before the next image has come waits for it.
  function command(key) {
    if ((key === "Enter" || key === "s" || key === "ArrowRight" || byKey[key]) && !queue[index] && !exhausted) {
      buffered.push(key);
      show();
      return;
    }
    if (key === "z") undo();
    else if (key === "Enter") accept();
    else if (key === "s" || key === "ArrowRight") move(1);
    else if (key === "ArrowLeft") move(-1);
    else if (byKey[key]) label(byKey[key]);
  }

  buttons.forEach(function (b) { b.addEventListener("click", function () { label(b.dataset.class); }); });
  acceptButton.addEventListener("click", accept);
  undoButton.addEventListener("click", undo);
  document.getElementById("label-skip").addEventListener("click", function () { move(1); });
  document.getElementById("label-prev").addEventListener("click", function () { move(-1); });
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const target = e.target;
    if (target instanceof HTMLInputElement || target instanceof HTMLSelectElement || target instanceof HTMLTextAreaElement) return;
    if (target instanceof HTMLButtonElement && e.key === "Enter") return;  // Enter on a button clicks it
    const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    if (!(key === "z" || key === "Enter" || key === "s" || key === "ArrowRight" || key === "ArrowLeft" || byKey[key])) return;
    e.preventDefault();
    if (!buffered.length) { command(key); return; }
    buffered.push(key);  // keep the order: earlier keys still wait for their image
    if (!loading) show();  // the last fetch failed: ask again
  });
  setInterval(rate, 5000);
  fetchMore().then(show);
})();

// While a pre-label job runs, follow its progress and reload the page (with its suggestions) once it ends.
function pollPrelabel() {
  "use strict";
  const card = document.getElementById("prelabel");
  if (!card || !card.dataset.active) return;
  const doneEl = document.getElementById("prelabel-done");
  const timer = setInterval(function () {
    Lux.fetch(card.dataset.statusUrl).then(function (r) { return r.json(); }).then(function (data) {
      if (!data.job) return;
      if (doneEl) doneEl.textContent = String(data.job.done);
      if (!data.job.active) { clearInterval(timer); window.location.reload(); }
    }).catch(function () { /* the next look tries again */ });
  }, 2000);
}

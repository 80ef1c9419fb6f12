// Launch form: show the chosen architecture's defaults in the empty settings, and when it can start pretrained.
(function () {
  "use strict";
  const form = document.querySelector(".launch-form");
  const arch = form && form.querySelector("select[name=arch]");
  const data = document.getElementById("arch-defaults");
  if (!arch || !data) return;
  const defaults = JSON.parse(data.textContent);
  const hint = document.getElementById("arch-hint");
  const pretrained = form.querySelector("input[name=pretrained]");
  const alwaysOff = pretrained && pretrained.dataset.alwaysDisabled === "true";
  const reason = document.getElementById("pretrained-reason");
  const reasonDefault = reason ? reason.dataset.default || "" : "";

  function label(el, value) {
    const option = Array.from(el.options).find(function (o) { return o.value === String(value); });
    return option ? option.textContent : value;
  }
  // An empty setting takes the architecture's default: say which value that is.
  function showDefaults(settings) {
    Object.keys(settings).forEach(function (name) {
      const el = form.elements[name];
      if (!el || el.type === "checkbox") return;
      if (el.tagName === "SELECT") {
        const blank = Array.from(el.options).find(function (o) { return o.value === ""; });
        if (blank) blank.textContent = "Architecture default (" + label(el, settings[name]) + ")";
      } else {
        el.placeholder = "default: " + settings[name];
      }
    });
  }

  function apply() {
    const info = defaults[arch.value];
    if (!info) return;
    if (hint) hint.textContent = info.family + " · suggested input " + info.suggested_size + " px";
    if (pretrained && !alwaysOff) {
      pretrained.disabled = !info.pretrained;
      if (!info.pretrained) pretrained.checked = false;
      if (reason) reason.textContent = info.pretrained ? reasonDefault : info.reason;
    }
    const usePretrained = pretrained && pretrained.checked && info.pretrained;
    showDefaults(usePretrained && info.pretrained_settings ? info.pretrained_settings : info.settings);
  }

  arch.addEventListener("change", apply);
  if (pretrained) pretrained.addEventListener("change", apply);
  apply();

  // The recipe the current choices get ("240 training images → 60 epochs of 4 steps, batch 64"), from the server.
  const recipe = document.getElementById("recipe-line");
  const RECIPE_FIELDS = ["dataset", "version", "arch", "pretrained", "start_from", "image_size", "epochs",
    "batch_size", "lr"];
  let timer = null;
  let asked = 0;
  function askRecipe() {
    const query = new URLSearchParams();
    RECIPE_FIELDS.forEach(function (name) {
      const el = form.elements[name];
      if (!el) return;
      if (el.type === "checkbox") { if (el.checked) query.set(name, "on"); } else if (el.value) query.set(name, el.value);
    });
    if (!query.get("dataset") && !query.get("version")) { recipe.hidden = true; return; }
    const mine = ++asked;
    fetch(recipe.dataset.url + "?" + query.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (answer) {
        if (mine !== asked || !answer) return;  // a later choice's answer wins
        recipe.textContent = answer.recipe;
        recipe.hidden = !answer.recipe;
      })
      .catch(function () { /* the line stays as it was; Train still validates everything */ });
  }
  if (recipe) {
    RECIPE_FIELDS.forEach(function (name) {
      const el = form.elements[name];
      if (!el) return;
      el.addEventListener(el.tagName === "SELECT" || el.type === "checkbox" ? "change" : "input", function () {
        clearTimeout(timer);
        timer = setTimeout(askRecipe, 250);
      });
    });
    askRecipe();
  }
})();

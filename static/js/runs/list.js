// Runs list: enable "Compare selected" when 2 to 4 runs are ticked.
(function () {
  "use strict";
  const form = document.getElementById("compare-form");
  const button = document.getElementById("compare-button");
  const hint = document.getElementById("compare-hint");
  if (!form || !button) return;
  form.addEventListener("change", function () {
    const n = form.querySelectorAll("input[name=run]:checked").length;
    button.disabled = n < 2 || n > 4;
    hint.textContent = n > 4 ? "At most 4 runs at a time." : n < 2 ? "Tick 2 to 4 runs to compare them." : n + " runs selected.";
  });
})();

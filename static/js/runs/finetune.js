// The launch form's "Fine-tune" choice only means something when the run starts from weights (ImageNet or an
// earlier model): show it then, hide it otherwise. The server ignores nothing: a mode other than "full" without
// weights is refused beside the field.
(function () {
  "use strict";
  const field = document.querySelector('.launch-form [data-field="finetune"]');
  if (!field) return;
  const pretrained = document.querySelector('.launch-form input[name="pretrained"]');
  const start = document.querySelector('.launch-form select[name="start_from"]');
  const select = field.querySelector("select");

  function update() {
    const fromWeights = Boolean((pretrained && pretrained.checked && !pretrained.disabled) || (start && start.value));
    // A mode already chosen, or refused with an error, stays in sight so it can be changed.
    const chosen = select && select.value && select.value !== "full";
    field.hidden = !fromWeights && !chosen && !field.classList.contains("has-error");
  }

  [pretrained, start].forEach((input) => { if (input) input.addEventListener("change", update); });
  const arch = document.querySelector('.launch-form select[name="arch"]');
  if (arch) arch.addEventListener("change", () => window.setTimeout(update, 0)); // launch.js may disable ImageNet
  update();
})();

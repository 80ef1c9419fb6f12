// The browse page's selection: shift-click ranges, select all on the page, arrow keys between tiles,
// number keys that put the selected tiles in a class, and a confirmation before deleting.
(function () {
  "use strict";
  const form = document.getElementById("bulk-form");
  const grid = document.getElementById("thumb-grid");
  if (!form || !grid) return;
  const boxes = Array.from(grid.querySelectorAll(".tile-check"));
  const all = document.getElementById("select-all");
  const counter = document.getElementById("selected-count");
  const buttons = Array.from(form.querySelectorAll(".bulk-button"));
  let last = null; // index of the last box clicked, for shift-click ranges

  function refresh() {
    const n = boxes.filter((b) => b.checked).length;
    counter.textContent = n + " selected";
    buttons.forEach((b) => { b.disabled = n === 0; });
    all.checked = n > 0 && n === boxes.length;
    all.indeterminate = n > 0 && n < boxes.length;
    boxes.forEach((b) => b.closest(".tile").classList.toggle("selected", b.checked));
  }

  // Set box i; with shift, set every box between the last one touched and i the same way.
  function pick(i, shift) {
    if (shift && last !== null && last !== i) {
      const [a, b] = last < i ? [last, i] : [i, last];
      for (let k = a; k <= b; k++) boxes[k].checked = boxes[i].checked;
    }
    last = i;
    refresh();
  }

  boxes.forEach((box, i) => box.addEventListener("click", (e) => pick(i, e.shiftKey)));
  // A click on the picture toggles its box too (shift-click on pictures makes ranges as well).
  grid.querySelectorAll(".tile-img").forEach((label, i) => {
    label.addEventListener("click", (e) => {
      e.preventDefault();
      boxes[i].checked = !boxes[i].checked;
      boxes[i].focus();
      pick(i, e.shiftKey);
    });
  });
  all.addEventListener("change", () => { boxes.forEach((b) => { b.checked = all.checked; }); last = null; refresh(); });

  // Arrow keys move focus between tiles' checkboxes, row by row as laid out on screen.
  grid.addEventListener("keydown", (e) => {
    const i = boxes.indexOf(document.activeElement);
    if (i < 0) return;
    const top = boxes[i].closest(".tile").offsetTop;
    const perRow = boxes.filter((b) => b.closest(".tile").offsetTop === top).length || 1;
    const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: perRow, ArrowUp: -perRow }[e.key];
    if (!step) return;
    e.preventDefault();
    const next = boxes[Math.max(0, Math.min(boxes.length - 1, i + step))];
    next.focus();
    if (e.shiftKey) { next.checked = boxes[i].checked; refresh(); }
  });

  // A number key (1–9, as listed in the class menu) puts the selected tiles in that class: the "Set class" action.
  const classMenu = document.getElementById("bulk-label");
  const relabel = form.querySelector('.bulk-button[value="relabel"]');
  function typing(el) {
    if (!el) return false;
    if (el.isContentEditable || el.tagName === "SELECT" || el.tagName === "TEXTAREA") return true;
    return el.tagName === "INPUT" && !["checkbox", "radio", "button", "submit"].includes(el.type);
  }
  document.addEventListener("keydown", (e) => {
    if (!/^[1-9]$/.test(e.key) || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    const option = classMenu.querySelector('option[data-key="' + e.key + '"]');
    if (!option || !boxes.some((b) => b.checked)) return;
    e.preventDefault();
    classMenu.value = option.value;
    relabel.disabled = false;
    form.requestSubmit(relabel);
  });

  form.addEventListener("submit", (e) => {
    const button = e.submitter;
    if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) e.preventDefault();
  });
  refresh();
})();

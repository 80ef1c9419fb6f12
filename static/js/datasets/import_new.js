// The ZIP import form: once sent, disable the button and say that a large file takes a while.
(function () {
  "use strict";
  const form = document.getElementById("import-form");
  if (!form) return;
  form.addEventListener("submit", function () {
    document.getElementById("import-submit").disabled = true;
    document.getElementById("import-sending").hidden = false;
  });
})();

// The backup-codes page's "Copy" button. Without script (or without the
// Clipboard API) it stays hidden: the codes are on the page and in the
// download link. A file, not an inline script, so a strict
// Content-Security-Policy (script-src 'self') lets it run. Its words come
// translated from the page (data-copied, data-failed).
(function () {
  "use strict";
  var button = document.getElementById("copy-codes");
  if (!button || !navigator.clipboard) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(button.dataset.codes).then(
      function () {
        button.textContent = button.dataset.copied || "Copied";
      },
      function () {
        button.textContent =
          button.dataset.failed || "Could not copy: select the codes instead";
      }
    );
  });
})();

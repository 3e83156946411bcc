/* Bihuan's one script. The Content-Security-Policy allows no inline script or on...= handler,
   so the few behaviours a page needs are attached here, by data attribute. Loaded with defer:
   the document is parsed when this runs. */
(function () {
  "use strict";
  // A filter that applies as soon as it is chosen (<select data-autosubmit>); a <noscript>
  // button next to it does the same without JavaScript.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { el.form.submit(); });
  });
  // The one-time token of a request form (tickets/forms_common.py), copied into a text input
  // the page renders empty: the browser puts that back when the user returns to the form with
  // Back, so submitting it again is recognised as the same form. A value put back is kept.
  document.querySelectorAll("input[data-one-time-token]").forEach(function (el) {
    var source = el.form && el.form.elements[el.getAttribute("data-one-time-token")];
    if (!el.value && source) { el.value = source.value; }
  });
  // A print button (<button data-print>) on the print pages.
  document.querySelectorAll("[data-print]").forEach(function (el) {
    el.addEventListener("click", function () { window.print(); });
  });
})();

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
  // The accept form's lead list (<select data-sets-department="id of the department select">):
  // each option names its department, and choosing a lead sets it. Without script the server
  // takes the lead's department all the same (services/approvals.lead_and_department).
  document.querySelectorAll("select[data-sets-department]").forEach(function (el) {
    var dept = document.getElementById(el.getAttribute("data-sets-department"));
    if (!dept) { return; }
    el.addEventListener("change", function () {
      var option = el.options[el.selectedIndex];
      var id = option && option.getAttribute("data-department");
      if (id) { dept.value = id; }
    });
  });
  // A page shown in answer to a refused form (ticket/view.html marks it): the address bar is
  // set to the page's own address, so that a reload reads the page and never posts again.
  document.querySelectorAll("[data-replace-url]").forEach(function (el) {
    if (window.history && window.history.replaceState) {
      window.history.replaceState(null, "", el.getAttribute("data-replace-url") + window.location.hash);
    }
  });
  // A print button (<button data-print>) on the print pages.
  document.querySelectorAll("[data-print]").forEach(function (el) {
    el.addEventListener("click", function () { window.print(); });
  });
})();

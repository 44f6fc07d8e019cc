// Marquee's only hand-written script. Everything works without it; it adds:
// - the CSRF token on every htmx request (htmx 4 does not inherit hx-headers implicitly),
// - focus on the first invalid field, or the new content, after a swap.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  document.addEventListener("htmx:config:request", function (event) {
    var ctx = event.detail && event.detail.ctx;
    if (ctx && ctx.request && ctx.request.headers) {
      ctx.request.headers["X-CSRFToken"] = csrfToken();
    }
  });

  document.addEventListener("htmx:after:swap", function (event) {
    var ctx = event.detail && event.detail.ctx;
    var id = ctx && ctx.target && ctx.target.id;
    // An outerHTML swap replaces the target: find its successor by id.
    var element = id ? document.getElementById(id) : null;
    if (!element) {
      return;
    }
    var invalid = element.querySelector('[aria-invalid="true"]');
    if (invalid) {
      invalid.focus();
    } else if (element.id === "main") {
      element.focus();
    } else if (!document.activeElement || document.activeElement === document.body) {
      // The button or link just used went away with the old content: keep keyboard
      // and screen reader users where they were, on what replaced it.
      if (!element.hasAttribute("tabindex")) {
        element.setAttribute("tabindex", "-1");
      }
      element.focus();
    }
  });
})();

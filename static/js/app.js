// Marquee's only hand-written script. Everything works without it; it adds:
// - the CSRF token on every htmx request (htmx 4 does not inherit hx-headers implicitly),
// - focus on the first invalid field, or the new content, after a swap,
// - a ticking countdown beside a tonight session's deadline (the server's text says
//   the minutes left and is refreshed by polling; this adds the seconds).
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

  function tick() {
    var clocks = document.querySelectorAll("time[data-countdown]");
    for (var i = 0; i < clocks.length; i++) {
      var end = Date.parse(clocks[i].getAttribute("datetime"));
      var out = clocks[i].parentNode.querySelector("[data-countdown-left]");
      if (!out || isNaN(end)) {
        continue;
      }
      var left = Math.max(0, Math.round((end - Date.now()) / 1000));
      var minutes = Math.floor(left / 60);
      var seconds = left % 60;
      out.textContent = left > 0
        ? "(" + minutes + ":" + (seconds < 10 ? "0" : "") + seconds + " left)"
        : "(time is up: reload for the result)";
    }
  }

  setInterval(tick, 1000);
})();

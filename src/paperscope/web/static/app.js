// Progressive enhancement only: every feature works without this file.
(function () {
  "use strict";
  // Upvote without reloading the page: post the same form, read the JSON answer.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-vote]") || !window.fetch) return;
    event.preventDefault();
    var data = new FormData(form);
    fetch(form.action, { method: "POST", body: data, headers: { "Accept": "application/json" },
                         credentials: "same-origin" })
      .then(function (response) { if (!response.ok) throw new Error(response.status); return response.json(); })
      .then(function (answer) {
        var button = form.querySelector("button");
        form.querySelector("input[name=up]").value = answer.voted ? "0" : "1";
        button.classList.toggle("voted", answer.voted);
        button.setAttribute("aria-pressed", answer.voted ? "true" : "false");
        button.querySelector(".count").textContent = answer.upvotes;
      })
      .catch(function () { form.submit(); });
  });
  // Theme toggle without a round trip: auto -> light -> dark.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-theme-toggle]");
    if (!link) return;
    event.preventDefault();
    var order = ["auto", "light", "dark"];
    var root = document.documentElement;
    var next = order[(order.indexOf(root.dataset.theme || "auto") + 1) % order.length];
    root.dataset.theme = next;
    document.cookie = "theme=" + next + "; path=/; max-age=31536000; samesite=lax";
    link.textContent = "Theme: " + next;
  });
  // Dismissible notices: the cookie names the dismissed one, which the server then leaves out.
  document.querySelectorAll("[data-notice] [data-dismiss]").forEach(function (button) { button.hidden = false; });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-dismiss]");
    var notice = button && button.closest("[data-notice]");
    if (!notice) return;
    document.cookie = "dismissed_notice=" + notice.dataset.notice + "; path=/; max-age=2592000; samesite=lax";
    notice.remove();
  });
})();

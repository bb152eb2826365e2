// orgsync web UI: live updates of parts of a page while a sync runs.
//
// An element with data-refresh="SECONDS" and an id is fetched again from the
// current URL every SECONDS seconds and replaced by the element with the same
// id in the new page. The server sets data-refresh only while a run is in
// progress, so polling stops when the new element no longer has it. Without
// JavaScript the page works the same and shows a plain refresh link.
"use strict";

(function () {
  const MIN_SECONDS = 1;

  function schedule(element) {
    const seconds = Math.max(MIN_SECONDS, Number(element.dataset.refresh) || 0);
    window.setTimeout(() => refresh(element.id), seconds * 1000);
  }

  async function refresh(id) {
    const current = document.getElementById(id);
    if (!current) {
      return;
    }
    try {
      const response = await fetch(window.location.href, {
        headers: { Accept: "text/html" },
        credentials: "same-origin",
      });
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const replacement = page.getElementById(id);
      if (!replacement) {
        return;
      }
      const hadFocus = current.contains(document.activeElement);
      current.replaceWith(replacement);
      if (hadFocus) {
        replacement.focus();
      }
      if (replacement.dataset.refresh) {
        schedule(replacement);
      }
    } catch (error) {
      // Keep the last good content and try again later.
      console.warn("orgsync: refreshing #" + id + " failed:", error);
      schedule(current);
    }
  }

  function start() {
    document.querySelectorAll("[data-refresh][id]").forEach(schedule);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

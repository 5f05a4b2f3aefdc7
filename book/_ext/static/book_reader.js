// Reader shims added by book/_ext/book_reader.py (no remote code; see that file's
// docstring).
"use strict";

// Wide display math: scale a formula down until it fits its column, to no less than
// MIN_SCALE of its size; a formula still too wide scrolls inside its own box
// (book_reader.css). Re-fitted when the window is resized.
(() => {
  const MIN_SCALE = 0.75;

  function fitDisplayMath() {
    for (const math of document.querySelectorAll("div.math > mjx-container")) {
      if (math.dataset.fontSize === undefined) math.dataset.fontSize =
   math.style.fontSize;
      math.style.fontSize = math.dataset.fontSize;
      const column = math.clientWidth;
      const needed = math.scrollWidth;
      if (column > 0 && needed > column) {
        const base = parseFloat(math.dataset.fontSize) || 100;
        const scale = Math.max(MIN_SCALE, (column - 1) / needed);
        math.style.fontSize = `${(base * scale).toFixed(1)}%`;
      }
    }
  }

  let pending = null;
  window.addEventListener("resize", () => {
    clearTimeout(pending);
    pending = setTimeout(fitDisplayMath, 100);
  });
  // MathJax is loaded with `async`: by the load event it has started typesetting.
  window.addEventListener("load", () => {
    const startup = window.MathJax && window.MathJax.startup;
    if (startup && startup.promise) startup.promise.then(fitDisplayMath);
  });
})();

// A box that scrolls needs a tab stop, or a keyboard cannot scroll it (axe-core's
// scrollable-region-focusable). The theme gives one to the boxes that scroll when the
// page loads; a code block in a solution that is opened later, or a box that starts to
// scroll after a resize, gets its tab stop here.
(() => {
  const BOXES = "pre, .cell_output > .output, .pst-scrollable-table-container";

  function addTabStops() {
    for (const box of document.querySelectorAll(BOXES)) {
      if (box.scrollWidth > box.clientWidth && box.tabIndex !== 0) box.tabIndex = 0;
    }
  }

  let pending = null;
  const later = () => {
    clearTimeout(pending);
    pending = setTimeout(addTabStops, 300); // after a folded block's transition
  };
  window.addEventListener("resize", later);
  document.addEventListener("click", later);
  window.addEventListener("load", addTabStops);
})();

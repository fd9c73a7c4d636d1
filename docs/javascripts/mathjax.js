// MathJax 3 configuration for pymdownx.arithmatex (generic mode): only the `arithmatex`
// spans/divs are typeset. MathJax itself is served from this site (assets/mathjax/), copied
// there at build time from the npm package; nothing is fetched from a CDN.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex"
  }
};

// Material's instant navigation swaps the page content without a reload: typeset the new
// content every time (the first emission is the initial page load).
document$.subscribe(() => {
  const mj = window.MathJax;
  if (!mj || !mj.startup || !mj.startup.promise) {
    return; // MathJax not loaded yet: its own startup typesets the first page
  }
  mj.startup.promise = mj.startup.promise
    .then(() => {
      mj.startup.output.clearCache();
      mj.typesetClear();
      mj.texReset();
      return mj.typesetPromise();
    })
    .catch((err) => console.error("MathJax typeset failed:", err));
});

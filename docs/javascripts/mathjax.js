// MathJax 3 settings for pymdownx.arithmatex (generic mode): typeset only the spans and divs
// arithmatex marked (the docs hook marks the notebook's $...$ the same way). The MathJax script
// itself is served from the site (assets/mathjax/).
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

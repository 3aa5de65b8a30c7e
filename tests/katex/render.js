// Reads a JSON list of LaTeX strings on stdin; prints a JSON list of null (rendered)
// or the error message, one per string. Display-mode, throwOnError: true. KaTeX has no
// \intertext (the steps' rule names in align*): it is defined as a row of text, as a
// page that shows the steps with KaTeX defines it.
const katex = require("katex");
const MACROS = { "\\intertext": "\\text{#1}\\\\" };
let input = "";
process.stdin.on("data", (c) => (input += c));
process.stdin.on("end", () => {
  const out = JSON.parse(input).map((tex) => {
    try {
      katex.renderToString(tex, { throwOnError: true, displayMode: true, macros: MACROS });
      return null;
    } catch (e) {
      return String(e.message || e);
    }
  });
  process.stdout.write(JSON.stringify(out));
});

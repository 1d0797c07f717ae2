// Answers version questions with rattler (conda/rattler compiled to wasm, @conda-org/rattler), so
// the C++ tests can compare docker-envs' Version/VersionSpec with an independent implementation.
//
// Reads tab-separated queries on stdin, one per line, and prints one answer line per query:
//   p <version>            -> "ok" or "E"               (does the version parse?)
//   c <a> <b>              -> "-1" | "0" | "1" | "E"    (a compared with b)
//   s <a> <b>              -> "1" | "0" | "E"           (a starts with b)
//   m <spec> <version>     -> "1" | "0" | "E"           (version spec contains version; lenient)
//   t <spec>               -> rattler's text for the spec, or "E"
// Usage: node rattler_oracle.mjs < queries.tsv
import { readFileSync } from "node:fs";
import { Version, VersionSpec } from "@conda-org/rattler";

const versions = new Map();
function version(text) {
  if (!versions.has(text)) {
    let v = null;
    try { v = new Version(text); } catch { v = null; }
    versions.set(text, v);
  }
  return versions.get(text);
}
const specs = new Map();
function spec(text) {
  if (!specs.has(text)) {
    let s = null;
    try { s = new VersionSpec(text, "lenient"); } catch { s = null; }
    specs.set(text, s);
  }
  return specs.get(text);
}

const out = [];
for (const line of readFileSync(0, "utf8").split("\n")) {
  if (line === "") continue;
  const [kind, a = "", b = ""] = line.split("\t");
  let answer = "E";
  try {
    if (kind === "p") {
      answer = version(a) ? "ok" : "E";
    } else if (kind === "c") {
      const va = version(a), vb = version(b);
      if (va && vb) answer = String(Math.sign(va.compare(vb)));
    } else if (kind === "s") {
      const va = version(a), vb = version(b);
      if (va && vb) answer = va.startsWith(vb) ? "1" : "0";
    } else if (kind === "m") {
      const s = spec(a), v = version(b);
      if (s && v) answer = s.matches(v) ? "1" : "0";
    } else if (kind === "t") {
      const s = spec(a);
      if (s) answer = s.toString();
    }
  } catch {
    answer = "E";
  }
  out.push(answer);
}
process.stdout.write(out.join("\n") + (out.length ? "\n" : ""));

// Solves conda requests with rattler (conda/rattler compiled to wasm, @conda-org/rattler), so the
// C++ tests and bench/solve.sh can compare docker-envs' solver with an independent one.
//
//   node rattler_solve.mjs ROOT < requests.jsonl
//
// Serves the directory ROOT over HTTP on 127.0.0.1 (an ephemeral port; rattler's simpleSolve only
// fetches channels over HTTP) and reads one request per line on stdin:
//   {"channels": ["chan-a", "chan-b"], "specs": ["numpy >=1.20", ...], "platform": "linux-64"}
// where each channel is a directory below ROOT holding <platform>/repodata.json and
// noarch/repodata.json. For each request it prints one line:
//   {"ok": true, "ms": 812, "packages": [{"name", "version", "build", "build_number", "subdir",
//    "channel", "fn"}...]}   (sorted by name)
//   {"ok": false, "ms": 40, "error": "Cannot solve the request because of: ..."}
// Requests are solved one after the other; the process exits when stdin ends.
import http from "node:http";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import readline from "node:readline";
import { simpleSolve } from "@conda-org/rattler";

const root = path.resolve(process.argv[2] ?? ".");

const server = http.createServer(async (req, res) => {
  const rel = decodeURIComponent(new URL(req.url, "http://localhost").pathname);
  const file = path.join(root, rel);
  try {
    if (!file.startsWith(root + path.sep)) throw new Error("outside root");
    const st = await stat(file);
    if (!st.isFile()) throw new Error("not a file");
    res.writeHead(200, { "Content-Length": st.size, "Content-Type": "application/json" });
    createReadStream(file).pipe(res);
  } catch {
    res.writeHead(404);
    res.end();
  }
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const base = `http://127.0.0.1:${server.address().port}`;

function channelUrl(dir) {
  return base + "/" + dir.split(path.sep).filter((p) => p).map(encodeURIComponent).join("/");
}

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (line.trim() === "") continue;
  const start = process.hrtime.bigint();
  const ms = () => Number((process.hrtime.bigint() - start) / 1000000n);
  let answer;
  try {
    const request = JSON.parse(line);
    const urls = request.channels.map(channelUrl);
    const platform = request.platform ?? "linux-64";
    const solved = await simpleSolve(request.specs, urls, [platform, "noarch"], []);
    const packages = solved.map((p) => {
      const channel = urls.findIndex((u) => p.url.startsWith(u + "/"));
      const out = {
        name: p.packageName,
        version: p.version,
        build: p.build,
        build_number: p.buildNumber === undefined ? 0 : Number(p.buildNumber),
        subdir: p.subdir ?? "",
        channel: channel >= 0 ? request.channels[channel] : p.repoName ?? "",
        fn: p.filename,
      };
      p.free();
      return out;
    });
    packages.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    answer = { ok: true, ms: ms(), packages };
  } catch (e) {
    answer = { ok: false, ms: ms(), error: String(e?.message ?? e) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
server.close();

// Running one child process and keeping what it printed.
import { spawn } from "node:child_process";

/**
 * Runs `command args` (spawn options such as cwd and env pass through), with
 * no stdin and its output piped. Never rejects: resolves with `status` (null
 * when it could not start), `signal`, `stdout`, `stderr`, `output` (both, in
 * the order they came) and the wall time in `seconds` (0 when it could not start).
 */
export function collect(command, args, options = {}) {
  return new Promise((done) => {
    const started = performance.now();
    const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk) => {
      stdout += chunk;
      output += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk) => {
      stderr += chunk;
      output += chunk;
    });
    child.on("error", (error) => done({ status: null, signal: null, stdout, stderr: stderr + String(error), output: output + String(error), seconds: 0 }));
    child.on("close", (status, signal) => done({ status, signal, stdout, stderr, output, seconds: (performance.now() - started) / 1000 }));
  });
}
